// PostgreSQL's text formats for the number and date/time types (integers, numerics as unscaled
// bytes, dates, times, timestamps, intervals); arrays and bytea are in pg_text_arrays_bytea.cc.
#include "pg_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace stagesync::pgtext {

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
    char f[24];
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
    char f[24];
    std::snprintf(f, sizeof f, "%06lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    s += "." + fs;
  }
  return out + s + "S";
}

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
  char buf[64];  // room for any year the arithmetic allows, not only real ones
  if (y <= 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u BC", static_cast<long long>(1 - y), m, d);
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  }
  return buf;
}

namespace {
// Big-endian two's complement negation, in place (its own inverse).
void NegateTwosComplement(std::string& bytes) {
  for (auto& c : bytes) c = static_cast<char>(~static_cast<uint8_t>(c));
  for (size_t i = bytes.size(); i-- > 0;) {
    uint8_t v = static_cast<uint8_t>(bytes[i]) + 1;
    bytes[i] = static_cast<char>(v);
    if (v != 0) break;
  }
}
}  // namespace

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
    NegateTwosComplement(mag);
  }
  *bytes = mag;
  return true;
}

std::string UnscaledBytesToDecimal(std::string_view bytes, int scale) {
  std::string mag(bytes);
  bool negative = !mag.empty() && (static_cast<uint8_t>(mag[0]) & 0x80);
  if (negative) {
    NegateTwosComplement(mag);
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

}  // namespace stagesync::pgtext
