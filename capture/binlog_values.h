// Text forms of binlog values in PostgreSQL's formats, shared by the row decoder.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "binlog_reader.h"

namespace stagesync::capture::binlog {

void AppendDigits(std::string* out, uint64_t v, int width);
std::string DateText(uint64_t year, uint64_t month, uint64_t day);
void AppendClock(std::string* out, uint64_t h, uint64_t m, uint64_t s);
// Seconds (and microseconds) since the epoch as a UTC timestamptz; MySQL's zero timestamp
// stays "0000-00-00 00:00:00".
std::string EpochText(uint64_t seconds, uint64_t micros, int fsp);
std::string HexBytea(std::string_view bytes);  // "\x0aff"
// The shortest text that reads back to the same float / double.
std::string Shortest(float v);
std::string Shortest(double v);

}  // namespace stagesync::capture::binlog
