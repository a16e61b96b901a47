// Reading `stagesync status --json` output and PostgreSQL LSNs in tests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace stagesync::testing {

// One top-level member of a JSON object. Nested objects and arrays are kept as raw text.
struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kObject, kArray };
  Kind kind = Kind::kNull;
  std::string text;  // string contents (unescaped), number/bool literal, or raw nested JSON
  bool is_null() const { return kind == Kind::kNull; }
  double number() const { return std::stod(text); }
};

// Parses a single JSON object and returns its top-level members; nullopt if `json` is not
// one well-formed object (surrounding whitespace allowed).
std::optional<std::map<std::string, JsonValue>> ParseJsonObject(const std::string& json);

// "16/B374D848" -> 0x16B374D848; nullopt if malformed.
std::optional<uint64_t> ParseLsn(const std::string& text);

}  // namespace stagesync::testing
