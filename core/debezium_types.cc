#include "debezium_types.h"

#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace stagesync::debezium {
namespace {

using Kind = FieldType::Kind;
constexpr int64_t kMicrosPerDay = 86400LL * 1000000LL;
constexpr double kDaysPerMonth = 365.25 / 12.0;
// Debezium's encodings of ±infinity timestamps.
constexpr int64_t kPositiveInfinityMicros = 9223372036825200000LL;
constexpr int64_t kNegativeInfinityMicros = -9223372036832400000LL;

FieldType Simple(Kind k) {
  FieldType t;
  t.kind = k;
  return t;
}

FieldType ArrayOf(FieldType element) {
  FieldType t;
  t.kind = Kind::kArray;
  t.element = std::make_shared<FieldType>(std::move(element));
  return t;
}

FieldType DecimalType(int precision, int scale, const TypeOptions& o) {
  FieldType t;
  t.precision = precision;
  t.scale = scale;
  switch (o.decimal) {
    case DecimalMode::kPrecise:
      t.kind = precision > 0 ? Kind::kDecimal : Kind::kVariableDecimal;
      break;
    case DecimalMode::kString:
      t.kind = Kind::kDecimalString;
      break;
    case DecimalMode::kDouble:
      t.kind = Kind::kDecimalDouble;
      break;
  }
  return t;
}

FieldType TimeType(int precision) {
  return Simple(precision >= 0 && precision <= 3 ? Kind::kTime : Kind::kMicroTime);
}
FieldType TimestampType(int precision) {
  return Simple(precision >= 0 && precision <= 3 ? Kind::kTimestamp : Kind::kMicroTimestamp);
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  bool neg = s[0] == '-';
  size_t i = (neg || s[0] == '+') ? 1 : 0;
  if (i >= s.size()) return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = neg ? -v : v;
  return true;
}

// "HH:MM:SS[.ffffff]" -> microseconds; advances *pos past it.
bool ParseClock(std::string_view s, size_t* pos, int64_t* micros) {
  size_t p = *pos;
  auto num = [&](size_t n, int64_t* v) {
    if (p + n > s.size()) return false;
    if (!ParseInt(s.substr(p, n), v)) return false;
    p += n;
    return true;
  };
  int64_t h, m, sec, frac = 0;
  size_t hstart = p;
  while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
  if (p == hstart || p >= s.size() || s[p] != ':') return false;
  if (!ParseInt(s.substr(hstart, p - hstart), &h)) return false;
  ++p;
  if (!num(2, &m) || p >= s.size() || s[p] != ':') return false;
  ++p;
  if (!num(2, &sec)) return false;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
    std::string digits(s.substr(start, p - start));
    digits.resize(6, '0');
    frac = std::stoll(digits.substr(0, 6));
  }
  *micros = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
  *pos = p;
  return true;
}

// "YYYY-MM-DD[ BC]" at *pos -> days since epoch.
bool ParseDate(std::string_view s, size_t* pos, int64_t* days) {
  size_t p = *pos;
  size_t ystart = p;
  while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
  int64_t y, m, d;
  if (p == ystart || p + 6 > s.size() || s[p] != '-') return false;
  if (!ParseInt(s.substr(ystart, p - ystart), &y)) return false;
  if (!ParseInt(s.substr(p + 1, 2), &m) || s[p + 3] != '-' || !ParseInt(s.substr(p + 4, 2), &d))
    return false;
  p += 6;
  if (s.find(" BC") != std::string_view::npos) y = 1 - y;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  *pos = p;
  return true;
}

bool ParseTimestampMicros(std::string_view s, int64_t* micros) {
  if (s == "infinity") return *micros = kPositiveInfinityMicros, true;
  if (s == "-infinity") return *micros = kNegativeInfinityMicros, true;
  size_t p = 0;
  int64_t days, clock;
  if (!ParseDate(s, &p, &days)) return false;
  if (p >= s.size() || (s[p] != ' ' && s[p] != 'T')) return false;
  ++p;
  if (!ParseClock(s, &p, &clock)) return false;
  // Optional zone offset: +HH[:MM[:SS]] (timestamptz text).
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int64_t oh = 0, om = 0, os = 0;
    if (!ParseInt(s.substr(p, 2), &oh)) return false;
    p += 2;
    if (p + 2 < s.size() + 1 && p < s.size() && s[p] == ':') {
      ParseInt(s.substr(p + 1, 2), &om);
      p += 3;
      if (p < s.size() && s[p] == ':') {
        ParseInt(s.substr(p + 1, 2), &os);
        p += 3;
      }
    }
    clock -= sign * ((oh * 60 + om) * 60 + os) * 1000000;
  }
  *micros = days * kMicrosPerDay + clock;
  return true;
}

