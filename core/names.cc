// The one rule names pair up by (exact, then ASCII case only), source.tables globs, and
// the names of the config's modes.
#include <algorithm>

#include "stagesync/config.h"

namespace stagesync {

namespace {
// Not std::tolower: under a Latin-1 locale it would fold the bytes of UTF-8 letters too.
char AsciiLowerChar(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

std::string AsciiLower(std::string s) {
  for (auto& c : s) c = AsciiLowerChar(c);
  return s;
}

bool SourceConfig::Selects(const std::string& qualified) const {
  auto matches = [&](const std::string& g) { return GlobMatch(g, qualified); };
  return std::any_of(tables.begin(), tables.end(), matches) &&
         std::none_of(exclude.begin(), exclude.end(), matches);
}

bool AsciiEqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLowerChar(a[i]) != AsciiLowerChar(b[i])) return false;
  }
  return true;
}

int FindQualifiedName(const std::vector<std::pair<std::string, std::string>>& candidates,
                      std::string_view schema, std::string_view table) {
  int best = -1, best_rank = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& [s, t] = candidates[i];
    if (!AsciiEqualFold(s, schema) || !AsciiEqualFold(t, table)) continue;
    int rank = s == schema ? (t == table ? 3 : 2) : 1;
    if (rank > best_rank) best = static_cast<int>(i), best_rank = rank;
  }
  return best;
}

bool GlobMatch(const std::string& pattern, const std::string& name) {
  // Iterative wildcard match with backtracking on the last '*'.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  auto eq = [](char a, char b) { return AsciiLowerChar(a) == AsciiLowerChar(b); };
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || eq(pattern[p], name[n]))) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const char* Name(Engine engine) {
  return engine == Engine::kMysql ? "mysql" : "postgres";
}
const char* Name(Transport transport) {
  return transport == Transport::kKafka ? "kafka" : "direct";
}
const char* Name(FenceMode fence) {
  switch (fence) {
    case FenceMode::kCommand:
      return "command";
    case FenceMode::kNone:
      return "none";
    case FenceMode::kReadOnly:
      break;
  }
  return "read-only";
}
const char* Name(VerifyMode verify) {
  switch (verify) {
    case VerifyMode::kChecksum:
      return "checksum";
    case VerifyMode::kNone:
      return "none";
    case VerifyMode::kCount:
      break;
  }
  return "count";
}
const char* Name(OnError on_error) {
  return on_error == OnError::kDeadLetter ? "dead-letter" : "stop";
}

}  // namespace stagesync
