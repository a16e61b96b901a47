// json::Writer: RapidJSON's Writer with the printf number spellings the outputs fix.
#include "stagesync/json.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>

namespace stagesync::json {
namespace {

rapidjson::SizeType Size(std::string_view s) {
  return static_cast<rapidjson::SizeType>(s.size());
}

// A number already spelled, into the writer as a number.
std::string Printf(const char* format, int precision, double v) {
  char buf[400];  // "%.3f" of the largest double is 313 characters
  int n = std::snprintf(buf, sizeof buf, format, precision, v);
  return std::string(buf, static_cast<size_t>(n < 0 ? 0 : std::min<int>(n, sizeof buf - 1)));
}

}  // namespace

Writer& Writer::StartObject() {
  out_.StartObject();
  return *this;
}
Writer& Writer::EndObject() {
  out_.EndObject();
  return *this;
}
Writer& Writer::StartArray() {
  out_.StartArray();
  return *this;
}
Writer& Writer::EndArray() {
  out_.EndArray();
  return *this;
}
Writer& Writer::Key(std::string_view name) {
  out_.Key(name.data(), Size(name));
  return *this;
}
Writer& Writer::String(std::string_view s) {
  out_.String(s.data(), Size(s));
  return *this;
}
Writer& Writer::Null() {
  out_.Null();
  return *this;
}
Writer& Writer::Bool(bool v) {
  out_.Bool(v);
  return *this;
}
Writer& Writer::Int(int64_t v) {
  out_.Int64(v);
  return *this;
}
Writer& Writer::Uint(uint64_t v) {
  out_.Uint64(v);
  return *this;
}
Writer& Writer::Double(double v) {
  out_.Double(v);
  return *this;
}
Writer& Writer::Fixed(double v, int decimals) {
  std::string text = Printf("%.*f", decimals, v);
  out_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  return *this;
}
Writer& Writer::Significant(double v, int digits) {
  std::string text = Printf("%.*g", digits, v);
  out_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  return *this;
}
Writer& Writer::Raw(std::string_view json) {
  out_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}
Writer& Writer::Value(const rapidjson::Value& v) {
  v.Accept(out_);
  return *this;
}

Writer& Writer::StringOrNull(std::string_view s) {
  return s.empty() ? Null() : String(s);
}
Writer& Writer::IntOrNull(const std::optional<int64_t>& v) {
  return v ? Int(*v) : Null();
}
Writer& Writer::DoubleOrNull(const std::optional<double>& v) {
  return v ? Double(*v) : Null();
}
Writer& Writer::FixedOrNull(const std::optional<double>& v, int decimals) {
  return v ? Fixed(*v, decimals) : Null();
}

std::string Writer::str() const {
  return std::string(buffer_.GetString(), buffer_.GetSize());
}

}  // namespace stagesync::json
