// The one JSON writer behind every JSON stagesync prints, serves or compares (`status --json`,
// /status, /history, the cutover's report, `verify --json`, verify's canonical JSON values):
// RapidJSON's Writer, so escaping, commas and the spelling of doubles are decided in one place.
#pragma once

#include <rapidjson/fwd.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stagesync::json {

// Builds one JSON text, in the order of the calls; each call returns the writer, so that a
// member reads `w.Key("lag").Fixed(lag, 3)`. The calls must make valid JSON (a Key before each
// member's value, every Start matched by its End). Not thread-safe; not copyable.
class Writer {
 public:
  Writer() : out_(buffer_) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Writer& StartObject();
  Writer& EndObject();
  Writer& StartArray();
  Writer& EndArray();
  Writer& Key(std::string_view name);

  // Strings are copied byte for byte, with `"`, `\` and the control characters escaped.
  Writer& String(std::string_view s);
  Writer& Null();
  Writer& Bool(bool v);
  Writer& Int(int64_t v);
  Writer& Uint(uint64_t v);
  // The shortest spelling that reads back as the same double, always with a fraction or an
  // exponent: 0.25, 0.0, 1e-7.
  Writer& Double(double v);
  // printf's spellings: Fixed(v, 3) is "%.3f" (the status' seconds), Significant(v, 9) is
  // "%.9g" (Prometheus-style numbers).
  Writer& Fixed(double v, int decimals);
  Writer& Significant(double v, int digits);
  // Text that is JSON already (a report kept on the target), written as it is.
  Writer& Raw(std::string_view json);
  // A parsed value, as RapidJSON writes it (objects in their members' order).
  Writer& Value(const rapidjson::Value& v);

  // Where a field may be absent, the writer writes null rather than leave the member out.
  Writer& StringOrNull(std::string_view s);  // "" is null
  Writer& IntOrNull(const std::optional<int64_t>& v);
  Writer& DoubleOrNull(const std::optional<double>& v);
  Writer& FixedOrNull(const std::optional<double>& v, int decimals);

  // The text written so far.
  std::string str() const;

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> out_;
};

}  // namespace stagesync::json
