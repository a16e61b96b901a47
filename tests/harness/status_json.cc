// A small strict JSON reader: enough to check the status object's fields.
#include "status_json.h"

#include <cctype>
#include <cstdlib>

namespace stagesync::testing {
namespace {

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}

  bool AtEnd() {
    SkipSpace();
    return pos_ == s_.size();
  }

  // Reads any value; fills `out`. Returns false on malformed input.
  bool Value(JsonValue* out) {
    SkipSpace();
    if (pos_ >= s_.size()) return false;
    size_t start = pos_;
    char c = s_[pos_];
    if (c == '"') {
      out->kind = JsonValue::Kind::kString;
      return String(&out->text);
    }
    if (c == '{' || c == '[') {
      out->kind = c == '{' ? JsonValue::Kind::kObject : JsonValue::Kind::kArray;
      if (!Container()) return false;
      out->text = s_.substr(start, pos_ - start);
      return true;
    }
    for (const char* lit : {"null", "true", "false"}) {
      if (s_.compare(pos_, std::string(lit).size(), lit) == 0) {
        pos_ += std::string(lit).size();
        out->kind = lit[0] == 'n' ? JsonValue::Kind::kNull : JsonValue::Kind::kBool;
        out->text = lit;
        return true;
      }
    }
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    std::strtod(begin, &end);
    if (end == begin) return false;
    pos_ += end - begin;
    out->kind = JsonValue::Kind::kNumber;
    out->text = s_.substr(start, pos_ - start);
    return true;
  }

  bool Object(std::map<std::string, JsonValue>* members) {
    SkipSpace();
    if (!Eat('{')) return false;
    SkipSpace();
    if (Eat('}')) return true;
    for (;;) {
      SkipSpace();
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (!Eat(':')) return false;
      JsonValue v;
      if (!Value(&v)) return false;
      (*members)[key] = v;
      SkipSpace();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case 'n':
          *out += '\n';
          break;
        case 't':
          *out += '\t';
          break;
        case 'r':
          *out += '\r';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'u':
          if (pos_ + 4 > s_.size()) return false;
          *out += "\\u" + s_.substr(pos_, 4);  // kept escaped: tests never need these
          pos_ += 4;
          break;
        default:
          *out += e;
      }
    }
    return false;
  }
  bool Container() {
    char open = s_[pos_];
    if (open == '{') {
      std::map<std::string, JsonValue> ignored;
      return Object(&ignored);
    }
    ++pos_;
    SkipSpace();
    if (Eat(']')) return true;
    for (;;) {
      JsonValue v;
      if (!Value(&v)) return false;
      SkipSpace();
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::map<std::string, JsonValue>> ParseJsonObject(const std::string& json) {
  Reader r(json);
  std::map<std::string, JsonValue> members;
  if (!r.Object(&members) || !r.AtEnd()) return std::nullopt;
  return members;
}

std::optional<uint64_t> ParseLsn(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size()) return std::nullopt;
  char* end = nullptr;
  uint64_t hi = std::strtoull(text.c_str(), &end, 16);
  if (end != text.c_str() + slash) return std::nullopt;
  uint64_t lo = std::strtoull(text.c_str() + slash + 1, &end, 16);
  if (*end != '\0' || hi > 0xffffffffULL || lo > 0xffffffffULL) return std::nullopt;
  return (hi << 32) | lo;
}

}  // namespace stagesync::testing
