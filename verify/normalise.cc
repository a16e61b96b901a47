// Normalising values across engines: numbers without trailing zeros, floats at their
// type's shortest exact spelling, JSON with its members sorted, times without trailing zeros.
#include "normalise.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "stagesync/config.h"
#include "stagesync/json.h"

namespace stagesync::verify {
namespace {

// Every object's members sorted by name: PostgreSQL's jsonb and MySQL's JSON keep them in
// orders of their own.
void WriteCanonical(const rapidjson::Value& v, json::Writer& w) {
  if (v.IsObject()) {
    std::vector<std::pair<std::string, const rapidjson::Value*>> members;
    for (const auto& m : v.GetObject()) members.emplace_back(m.name.GetString(), &m.value);
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    w.StartObject();
    for (const auto& [name, value] : members) {
      w.Key(name);
      WriteCanonical(*value, w);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& item : v.GetArray()) WriteCanonical(item, w);
    w.EndArray();
  } else {
    w.Value(v);
  }
}

}  // namespace

Kind KindOf(std::string type) {
  type = AsciiLower(type);
  auto is = [&](std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return type == n; });
  };
  if (is({"smallint", "integer", "bigint", "tinyint", "mediumint", "int", "year"})) {
    return Kind::kInteger;
  }
  if (is({"numeric", "decimal"})) return Kind::kDecimal;
  if (is({"real", "float"})) return Kind::kFloat4;
  if (is({"double precision", "double"})) return Kind::kFloat8;
  if (is({"json", "jsonb"})) return Kind::kJson;
  if (type.rfind("time", 0) == 0 && type.find("stamp") == std::string::npos) return Kind::kTime;
  return Kind::kText;
}

std::string Normalise(Kind kind, const std::string& v) {
  switch (kind) {
    case Kind::kDecimal:
    case Kind::kInteger: {
      std::string s = v;
      if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
      }
      return s == "-0" ? "0" : s;
    }
    case Kind::kFloat4:
    case Kind::kFloat8: {
      char buf[64];
      auto r = kind == Kind::kFloat4
                   ? std::to_chars(buf, buf + sizeof buf, std::strtof(v.c_str(), nullptr))
                   : std::to_chars(buf, buf + sizeof buf, std::strtod(v.c_str(), nullptr));
      return std::string(buf, r.ptr);
    }
    case Kind::kJson: {
      rapidjson::Document d;
      d.Parse(v.c_str(), v.size());
      if (d.HasParseError()) return v;
      json::Writer w;
      WriteCanonical(d, w);
      return w.str();
    }
    case Kind::kTime: {
      std::string s = v;
      if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
      }
      return s;
    }
    case Kind::kText:
      return v;
  }
  return v;
}

int CompareKeys(const Row& a, const Row& b, const std::vector<Kind>& kinds) {
  for (size_t i = 0; i < kinds.size(); ++i) {
    const std::string& x = a[i].value_or("");
    const std::string& y = b[i].value_or("");
    int c = 0;
    if (kinds[i] == Kind::kText) {
      c = x.compare(y);
    } else {
      long double dx = std::strtold(x.c_str(), nullptr), dy = std::strtold(y.c_str(), nullptr);
      c = dx < dy ? -1 : dx > dy ? 1 : 0;
    }
    if (c) return c < 0 ? -1 : 1;
  }
  return 0;
}

}  // namespace stagesync::verify
