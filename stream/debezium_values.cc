// Debezium JSON values from PostgreSQL text, per field type (the encoding side; the decoding
// side is debezium_values_decode.cc).
#include <rapidjson/stringbuffer.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "debezium_types.h"
#include "pg_text.h"

namespace stagesync::debezium {

using namespace pgtext;  // NOLINT: the text helpers are this file's vocabulary
using Kind = FieldType::Kind;
constexpr double kDaysPerMonth = 365.25 / 12.0;

namespace {

bool IsJsonNumber(const std::string& t) {
  if (t.empty()) return false;
  size_t i = t[0] == '-' ? 1 : 0;
  if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
  for (; i < t.size(); ++i) {
    char c = t[i];
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
          c == '+' || c == '-')) {
      return false;
    }
  }
  return true;
}

void WriteNumberOrString(JsonWriter& w, const std::string& t) {
  if (IsJsonNumber(t)) {
    w.RawValue(t.data(), t.size(), rapidjson::kNumberType);
  } else {
    w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
  }
}

std::string MoneyDigits(const std::string& t) {
  std::string out;
  for (char c : t) {
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-') out += c;
  }
  return out;
}

Status Bad(const std::string& text, const char* what) {
  return Status::Error("value \"" + text.substr(0, 64) + "\" is not a valid " + what);
}

std::string WkbPoint(double x, double y) {
  std::string wkb(21, '\0');
  wkb[0] = 1;  // little endian
  uint32_t type = 1;
  std::memcpy(&wkb[1], &type, 4);
  std::memcpy(&wkb[5], &x, 8);
  std::memcpy(&wkb[13], &y, 8);
  return wkb;
}

}  // namespace

