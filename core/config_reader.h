// Reads TOML values into the config, collecting every problem (key, what is wrong, how to
// fix it) in one pass so the user fixes the file once. Internal to core/: toml++ stays here.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "stagesync/config.h"

namespace stagesync {

// Parses a TOML file's text; a syntax error is a usage error naming origin:line:column.
inline Status ParseToml(const std::string& text, const std::string& origin, toml::table* out) {
  try {
    *out = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column
        << ": not valid TOML: " << e.description();
    return Status::Usage(msg.str());
  }
  return Status::Ok();
}

// Collects every problem in one pass so the user fixes the file once.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  void Problem(const std::string& key, const std::string& what) {
    problems_.push_back(origin_ + ": " + key + ": " + what);
  }
  bool HasProblems() const { return !problems_.empty(); }
  std::string Joined() const {
    std::string out = "invalid configuration:";
    for (const auto& p : problems_) out += "\n  - " + p;
    return out;
  }

  void CheckKeys(const toml::table& table, const std::string& prefix,
                 const std::set<std::string>& allowed) {
    for (const auto& [key, node] : table) {
      std::string k(key.str());
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        Problem(prefix + k, "unknown key; expected one of: " + list);
      }
    }
  }

  void String(const toml::table& t, const std::string& prefix, const char* key, std::string* out) {
    const toml::node* node = t.get(key);
    if (!node) return;
    if (auto v = node->value<std::string>(); v && node->is_string()) {
      *out = *v;
    } else {
      Problem(prefix + key, std::string("must be a string, e.g. ") + key + " = \"...\"");
    }
  }

  void Bool(const toml::table& t, const std::string& prefix, const char* key, bool* out) {
    const toml::node* node = t.get(key);
    if (!node) return;
    if (node->is_boolean()) {
      *out = *node->value<bool>();
    } else {
      Problem(prefix + key, "must be true or false");
    }
  }

  void StringList(const toml::table& t, const std::string& prefix, const char* key,
                  std::vector<std::string>* out) {
    const toml::node* node = t.get(key);
    if (!node) return;
    const toml::array* arr = node->as_array();
    if (!arr) {
      Problem(prefix + key, std::string("must be a list of strings, e.g. ") + key + " = [\"a\"]");
      return;
    }
    out->clear();
    for (const auto& item : *arr) {
      if (!item.is_string()) {
        Problem(prefix + key, "every entry must be a string");
        return;
      }
      out->push_back(*item.value<std::string>());
    }
  }

  void DurationKey(const toml::table& t, const std::string& prefix, const char* key, Duration* out,
                   Duration minimum = Duration(0)) {
    std::string text;
    const toml::node* node = t.get(key);
    if (!node) return;
    if (!node->is_string()) {
      Problem(prefix + key, "must be a duration string such as \"500ms\", \"2s\" or \"5m\"");
      return;
    }
    text = *node->value<std::string>();
    std::string problem;
    auto d = ParseDuration(text, &problem);
    if (!d) {
      Problem(prefix + key, problem);
    } else if (*d < minimum) {
      Problem(prefix + key, "must be at least " + FormatDuration(minimum));
    } else {
      *out = *d;
    }
  }

  void Integer(const toml::table& t, const std::string& prefix, const char* key, int64_t lo,
               int64_t hi, int64_t* out) {
    const toml::node* node = t.get(key);
    if (!node) return;
    if (!node->is_integer()) {
      Problem(prefix + key, "must be an integer");
      return;
    }
    int64_t v = *node->value<int64_t>();
    if (v < lo || v > hi) {
      Problem(prefix + key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      return;
    }
    *out = v;
  }

  // A key whose string names one of `names` (listed in the problem, in that order).
  template <typename E>
  void Choice(const toml::table& t, const std::string& prefix, const char* key,
              const std::vector<std::pair<const char*, E>>& names, E* out) {
    std::string text;
    String(t, prefix, key, &text);
    if (!t.get(key) || !t.get(key)->is_string()) return;
    std::string list;
    for (const auto& [name, value] : names) {
      if (text == name) {
        *out = value;
        return;
      }
      list += (list.empty() ? "" : " | ") + std::string(name);
    }
    Problem(prefix + key, "\"" + text + "\" is not valid; use " + list);
  }

  void OneOf(const std::string& key, const std::string& value,
             const std::set<std::string>& allowed) {
    if (allowed.count(value)) return;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
    Problem(key, "\"" + value + "\" is not valid; use " + list);
  }

  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::vector<std::string> problems_;
};

}  // namespace stagesync