std::string FormatClock(int64_t micros, bool trim) {
  int64_t secs = micros / 1000000, frac = micros % 1000000;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>((secs / 60) % 60), static_cast<long long>(secs % 60));
  std::string out = buf;
  if (frac) {
    char f[8];
    std::snprintf(f, sizeof f, "%06lld", static_cast<long long>(frac));
    std::string fs = f;
    if (trim) {
      while (!fs.empty() && fs.back() == '0') fs.pop_back();
    }
    out += "." + fs;
  }
  return out;
}

std::string FormatTimestamp(int64_t micros, bool iso_utc) {
  if (micros >= kPositiveInfinityMicros) return "infinity";
  if (micros <= kNegativeInfinityMicros) return "-infinity";
  int64_t days =
      micros >= 0 ? micros / kMicrosPerDay : -((-micros + kMicrosPerDay - 1) / kMicrosPerDay);
  int64_t clock = micros - days * kMicrosPerDay;
  return CivilFromDays(days) + (iso_utc ? "T" : " ") + FormatClock(clock, true) +
         (iso_utc ? "Z" : "");
}

// PostgreSQL "postgres" interval style: "1 year 2 mons -3 days +04:05:06.78".
bool ParseInterval(std::string_view s, int64_t* months, int64_t* days, int64_t* micros) {
  *months = *days = *micros = 0;
  size_t p = 0;
  while (p < s.size()) {
    while (p < s.size() && s[p] == ' ') ++p;
    if (p >= s.size()) break;
    size_t start = p;
    if (s[p] == '+' || s[p] == '-') ++p;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
    if (p < s.size() && s[p] == ':') {
      int sign = s[start] == '-' ? -1 : 1;
      size_t q = (s[start] == '+' || s[start] == '-') ? start + 1 : start;
      int64_t clock;
      if (!ParseClock(s, &q, &clock)) return false;
      *micros += sign * clock;
      p = q;
      continue;
    }
    int64_t n;
    if (!ParseInt(s.substr(start, p - start), &n)) return false;
    while (p < s.size() && s[p] == ' ') ++p;
    size_t ustart = p;
    while (p < s.size() && std::isalpha(static_cast<unsigned char>(s[p]))) ++p;
    std::string_view unit = s.substr(ustart, p - ustart);
    if (unit.rfind("year", 0) == 0)
      *months += 12 * n;
    else if (unit.rfind("mon", 0) == 0)
      *months += n;
    else if (unit.rfind("day", 0) == 0)
      *days += n;
    else
      return false;
  }
  return true;
}