Status WriteValue(JsonWriter& w, const FieldType& t, const Value& value) {
  if (value.is_null()) {
    w.Null();
    return Status::Ok();
  }
  if (value.is_unchanged()) {
    // Debezium's placeholder in the column's representation.
    if (t.kind == Kind::kBytes || t.kind == Kind::kDecimal || t.kind == Kind::kBits) {
      w.String(Base64Encode(kUnavailablePlaceholder).c_str());
    } else if (t.kind == Kind::kArray) {
      w.StartArray();
      w.String(kUnavailablePlaceholder);
      w.EndArray();
    } else {
      w.String(kUnavailablePlaceholder);
    }
    return Status::Ok();
  }
  const std::string& v = value.text;
  switch (t.kind) {
    case Kind::kBoolean:
      w.Bool(v == "t" || v == "true" || v == "1");
      return Status::Ok();
    case Kind::kInt16:
    case Kind::kInt32:
    case Kind::kInt64:
      if (!IsJsonNumber(v)) return Bad(v, "integer");
      w.RawValue(v.data(), v.size(), rapidjson::kNumberType);
      return Status::Ok();
    case Kind::kFloat:
    case Kind::kDouble:
    case Kind::kDecimalDouble:
      // PostgreSQL prints negative zero "-0", which JSON readers (RapidJSON, Jackson) take
      // for the integer 0: written as Jackson writes the double, "-0.0", it keeps its sign.
      WriteNumberOrString(w, v == "-0" ? std::string("-0.0") : v);  // NaN, ±Infinity: strings
      return Status::Ok();
    case Kind::kDecimalString:
      w.String(v.c_str());
      return Status::Ok();
    case Kind::kDecimal:
    case Kind::kVariableDecimal: {
      std::string text = t.precision == 19 && t.scale == 2 ? MoneyDigits(v) : v;
      if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
        w.String(text.c_str());  // not representable as Decimal: kept visible, never dropped
        return Status::Ok();
      }
      int scale = t.scale;
      if (t.kind == Kind::kVariableDecimal) {
        auto dot = text.find('.');
        scale = dot == std::string::npos ? 0 : static_cast<int>(text.size() - dot - 1);
      }
      std::string bytes;
      if (!DecimalToUnscaledBytes(text, scale, &bytes)) return Bad(v, "decimal");
      if (t.kind == Kind::kDecimal) {
        w.String(Base64Encode(bytes).c_str());
      } else {
        w.StartObject();
        w.Key("scale");
        w.Int(scale);
        w.Key("value");
        w.String(Base64Encode(bytes).c_str());
        w.EndObject();
      }
      return Status::Ok();
    }
    case Kind::kBytes: {
      std::string bytes;
      if (!HexToBytes(v, &bytes)) return Bad(v, "bytea (hex) value");
      w.String(Base64Encode(bytes).c_str());
      return Status::Ok();
    }
    case Kind::kDate: {
      size_t p = 0;
      int64_t days;
      if (v == "infinity" || v == "-infinity") {
        w.Int64(v[0] == '-' ? INT32_MIN : INT32_MAX);
        return Status::Ok();
      }
      if (!ParseDate(v, &p, &days)) return Bad(v, "date");
      w.Int64(days);
      return Status::Ok();
    }
    case Kind::kTime:
    case Kind::kMicroTime:
    case Kind::kNanoTime: {
      size_t p = 0;
      int64_t micros;
      if (!ParseClock(v, &p, &micros)) return Bad(v, "time");
      w.Int64(t.kind == Kind::kTime       ? micros / 1000
              : t.kind == Kind::kNanoTime ? micros * 1000
                                          : micros);
      return Status::Ok();
    }
    case Kind::kTimestamp:
    case Kind::kMicroTimestamp:
    case Kind::kNanoTimestamp: {
      int64_t micros;
      if (!ParseTimestampMicros(v, &micros)) return Bad(v, "timestamp");
      bool inf = micros == kPositiveInfinityMicros || micros == kNegativeInfinityMicros;
      w.Int64(inf                              ? micros
              : t.kind == Kind::kTimestamp     ? micros / 1000
              : t.kind == Kind::kNanoTimestamp ? micros * 1000
                                               : micros);
      return Status::Ok();
    }
    case Kind::kZonedTimestamp: {
      int64_t micros;
      if (v == "infinity" || v == "-infinity") {
        w.String(v.c_str());
        return Status::Ok();
      }
      if (!ParseTimestampMicros(v, &micros)) return Bad(v, "timestamptz");
      w.String(FormatTimestamp(micros, true).c_str());
      return Status::Ok();
    }
    case Kind::kZonedTime: {
      size_t p = 0;
      int64_t micros;
      if (!ParseClock(v, &p, &micros)) return Bad(v, "timetz");
      int64_t offset = 0;
      if (p < v.size() && (v[p] == '+' || v[p] == '-')) {
        int sign = v[p] == '-' ? -1 : 1;
        int64_t oh = 0, om = 0, os = 0;
        ParseInt(std::string_view(v).substr(p + 1, 2), &oh);
        if (p + 3 < v.size() && v[p + 3] == ':')
          ParseInt(std::string_view(v).substr(p + 4, 2), &om);
        if (p + 6 < v.size() && v[p + 6] == ':')
          ParseInt(std::string_view(v).substr(p + 7, 2), &os);
        offset = sign * ((oh * 60 + om) * 60 + os) * 1000000;
      }
      int64_t utc = ((micros - offset) % kMicrosPerDay + kMicrosPerDay) % kMicrosPerDay;
      w.String((FormatClock(utc, true) + "Z").c_str());
      return Status::Ok();
    }
    case Kind::kMicroDuration:
    case Kind::kInterval: {
      int64_t months, days, micros;
      if (!ParseInterval(v, &months, &days, &micros)) return Bad(v, "interval");
      if (t.kind == Kind::kInterval) {
        w.String(IsoInterval(months, days, micros).c_str());
      } else {
        double total = static_cast<double>(micros) +
                       (static_cast<double>(days) + static_cast<double>(months) * kDaysPerMonth) *
                           kMicrosPerDay;
        w.Int64(static_cast<int64_t>(std::llround(total)));
      }
      return Status::Ok();
    }
    case Kind::kBits: {
      // Debezium: the bit string as an unsigned number, bytes least significant first.
      std::string bytes((v.size() + 7) / 8, '\0');
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[v.size() - 1 - i] == '1')
          bytes[i / 8] = static_cast<char>(bytes[i / 8] | (1 << (i % 8)));
        else if (v[v.size() - 1 - i] != '0')
          return Bad(v, "bit string");
      }
      w.String(Base64Encode(bytes).c_str());
      return Status::Ok();
    }
    case Kind::kPoint: {
      double x, y;
      if (std::sscanf(v.c_str(), "(%lf,%lf)", &x, &y) != 2) return Bad(v, "point");
      auto comma = v.find(',');
      w.StartObject();
      w.Key("x");
      w.RawValue(v.c_str() + 1, comma - 1, rapidjson::kNumberType);
      w.Key("y");
      w.RawValue(v.c_str() + comma + 1, v.size() - comma - 2, rapidjson::kNumberType);
      w.Key("wkb");
      w.String(Base64Encode(WkbPoint(x, y)).c_str());
      w.Key("srid");
      w.Null();
      w.EndObject();
      return Status::Ok();
    }
    case Kind::kArray: {
      std::vector<std::optional<std::string>> items;
      if (!ParseArray(v, &items)) return Bad(v, "one-dimensional array");
      w.StartArray();
      for (const auto& item : items) {
        if (Status s = WriteValue(w, *t.element, item ? Value::Text(*item) : Value::Null());
            !s.ok())
          return s;
      }
      w.EndArray();
      return Status::Ok();
    }
    case Kind::kString:
    case Kind::kJson:
    case Kind::kUuid:
    case Kind::kXml:
    case Kind::kEnum:
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace stagesync::debezium
