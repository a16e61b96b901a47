// What the table map parser (binlog_decoder.cc) and the row image decoder
// (binlog_row_image.cc) both read a column's metadata and bitmaps with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "binlog_decoder.h"
#include "stagesync/status.h"

namespace stagesync::capture::binlog {

// Bit `i` of a binlog bitmap (least significant bit of the first byte first).
bool Bit(std::string_view bitmap, size_t i);
// The type a STRING column really is (CHAR, ENUM or SET) and its byte length.
void StringMeta(uint16_t meta, uint8_t* real_type, uint32_t* length);
// A column's type, with STRING resolved to CHAR, ENUM or SET.
uint8_t RealType(const TableMap& map, size_t i);
// The error for bytes that do not parse as the binlog event they claim to be.
Status Corrupt(const std::string& what);

}  // namespace stagesync::capture::binlog