std::string IsoInterval(int64_t months, int64_t days, int64_t micros) {
  std::string out = "P";
  out += std::to_string(months / 12) + "Y" + std::to_string(months % 12) + "M" +
         std::to_string(days) + "DT";
  int64_t sign = micros < 0 ? -1 : 1;
  int64_t m = micros * sign;
  int64_t h = m / 3600000000LL;
  int64_t mi = (m / 60000000LL) % 60;
  int64_t sec = (m / 1000000) % 60, frac = m % 1000000;
  std::string s = (sign < 0 ? "-" : "") + std::to_string(h) + "H" + (sign < 0 ? "-" : "") +
                  std::to_string(mi) + "M" + (sign < 0 ? "-" : "") + std::to_string(sec);
  if (frac) {
    char f[8];
    std::snprintf(f, sizeof f, "%06lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    s += "." + fs;
  }
  return out + s + "S";
}

// PostgreSQL array literal (one dimension) -> elements; nullopt elements are NULL.
bool ParseArray(std::string_view s, std::vector<std::optional<std::string>>* out) {
  out->clear();
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return false;
  size_t p = 1;
  if (s.size() == 2) return true;
  while (p < s.size() - 1) {
    std::string item;
    bool quoted = false;
    if (s[p] == '{') return false;  // multidimensional: not representable
    if (s[p] == '"') {
      quoted = true;
      ++p;
      while (p < s.size() && s[p] != '"') {
        if (s[p] == '\\' && p + 1 < s.size()) ++p;
        item += s[p++];
      }
      ++p;  // closing quote
    } else {
      while (p < s.size() - 1 && s[p] != ',') item += s[p++];
    }
    if (!quoted && item == "NULL") {
      out->push_back(std::nullopt);
    } else {
      out->push_back(item);
    }
    if (p < s.size() - 1 && s[p] == ',') ++p;
  }
  return true;
}

std::string QuoteArrayElement(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool HexToBytes(std::string_view hex, std::string* out) {
  if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x' || hex.size() % 2) return false;
  out->clear();
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 2; i < hex.size(); i += 2) {
    int a = nib(hex[i]), b = nib(hex[i + 1]);
    if (a < 0 || b < 0) return false;
    *out += static_cast<char>(a * 16 + b);
  }
  return true;
}

std::string BytesToHex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Raw JSON number text when it is one; PostgreSQL spells the non-finite floats as words.
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

Status Bad(const FieldType& t, const std::string& text, const char* what) {
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

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[32];
  if (y <= 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u BC", static_cast<long long>(1 - y), m, d);
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  }
  return buf;
}

std::string Base64Encode(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return true;
}

bool DecimalToUnscaledBytes(const std::string& text, int scale, std::string* bytes) {
  bool negative = !text.empty() && text[0] == '-';
  std::string digits;
  int frac = -1;
  for (size_t i = negative ? 1 : 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (frac >= 0) return false;
      frac = 0;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
      if (frac >= 0) ++frac;
    } else {
      return false;
    }
  }
  if (digits.empty()) return false;
  if (frac < 0) frac = 0;
  if (frac > scale) return false;  // would lose digits: the scale must cover the value
  digits.append(static_cast<size_t>(scale - frac), '0');
  // Decimal digit string -> big-endian magnitude bytes by repeated division by 256.
  std::string mag;
  std::vector<int> num;
  for (char c : digits) num.push_back(c - '0');
  while (!(num.empty() || (num.size() == 1 && num[0] == 0))) {
    std::vector<int> q;
    int rem = 0;
    for (int d : num) {
      int cur = rem * 10 + d;
      int qd = cur / 256;
      rem = cur % 256;
      if (!q.empty() || qd) q.push_back(qd);
    }
    mag.insert(mag.begin(), static_cast<char>(rem));
    num = q;
  }
  if (mag.empty()) mag = std::string(1, '\0');
  if (static_cast<uint8_t>(mag[0]) & 0x80) mag.insert(mag.begin(), '\0');
  if (negative) {
    for (auto& c : mag) c = static_cast<char>(~static_cast<uint8_t>(c));
    for (size_t i = mag.size(); i-- > 0;) {
      uint8_t v = static_cast<uint8_t>(mag[i]) + 1;
      mag[i] = static_cast<char>(v);
      if (v != 0) break;
    }
  }
  *bytes = mag;
  return true;
}

std::string UnscaledBytesToDecimal(std::string_view bytes, int scale) {
  std::string mag(bytes);
  bool negative = !mag.empty() && (static_cast<uint8_t>(mag[0]) & 0x80);
  if (negative) {
    for (auto& c : mag) c = static_cast<char>(~static_cast<uint8_t>(c));
    for (size_t i = mag.size(); i-- > 0;) {
      uint8_t v = static_cast<uint8_t>(mag[i]) + 1;
      mag[i] = static_cast<char>(v);
      if (v != 0) break;
    }
  }
  // Big-endian bytes -> decimal digits by repeated multiply-add in base 10.
  std::vector<int> digits{0};  // least significant first
  for (unsigned char b : mag) {
    int carry = b;
    for (auto& d : digits) {
      int cur = d * 256 + carry;
      d = cur % 10;
      carry = cur / 10;
    }
    while (carry) {
      digits.push_back(carry % 10);
      carry /= 10;
    }
  }
  while (digits.size() > 1 && digits.back() == 0) digits.pop_back();
  std::string s;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) s += static_cast<char>('0' + *it);
  if (scale > 0) {
    if (s.size() <= static_cast<size_t>(scale))
      s.insert(0, static_cast<size_t>(scale) - s.size() + 1, '0');
    s.insert(s.size() - static_cast<size_t>(scale), ".");
  } else if (scale < 0) {
    s.append(static_cast<size_t>(-scale), '0');
  }
  return (negative && s != "0" ? "-" : "") + s;
}

