// Binlog value decoders: DECIMAL, the temporal types, charsets.
#include "binlog_values.h"

#include <charconv>
#include <cstdio>

#include "binlog_decoder.h"

namespace stagesync::capture::binlog {
void AppendDigits(std::string* out, uint64_t v, int width) {
  char buf[24];
  int len = std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  out->append(buf, len);
}

namespace {

// Fractional seconds as stored after the TIME2/DATETIME2/TIMESTAMP2 integer part.
bool ReadFraction(Reader& r, int fsp, uint64_t* micros) {
  size_t bytes = (fsp + 1) / 2;
  uint64_t v = 0;
  if (bytes && !r.BigEndian(bytes, &v)) return false;
  *micros = bytes == 1 ? v * 10000 : bytes == 2 ? v * 100 : v;
  return true;
}

void AppendFraction(std::string* out, uint64_t micros, int fsp) {
  if (fsp <= 0) return;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(micros % 1000000));
  out->push_back('.');
  out->append(buf, fsp);
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

}  // namespace

std::string DateText(uint64_t year, uint64_t month, uint64_t day) {
  std::string out;
  AppendDigits(&out, year, 4);
  out += '-';
  AppendDigits(&out, month, 2);
  out += '-';
  AppendDigits(&out, day, 2);
  return out;
}

void AppendClock(std::string* out, uint64_t h, uint64_t m, uint64_t s) {
  AppendDigits(out, h, 2);
  *out += ':';
  AppendDigits(out, m, 2);
  *out += ':';
  AppendDigits(out, s, 2);
}

std::string EpochText(uint64_t seconds, uint64_t micros, int fsp) {
  if (seconds == 0 && micros == 0) return "0000-00-00 00:00:00";  // MySQL's zero timestamp
  int64_t y;
  unsigned mo, d;
  CivilFromDays(static_cast<int64_t>(seconds / 86400), &y, &mo, &d);
  uint64_t rem = seconds % 86400;
  std::string out = DateText(y, mo, d) + ' ';
  AppendClock(&out, rem / 3600, rem / 60 % 60, rem % 60);
  AppendFraction(&out, micros, fsp);
  return out + "+00";
}

std::string HexBytea(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

namespace {
template <typename T>
std::string ShortestOf(T v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}
}  // namespace

std::string Shortest(float v) {
  return ShortestOf(v);
}
std::string Shortest(double v) {
  return ShortestOf(v);
}

std::string Latin1ToUtf8(std::string_view in) {
  // MySQL's latin1 is Windows-1252; its five unassigned bytes map to the C1 controls.
  static const uint16_t kHigh[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    uint32_t cp = c >= 0x80 && c < 0xA0 ? kHigh[c - 0x80] : c;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

bool DecodeDecimal(std::string_view* in, int precision, int scale, std::string* out) {
  static const int kDigBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  const int intg = precision - scale;
  const int intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
  const size_t size = intg0 * 4 + kDigBytes[intg0x] + frac0 * 4 + kDigBytes[frac0x];
  if (in->size() < size) return false;
  std::string bytes(in->substr(0, size));
  in->remove_prefix(size);
  const bool negative = !(static_cast<uint8_t>(bytes[0]) & 0x80);
  bytes[0] = static_cast<char>(bytes[0] ^ 0x80);
  if (negative) {
    for (auto& b : bytes) b = static_cast<char>(~b);
  }
  Reader r(bytes);
  std::string digits;  // integer part, with leading zeros
  auto group = [&](int bytes_n, int width, std::string* to) {
    uint64_t v = 0;
    r.BigEndian(bytes_n, &v);
    AppendDigits(to, v, width);
  };
  if (intg0x) group(kDigBytes[intg0x], intg0x, &digits);
  for (int i = 0; i < intg0; ++i) group(4, 9, &digits);
  std::string frac;
  for (int i = 0; i < frac0; ++i) group(4, 9, &frac);
  if (frac0x) group(kDigBytes[frac0x], frac0x, &frac);
  size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);
  bool zero = digits == "0" && frac.find_first_not_of('0') == std::string::npos;
  *out = (negative && !zero ? "-" : "") + digits;
  if (scale > 0) *out += "." + frac;
  return true;
}

bool DecodeDateTime2(std::string_view* in, int fsp, std::string* out) {
  Reader r(*in);
  uint64_t packed = 0, micros = 0;
  if (!r.BigEndian(5, &packed) || !ReadFraction(r, fsp, &micros)) return false;
  *in = r.rest();
  uint64_t v = packed - 0x8000000000ULL;  // datetimes are never negative
  uint64_t ymd = v >> 17, hms = v & ((1 << 17) - 1);
  uint64_t ym = ymd >> 5;
  *out = DateText(ym / 13, ym % 13, ymd & 31) + ' ';
  AppendClock(out, hms >> 12, (hms >> 6) & 63, hms & 63);
  AppendFraction(out, micros, fsp);
  return true;
}

bool DecodeTime2(std::string_view* in, int fsp, std::string* out) {
  Reader r(*in);
  int64_t packed = 0;  // MySQL's packed time: hms << 24 | microseconds, signed
  uint64_t v = 0;
  if (fsp >= 5) {
    if (!r.BigEndian(6, &v)) return false;
    packed = static_cast<int64_t>(v) - 0x800000000000LL;
  } else {
    if (!r.BigEndian(3, &v)) return false;
    int64_t intpart = static_cast<int64_t>(v) - 0x800000;
    int64_t frac = 0;
    if (fsp >= 1) {
      size_t bytes = fsp <= 2 ? 1 : 2;
      uint64_t f = 0;
      if (!r.BigEndian(bytes, &f)) return false;
      frac = static_cast<int64_t>(f);
      if (intpart < 0 && frac) {
        ++intpart;
        frac -= bytes == 1 ? 0x100 : 0x10000;
      }
      frac *= bytes == 1 ? 10000 : 100;
    }
    packed = intpart * (1LL << 24) + frac;
  }
  *in = r.rest();
  bool negative = packed < 0;
  uint64_t a = negative ? static_cast<uint64_t>(-packed) : static_cast<uint64_t>(packed);
  uint64_t hms = a >> 24, micros = a & 0xffffff;
  out->clear();
  if (negative) out->push_back('-');
  AppendClock(out, (hms >> 12) & 1023, (hms >> 6) & 63, hms & 63);
  AppendFraction(out, micros, fsp);
  return true;
}

bool DecodeTimestamp2(std::string_view* in, int fsp, std::string* out) {
  Reader r(*in);
  uint64_t seconds = 0, micros = 0;
  if (!r.BigEndian(4, &seconds) || !ReadFraction(r, fsp, &micros)) return false;
  *in = r.rest();
  *out = EpochText(seconds, micros, fsp);
  return true;
}

}  // namespace stagesync::capture::binlog
