// PostgreSQL text from Debezium JSON values, per field type (the decoding side; placeholders
// of unchanged TOAST values become Value::Unchanged()).
#include <rapidjson/stringbuffer.h>

#include <charconv>
#include <cstring>

#include "debezium_type_builders.h"
#include "debezium_types.h"
#include "pg_text.h"

namespace stagesync::debezium {

using namespace pgtext;  // NOLINT: the text helpers are this file's vocabulary
using Kind = FieldType::Kind;

namespace {

std::string JsonText(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsDouble()) {
    // Shortest text that reads back as the same double.
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.GetDouble());
    return ec == std::errc() ? std::string(buf, end) : std::string();
  }
  return {};
}

bool JsonInt(const rapidjson::Value& v, int64_t* out) {
  if (v.IsInt64()) return *out = v.GetInt64(), true;
  if (v.IsString()) return ParseInt(std::string_view(v.GetString(), v.GetStringLength()), out);
  return false;
}

bool IsPlaceholder(const rapidjson::Value& v) {
  static const std::string b64 = Base64Encode(kUnavailablePlaceholder);
  if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    return s == kUnavailablePlaceholder || s == b64;
  }
  if (v.IsArray() && v.Size() == 1) return IsPlaceholder(v[0]);
  if (v.IsArray() && v.Size() == std::strlen(kUnavailablePlaceholder)) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      int64_t n;
      if (!JsonInt(v[i], &n) || n != kUnavailablePlaceholder[i]) return false;
    }
    return true;
  }
  return false;
}

}  // namespace
Status ReadValue(const rapidjson::Value& j, const FieldType& t, Value* out) {
  if (j.IsNull()) {
    *out = Value::Null();
    return Status::Ok();
  }
  if (IsPlaceholder(j) && t.kind != Kind::kInt64) {
    *out = Value::Unchanged();
    return Status::Ok();
  }
  auto bad = [&](const char* what) {
    return Status::Error(std::string("JSON value ") + JsonText(j).substr(0, 64) +
                         " is not a valid " + what);
  };
  int64_t n = 0;
  switch (t.kind) {
    case Kind::kBoolean:
      if (!j.IsBool()) return bad("boolean");
      *out = Value::Text(j.GetBool() ? "t" : "f");
      return Status::Ok();
    case Kind::kInt16:
    case Kind::kInt32:
    case Kind::kInt64:
      if (!JsonInt(j, &n) && !(j.IsUint64())) return bad("integer");
      *out = Value::Text(JsonText(j));
      return Status::Ok();
    case Kind::kFloat:
    case Kind::kDouble:
    case Kind::kDecimalDouble:
    case Kind::kDecimalString:
      if (!j.IsNumber() && !j.IsString()) return bad("number");
      *out = Value::Text(JsonText(j));
      if (out->text == "NAN") out->text = "NaN";
      return Status::Ok();
    case Kind::kDecimal:
    case Kind::kVariableDecimal: {
      std::string bytes;
      int scale = t.scale;
      const rapidjson::Value* payload = &j;
      if (j.IsObject()) {  // VariableScaleDecimal {scale, value}
        auto sc = j.FindMember("scale");
        auto val = j.FindMember("value");
        if (sc == j.MemberEnd() || val == j.MemberEnd() || !JsonInt(sc->value, &n))
          return bad("decimal struct");
        scale = static_cast<int>(n);
        payload = &val->value;
      }
      if (payload->IsNumber()) {  // JsonConverter decimal.format=NUMERIC
        *out = Value::Text(JsonText(*payload));
        return Status::Ok();
      }
      if (!payload->IsString()) return bad("decimal");
      std::string_view s(payload->GetString(), payload->GetStringLength());
      if (s == "NaN" || s == "Infinity" || s == "-Infinity") {
        *out = Value::Text(std::string(s));
        return Status::Ok();
      }
      if (!Base64Decode(s, &bytes) || bytes.empty()) return bad("base64 decimal");
      *out = Value::Text(UnscaledBytesToDecimal(bytes, scale));
      return Status::Ok();
    }
    case Kind::kBytes: {
      std::string bytes;
      if (!j.IsString() ||
          !Base64Decode(std::string_view(j.GetString(), j.GetStringLength()), &bytes)) {
        return bad("base64 bytes value");
      }
      *out = Value::Text(BytesToHex(bytes));
      return Status::Ok();
    }
    case Kind::kDate:
      if (!JsonInt(j, &n)) return bad("date (days since 1970-01-01)");
      *out = Value::Text(n == INT32_MAX   ? "infinity"
                         : n == INT32_MIN ? "-infinity"
                                          : CivilFromDays(n));
      return Status::Ok();
    case Kind::kTime:
    case Kind::kMicroTime:
    case Kind::kNanoTime:
      if (!JsonInt(j, &n)) return bad("time");
      *out = Value::Text(FormatClock(t.kind == Kind::kTime       ? n * 1000
                                     : t.kind == Kind::kNanoTime ? n / 1000
                                                                 : n,
                                     true));
      return Status::Ok();
    case Kind::kTimestamp:
    case Kind::kMicroTimestamp:
    case Kind::kNanoTimestamp:
      if (!JsonInt(j, &n)) return bad("timestamp");
      if (n != kPositiveInfinityMicros && n != kNegativeInfinityMicros) {
        n = t.kind == Kind::kTimestamp ? n * 1000 : t.kind == Kind::kNanoTimestamp ? n / 1000 : n;
      }
      *out = Value::Text(FormatTimestamp(n, false));
      return Status::Ok();
    case Kind::kMicroDuration:
      if (!JsonInt(j, &n)) return bad("duration in microseconds");
      *out = Value::Text(std::to_string(n) + " microseconds");
      return Status::Ok();
    case Kind::kBits: {
      std::string bytes;
      if (!j.IsString() ||
          !Base64Decode(std::string_view(j.GetString(), j.GetStringLength()), &bytes)) {
        return bad("bits value");
      }
      size_t len =
          t.length > 0 && t.length < 1 << 20 ? static_cast<size_t>(t.length) : bytes.size() * 8;
      std::string bits(len, '0');
      for (size_t i = 0; i < len && i / 8 < bytes.size(); ++i) {
        if (static_cast<uint8_t>(bytes[i / 8]) & (1 << (i % 8))) bits[len - 1 - i] = '1';
      }
      *out = Value::Text(bits);
      return Status::Ok();
    }
    case Kind::kPoint: {
      if (!j.IsObject() || !j.HasMember("x") || !j.HasMember("y")) return bad("point struct");
      *out = Value::Text("(" + JsonText(j["x"]) + "," + JsonText(j["y"]) + ")");
      return Status::Ok();
    }
    case Kind::kArray: {
      if (!j.IsArray()) return bad("array");
      std::string lit = "{";
      for (rapidjson::SizeType i = 0; i < j.Size(); ++i) {
        Value item;
        if (Status s = ReadValue(j[i], *t.element, &item); !s.ok()) return s;
        if (i) lit += ',';
        lit += item.is_null() ? "NULL" : QuoteArrayElement(item.text);
      }
      *out = Value::Text(lit + "}");
      return Status::Ok();
    }
    case Kind::kZonedTimestamp:
    case Kind::kZonedTime:
    case Kind::kInterval:
    case Kind::kString:
    case Kind::kJson:
    case Kind::kUuid:
    case Kind::kXml:
    case Kind::kEnum:
      if (!j.IsString()) {
        if (j.IsNumber() || j.IsBool()) {
          *out = Value::Text(JsonText(j));
          return Status::Ok();
        }
        if (j.IsObject() && j.HasMember("scale") && j.HasMember("value") &&
            t.kind == Kind::kString) {
          return ReadValue(j, Simple(Kind::kVariableDecimal), out);  // schemaless decimal
        }
        // A nested document (schemaless json column): its JSON text.
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        j.Accept(w);
        *out = Value::Text(std::string(buf.GetString(), buf.GetSize()));
        return Status::Ok();
      }
      *out = Value::Text(std::string(j.GetString(), j.GetStringLength()));
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace stagesync::debezium