FieldType TypeForPostgres(uint32_t oid, int32_t typmod, const TypeOptions& o) {
  const int numeric_p = typmod >= 4 ? ((typmod - 4) >> 16) & 0xffff : 0;
  const int numeric_s = typmod >= 4 ? (typmod - 4) & 0xffff : 0;
  switch (oid) {
    case 16:
      return Simple(Kind::kBoolean);
    case 17:
      return Simple(Kind::kBytes);
    case 21:
      return Simple(Kind::kInt16);
    case 23:
      return Simple(Kind::kInt32);
    case 20:
    case 26:
      return Simple(Kind::kInt64);
    case 700:
      return Simple(Kind::kFloat);
    case 701:
      return Simple(Kind::kDouble);
    case 1700:
      return DecimalType(numeric_p, numeric_s, o);
    case 790:
      return DecimalType(o.decimal == DecimalMode::kPrecise ? 19 : 0, 2, o);
    case 1082:
      return Simple(Kind::kDate);
    case 1083:
      return TimeType(typmod);
    case 1114:
      return TimestampType(typmod);
    case 1184:
      return Simple(Kind::kZonedTimestamp);
    case 1266:
      return Simple(Kind::kZonedTime);
    case 1186:
      return Simple(o.interval == IntervalMode::kString ? Kind::kInterval : Kind::kMicroDuration);
    case 114:
    case 3802:
      return Simple(Kind::kJson);
    case 142:
      return Simple(Kind::kXml);
    case 2950:
      return Simple(Kind::kUuid);
    case 600:
      return Simple(Kind::kPoint);
    case 1560:
    case 1562: {
      if (oid == 1560 && typmod == 1) return Simple(Kind::kBoolean);
      FieldType t = Simple(Kind::kBits);
      t.length = typmod > 0 ? typmod : 2147483647;
      return t;
    }
    // Arrays: the element's type with the column's modifier.
    case 1000:
      return ArrayOf(TypeForPostgres(16, typmod, o));
    case 1001:
      return ArrayOf(TypeForPostgres(17, typmod, o));
    case 1005:
      return ArrayOf(TypeForPostgres(21, typmod, o));
    case 1007:
      return ArrayOf(TypeForPostgres(23, typmod, o));
    case 1016:
    case 1028:
      return ArrayOf(TypeForPostgres(20, typmod, o));
    case 1021:
      return ArrayOf(TypeForPostgres(700, typmod, o));
    case 1022:
      return ArrayOf(TypeForPostgres(701, typmod, o));
    case 1231:
      return ArrayOf(TypeForPostgres(1700, typmod, o));
    case 791:
      return ArrayOf(TypeForPostgres(790, typmod, o));
    case 1182:
      return ArrayOf(TypeForPostgres(1082, typmod, o));
    case 1183:
      return ArrayOf(TypeForPostgres(1083, typmod, o));
    case 1115:
      return ArrayOf(TypeForPostgres(1114, typmod, o));
    case 1185:
      return ArrayOf(TypeForPostgres(1184, typmod, o));
    case 1270:
      return ArrayOf(TypeForPostgres(1266, typmod, o));
    case 1187:
      return ArrayOf(TypeForPostgres(1186, typmod, o));
    case 2951:
      return ArrayOf(TypeForPostgres(2950, typmod, o));
    case 199:
    case 3807:
      return ArrayOf(TypeForPostgres(114, typmod, o));
    case 143:
      return ArrayOf(TypeForPostgres(142, typmod, o));
    case 1009:
    case 1014:
    case 1015:
    case 1041:
    case 651:
    case 1040:
    case 1002:
    case 1003:
      return ArrayOf(Simple(Kind::kString));
    default:
      return Simple(Kind::kString);  // text, varchar, char, inet, cidr, macaddr, ranges, enums...
  }
}

