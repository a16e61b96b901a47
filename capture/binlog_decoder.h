// Decodes MySQL/MariaDB row-based binlog events (TABLE_MAP and WRITE/UPDATE/DELETE_ROWS v1
// and v2) from their raw bytes into the change model's values, in PostgreSQL text format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/status.h"

namespace stagesync::capture::binlog {

// Binlog column types (MySQL's enum_field_types, as the binlog uses them).
enum ColumnType : uint8_t {
  kDecimalOld = 0,
  kTiny = 1,
  kShort = 2,
  kLong = 3,
  kFloat = 4,
  kDouble = 5,
  kNullType = 6,
  kTimestamp = 7,
  kLongLong = 8,
  kInt24 = 9,
  kDate = 10,
  kTime = 11,
  kDateTime = 12,
  kYear = 13,
  kVarchar = 15,
  kBit = 16,
  kTimestamp2 = 17,
  kDateTime2 = 18,
  kTime2 = 19,
  kJson = 245,
  kNewDecimal = 246,
  kEnum = 247,
  kSet = 248,
  kTinyBlob = 249,
  kMediumBlob = 250,
  kLongBlob = 251,
  kBlob = 252,
  kVarString = 253,
  kString = 254,
  kGeometry = 255,
};

// How a column's bytes are to be read as characters.
enum class Charset : uint8_t { kUtf8, kLatin1, kBinary, kUnsupported };

// How a character set (information_schema's name) is read.
Charset CharsetNamed(std::string name);

// Maps a collation id (as the table map gives it) to how its bytes are read.
using CharsetLookup = std::function<Charset(uint32_t collation_id)>;

struct TableMap {
  uint64_t table_id = 0;
  std::string database;
  std::string table;
  std::vector<uint8_t> types;  // binlog type per column
  std::vector<uint16_t> meta;  // type metadata per column
  std::vector<bool> nullable;
  // From the optional metadata (binlog_row_metadata = FULL); empty when the server sent none.
  std::vector<std::string> names;
  std::vector<bool> is_unsigned;
  std::vector<uint32_t> collations;                   // per column; 0 where not a character column
  std::vector<std::vector<std::string>> enum_values;  // per column; empty unless ENUM
  std::vector<std::vector<std::string>> set_values;   // per column; empty unless SET
  std::vector<int> primary_key;                       // column indexes
  bool has_names() const { return names.size() == types.size(); }
};

// `body` is the event without its common header and checksum; `post_header_len` the table
// map's post-header length from the format description (6 or 8).
Status ParseTableMap(std::string_view body, size_t post_header_len, TableMap* out);

enum class RowsKind : uint8_t { kWrite, kUpdate, kDelete };

struct RowsEvent {
  RowsKind kind = RowsKind::kWrite;
  uint64_t table_id = 0;
  uint16_t flags = 0;
  uint32_t column_count = 0;
  std::vector<bool> present;        // columns in the (before) image
  std::vector<bool> present_after;  // update: columns in the after image
  std::string_view rows;            // the row images, back to back
};

// Classifies a binlog event type; false for anything that is not a rows event we read.
bool IsRowsEvent(uint8_t event_type, RowsKind* kind, bool* v2);

Status ParseRowsEvent(uint8_t event_type, std::string_view body, size_t post_header_len,
                      RowsEvent* out);

// The PostgreSQL type a binlog column's values are written as (see docs/TYPES.md), and its
// type modifier (-1 if none): fractional-second precision, numeric precision and scale.
uint32_t PostgresTypeFor(const TableMap& map, size_t column);
int32_t PostgresTypmodFor(const TableMap& map, size_t column);

// Decodes one row image from the front of `rows` (advancing it) into `out`, one Value per
// table column; columns absent from the image come out as Unchanged.
Status DecodeRow(const TableMap& map, const std::vector<bool>& present,
                 const CharsetLookup& charsets, std::string_view* rows, Tuple* out);

// Value decoders, exposed for tests. Each returns false on truncated input.
bool DecodeDecimal(std::string_view* in, int precision, int scale, std::string* out);
bool DecodeDateTime2(std::string_view* in, int fsp, std::string* out);
bool DecodeTime2(std::string_view* in, int fsp, std::string* out);
bool DecodeTimestamp2(std::string_view* in, int fsp, std::string* out);
std::string Latin1ToUtf8(std::string_view in);  // MySQL's latin1, which is cp1252

}  // namespace stagesync::capture::binlog
