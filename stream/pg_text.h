// PostgreSQL's text formats (dates, times, intervals, arrays, bytea hex, numerics) read
// and written exactly, for conversions to and from other encodings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stagesync::pgtext {

inline constexpr int64_t kMicrosPerDay = 86400LL * 1000000LL;
// Debezium's encodings of +-infinity timestamps, also used for our own.
inline constexpr int64_t kPositiveInfinityMicros = 9223372036825200000LL;
inline constexpr int64_t kNegativeInfinityMicros = -9223372036832400000LL;

bool ParseInt(std::string_view s, int64_t* out);
// "HH:MM:SS[.ffffff]" at *pos -> microseconds; advances *pos past it.
bool ParseClock(std::string_view s, size_t* pos, int64_t* micros);
// "YYYY-MM-DD[ BC]" at *pos -> days since 1970-01-01.
bool ParseDate(std::string_view s, size_t* pos, int64_t* days);
// timestamp or timestamptz text (any offset) -> microseconds since the epoch (UTC).
bool ParseTimestampMicros(std::string_view s, int64_t* micros);
std::string FormatClock(int64_t micros, bool trim);
// "YYYY-MM-DD HH:MM:SS[.f]" or, iso_utc, "YYYY-MM-DDTHH:MM:SS[.f]Z".
std::string FormatTimestamp(int64_t micros, bool iso_utc);
// The "postgres" interval style: "1 year 2 mons -3 days +04:05:06.78".
bool ParseInterval(std::string_view s, int64_t* months, int64_t* days, int64_t* micros);
std::string IsoInterval(int64_t months, int64_t days, int64_t micros);
// One-dimensional array literal -> elements (nullopt = NULL).
bool ParseArray(std::string_view s, std::vector<std::optional<std::string>>* out);
std::string QuoteArrayElement(const std::string& v);
bool HexToBytes(std::string_view hex, std::string* out);  // bytea "\x..." -> bytes
std::string BytesToHex(std::string_view bytes);
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
std::string CivilFromDays(int64_t days);
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string* bytes);
// "-123.45" with scale 2 -> big-endian two's-complement unscaled bytes; false if not a
// number or if the scale cannot hold its digits.
bool DecimalToUnscaledBytes(const std::string& text, int scale, std::string* bytes);
std::string UnscaledBytesToDecimal(std::string_view bytes, int scale);

}  // namespace stagesync::pgtext