FieldType TypeForPostgresName(const std::string& format_type) {
  std::string t = format_type;
  bool array = t.size() > 2 && t.compare(t.size() - 2, 2, "[]") == 0;
  if (array) t.resize(t.size() - 2);
  int p = -1, s = 0;
  if (auto open = t.find('('); open != std::string::npos) {
    std::sscanf(t.c_str() + open, "(%d,%d)", &p, &s);
    t = t.substr(0, open) + t.substr(t.find(')', open) + 1);
  }
  FieldType f;
  TypeOptions o;
  if (t == "boolean")
    f = Simple(Kind::kBoolean);
  else if (t == "smallint")
    f = Simple(Kind::kInt16);
  else if (t == "integer")
    f = Simple(Kind::kInt32);
  else if (t == "bigint" || t == "oid")
    f = Simple(Kind::kInt64);
  else if (t == "real")
    f = Simple(Kind::kFloat);
  else if (t == "double precision")
    f = Simple(Kind::kDouble);
  else if (t == "numeric")
    f = p >= 0 ? DecimalType(p, s, o) : DecimalType(0, 0, o);
  else if (t == "money")
    f = DecimalType(19, 2, o);
  else if (t == "bytea")
    f = Simple(Kind::kBytes);
  else if (t == "date")
    f = Simple(Kind::kDate);
  else if (t == "time without time zone")
    f = TimeType(p);
  else if (t == "timestamp without time zone")
    f = TimestampType(p);
  else if (t == "timestamp with time zone")
    f = Simple(Kind::kZonedTimestamp);
  else if (t == "time with time zone")
    f = Simple(Kind::kZonedTime);
  else if (t == "interval")
    f = Simple(Kind::kMicroDuration);
  else if (t == "json" || t == "jsonb")
    f = Simple(Kind::kJson);
  else if (t == "uuid")
    f = Simple(Kind::kUuid);
  else if (t == "point")
    f = Simple(Kind::kPoint);
  else if (t == "bit" || t == "bit varying") {
    f = Simple(p == 1 && t == "bit" ? Kind::kBoolean : Kind::kBits);
    f.length = p > 0 ? p : 2147483647;
  } else
    f = Simple(Kind::kString);
  return array ? ArrayOf(f) : f;
}

FieldType TypeFromSchema(const rapidjson::Value& schema) {
  auto str = [&](const char* k) -> std::string {
    auto it = schema.FindMember(k);
    return it != schema.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
  };
  auto param = [&](const char* k) -> int {
    auto it = schema.FindMember("parameters");
    if (it == schema.MemberEnd() || !it->value.IsObject()) return 0;
    auto p = it->value.FindMember(k);
    return p != it->value.MemberEnd() && p->value.IsString() ? std::atoi(p->value.GetString()) : 0;
  };
  const std::string type = str("type"), name = str("name");
  if (name == "org.apache.kafka.connect.data.Decimal") {
    FieldType t = Simple(Kind::kDecimal);
    t.scale = param("scale");
    t.precision = param("connect.decimal.precision");
    return t;
  }
  if (name == "io.debezium.data.VariableScaleDecimal") return Simple(Kind::kVariableDecimal);
  if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date")
    return Simple(Kind::kDate);
  if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time")
    return Simple(Kind::kTime);
  if (name == "io.debezium.time.MicroTime") return Simple(Kind::kMicroTime);
  if (name == "io.debezium.time.NanoTime") return Simple(Kind::kNanoTime);
  if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp") {
    return Simple(Kind::kTimestamp);
  }
  if (name == "io.debezium.time.MicroTimestamp") return Simple(Kind::kMicroTimestamp);
  if (name == "io.debezium.time.NanoTimestamp") return Simple(Kind::kNanoTimestamp);
  if (name == "io.debezium.time.ZonedTimestamp") return Simple(Kind::kZonedTimestamp);
  if (name == "io.debezium.time.ZonedTime") return Simple(Kind::kZonedTime);
  if (name == "io.debezium.time.MicroDuration") return Simple(Kind::kMicroDuration);
  if (name == "io.debezium.time.Interval") return Simple(Kind::kInterval);
  if (name == "io.debezium.data.Json") return Simple(Kind::kJson);
  if (name == "io.debezium.data.Uuid") return Simple(Kind::kUuid);
  if (name == "io.debezium.data.Xml") return Simple(Kind::kXml);
  if (name == "io.debezium.data.Enum" || name == "io.debezium.data.EnumSet")
    return Simple(Kind::kEnum);
  if (name == "io.debezium.data.Bits") {
    FieldType t = Simple(Kind::kBits);
    t.length = param("length");
    return t;
  }
  if (name == "io.debezium.data.geometry.Point") return Simple(Kind::kPoint);
  if (type == "boolean") return Simple(Kind::kBoolean);
  if (type == "int8" || type == "int16") return Simple(Kind::kInt16);
  if (type == "int32") return Simple(Kind::kInt32);
  if (type == "int64") return Simple(Kind::kInt64);
  if (type == "float") return Simple(Kind::kFloat);
  if (type == "double") return Simple(Kind::kDouble);
  if (type == "bytes") return Simple(Kind::kBytes);
  if (type == "array") {
    auto items = schema.FindMember("items");
    return ArrayOf(items != schema.MemberEnd() ? TypeFromSchema(items->value)
                                               : Simple(Kind::kString));
  }
  return Simple(Kind::kString);
}

