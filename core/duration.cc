// Durations as the config and the flags write them ("500ms", "2s", "5m").
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "stagesync/config.h"

namespace stagesync {

std::optional<Duration> ParseDuration(const std::string& text, std::string* problem) {
  auto fail = [&](std::string why) -> std::optional<Duration> {
    if (problem) *problem = std::move(why);
    return std::nullopt;
  };
  const std::string not_a_duration =
      "\"" + text + "\" is not a duration; write e.g. \"500ms\", \"2s\", \"5m\"";
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0 || i == text.size()) return fail(not_a_duration);
  double number;
  try {
    size_t used = 0;
    number = std::stod(text.substr(0, i), &used);
    if (used != i) return fail(not_a_duration);
  } catch (const std::out_of_range&) {
    number = HUGE_VAL;  // more digits than a double holds: too long, not malformed
  } catch (...) {
    return fail(not_a_duration);
  }
  std::string unit = text.substr(i);
  double ms;
  if (unit == "ms")
    ms = number;
  else if (unit == "s")
    ms = number * 1000;
  else if (unit == "m")
    ms = number * 60000;
  else if (unit == "h")
    ms = number * 3600000;
  else
    return fail(not_a_duration);
  // Checked in double before the conversion: llround of a value past int64 is undefined, and
  // came back as a negative duration.
  if (!(ms <= static_cast<double>(kMaxDuration.count()))) {
    return fail("\"" + text + "\" is out of range; a duration may be at most " +
                FormatDuration(kMaxDuration) + " (" +
                std::to_string(kMaxDuration.count() / 3600000) + "h)");
  }
  return Duration(static_cast<int64_t>(std::llround(ms)));
}

std::string FormatDuration(Duration d) {
  auto ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  if (ms % 60000 != 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms / 60000) + "m";
}

}  // namespace stagesync