void WriteFieldSchema(JsonWriter& w, const FieldType& t, bool optional, const std::string& field) {
  auto named = [&](const char* type, const char* name) {
    w.Key("type");
    w.String(type);
    w.Key("optional");
    w.Bool(optional);
    if (name) {
      w.Key("name");
      w.String(name);
      w.Key("version");
      w.Int(1);
    }
  };
  w.StartObject();
  switch (t.kind) {
    case Kind::kBoolean:
      named("boolean", nullptr);
      break;
    case Kind::kInt16:
      named("int16", nullptr);
      break;
    case Kind::kInt32:
      named("int32", nullptr);
      break;
    case Kind::kInt64:
      named("int64", nullptr);
      break;
    case Kind::kFloat:
      named("float", nullptr);
      break;
    case Kind::kDouble:
    case Kind::kDecimalDouble:
      named("double", nullptr);
      break;
    case Kind::kString:
    case Kind::kDecimalString:
      named("string", nullptr);
      break;
    case Kind::kBytes:
      named("bytes", nullptr);
      break;
    case Kind::kDecimal:
      named("bytes", "org.apache.kafka.connect.data.Decimal");
      w.Key("parameters");
      w.StartObject();
      w.Key("scale");
      w.String(std::to_string(t.scale).c_str());
      if (t.precision > 0) {
        w.Key("connect.decimal.precision");
        w.String(std::to_string(t.precision).c_str());
      }
      w.EndObject();
      break;
    case Kind::kVariableDecimal:
      w.Key("type");
      w.String("struct");
      w.Key("fields");
      w.StartArray();
      WriteFieldSchema(w, Simple(Kind::kInt32), false, "scale");
      WriteFieldSchema(w, Simple(Kind::kBytes), false, "value");
      w.EndArray();
      w.Key("optional");
      w.Bool(optional);
      w.Key("name");
      w.String("io.debezium.data.VariableScaleDecimal");
      w.Key("version");
      w.Int(1);
      w.Key("doc");
      w.String("Variable scaled decimal");
      break;
    case Kind::kDate:
      named("int32", "io.debezium.time.Date");
      break;
    case Kind::kTime:
      named("int32", "io.debezium.time.Time");
      break;
    case Kind::kMicroTime:
      named("int64", "io.debezium.time.MicroTime");
      break;
    case Kind::kNanoTime:
      named("int64", "io.debezium.time.NanoTime");
      break;
    case Kind::kTimestamp:
      named("int64", "io.debezium.time.Timestamp");
      break;
    case Kind::kMicroTimestamp:
      named("int64", "io.debezium.time.MicroTimestamp");
      break;
    case Kind::kNanoTimestamp:
      named("int64", "io.debezium.time.NanoTimestamp");
      break;
    case Kind::kZonedTimestamp:
      named("string", "io.debezium.time.ZonedTimestamp");
      break;
    case Kind::kZonedTime:
      named("string", "io.debezium.time.ZonedTime");
      break;
    case Kind::kMicroDuration:
      named("int64", "io.debezium.time.MicroDuration");
      break;
    case Kind::kInterval:
      named("string", "io.debezium.time.Interval");
      break;
    case Kind::kJson:
      named("string", "io.debezium.data.Json");
      break;
    case Kind::kUuid:
      named("string", "io.debezium.data.Uuid");
      break;
    case Kind::kXml:
      named("string", "io.debezium.data.Xml");
      break;
    case Kind::kEnum:
      named("string", "io.debezium.data.Enum");
      break;
    case Kind::kBits:
      named("bytes", "io.debezium.data.Bits");
      w.Key("parameters");
      w.StartObject();
      w.Key("length");
      w.String(std::to_string(t.length).c_str());
      w.EndObject();
      break;
    case Kind::kPoint:
      w.Key("type");
      w.String("struct");
      w.Key("fields");
      w.StartArray();
      WriteFieldSchema(w, Simple(Kind::kDouble), false, "x");
      WriteFieldSchema(w, Simple(Kind::kDouble), false, "y");
      WriteFieldSchema(w, Simple(Kind::kBytes), true, "wkb");
      WriteFieldSchema(w, Simple(Kind::kInt32), true, "srid");
      w.EndArray();
      w.Key("optional");
      w.Bool(optional);
      w.Key("name");
      w.String("io.debezium.data.geometry.Point");
      w.Key("version");
      w.Int(1);
      w.Key("doc");
      w.String("Geometry (POINT)");
      break;
    case Kind::kArray:
      w.Key("type");
      w.String("array");
      w.Key("items");
      WriteFieldSchema(w, *t.element, true, "");
      w.Key("optional");
      w.Bool(optional);
      break;
  }
  if (!field.empty()) {
    w.Key("field");
    w.String(field.data(), static_cast<rapidjson::SizeType>(field.size()));
  }
  w.EndObject();
}

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
      if (!IsJsonNumber(v)) return Bad(t, v, "integer");
      w.RawValue(v.data(), v.size(), rapidjson::kNumberType);
      return Status::Ok();
    case Kind::kFloat:
    case Kind::kDouble:
    case Kind::kDecimalDouble:
      WriteNumberOrString(w, v);  // NaN and ±Infinity as strings, as Jackson writes them
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
      if (!DecimalToUnscaledBytes(text, scale, &bytes)) return Bad(t, v, "decimal");
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
      if (!HexToBytes(v, &bytes)) return Bad(t, v, "bytea (hex) value");
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
      if (!ParseDate(v, &p, &days)) return Bad(t, v, "date");
      w.Int64(days);
      return Status::Ok();
    }
    case Kind::kTime:
    case Kind::kMicroTime:
    case Kind::kNanoTime: {
      size_t p = 0;
      int64_t micros;
      if (!ParseClock(v, &p, &micros)) return Bad(t, v, "time");
      w.Int64(t.kind == Kind::kTime       ? micros / 1000
              : t.kind == Kind::kNanoTime ? micros * 1000
                                          : micros);
      return Status::Ok();
    }
    case Kind::kTimestamp:
    case Kind::kMicroTimestamp:
    case Kind::kNanoTimestamp: {
      int64_t micros;
      if (!ParseTimestampMicros(v, &micros)) return Bad(t, v, "timestamp");
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
      if (!ParseTimestampMicros(v, &micros)) return Bad(t, v, "timestamptz");
      w.String(FormatTimestamp(micros, true).c_str());
      return Status::Ok();
    }
    case Kind::kZonedTime: {
      size_t p = 0;
      int64_t micros;
      if (!ParseClock(v, &p, &micros)) return Bad(t, v, "timetz");
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
      if (!ParseInterval(v, &months, &days, &micros)) return Bad(t, v, "interval");
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
          return Bad(t, v, "bit string");
      }
      w.String(Base64Encode(bytes).c_str());
      return Status::Ok();
    }
    case Kind::kPoint: {
      double x, y;
      if (std::sscanf(v.c_str(), "(%lf,%lf)", &x, &y) != 2) return Bad(t, v, "point");
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
      if (!ParseArray(v, &items)) return Bad(t, v, "one-dimensional array");
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
