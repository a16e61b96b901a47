#include "binlog_decoder.h"

#include <gtest/gtest.h>

namespace stagesync::capture::binlog {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s += static_cast<char>(v);
  return s;
}

TEST(BinlogDecimal, MySqlDocumentedExample) {
  // MySQL's strings/decimal.c: 1234567890.1234 as DECIMAL(14,4).
  std::string raw = Bytes({0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2});
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeDecimal(&in, 14, 4, &out));
  EXPECT_EQ(out, "1234567890.1234");
  EXPECT_TRUE(in.empty());
}

TEST(BinlogDecimal, NegativeIsInverted) {
  // -1234567890.1234 is the same bytes inverted, sign bit cleared.
  std::string raw = Bytes({0x7E, 0xF2, 0x04, 0xC7, 0x2D, 0xFB, 0x2D});
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeDecimal(&in, 14, 4, &out));
  EXPECT_EQ(out, "-1234567890.1234");
}

TEST(BinlogDecimal, ZeroAndTruncation) {
  std::string raw =
      Bytes({0x80, 0x00, 0x00});  // DECIMAL(5,2) 0.00: 3 digits int (2 bytes) + 2 frac (1)
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeDecimal(&in, 5, 2, &out));
  EXPECT_EQ(out, "0.00");
  std::string_view short_in = std::string_view(raw).substr(0, 2);
  EXPECT_FALSE(DecodeDecimal(&short_in, 5, 2, &out));
}

TEST(BinlogTemporal, DateTime2WithMicroseconds) {
  // 2024-01-02 03:04:05.123456: ym = 2024*13+1, packed with the 0x8000000000 offset.
  uint64_t ym = 2024 * 13 + 1;
  uint64_t v = 0x8000000000ULL | (((ym << 5) | 2) << 17) | (3 << 12) | (4 << 6) | 5;
  std::string raw;
  for (int i = 4; i >= 0; --i) raw += static_cast<char>((v >> (8 * i)) & 0xff);
  raw += Bytes({0x01, 0xE2, 0x40});  // 123456 big-endian
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeDateTime2(&in, 6, &out));
  EXPECT_EQ(out, "2024-01-02 03:04:05.123456");
}

TEST(BinlogTemporal, ZeroDateTimeStaysZero) {
  std::string raw = Bytes({0x80, 0, 0, 0, 0});
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeDateTime2(&in, 0, &out));
  EXPECT_EQ(out, "0000-00-00 00:00:00");
}

TEST(BinlogTemporal, NegativeTimeWithFraction) {
  // -00:00:01.5 at fsp 1: intpart -2 (after the borrow), fraction 0x100 - 50.
  std::string raw;
  int64_t intpart = 0x800000 - 2;
  for (int i = 2; i >= 0; --i) raw += static_cast<char>((intpart >> (8 * i)) & 0xff);
  raw += static_cast<char>(0x100 - 50);
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeTime2(&in, 1, &out));
  EXPECT_EQ(out, "-00:00:01.5");
}

TEST(BinlogTemporal, LongTime) {
  // 838:59:59, MySQL's maximum TIME.
  int64_t hms = (838 << 12) | (59 << 6) | 59;
  int64_t v = 0x800000 + hms;
  std::string raw;
  for (int i = 2; i >= 0; --i) raw += static_cast<char>((v >> (8 * i)) & 0xff);
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeTime2(&in, 0, &out));
  EXPECT_EQ(out, "838:59:59");
}

TEST(BinlogTemporal, Timestamp2IsUtc) {
  std::string raw = Bytes({0x65, 0x92, 0x00, 0x80, 0x04, 0xD2});  // 1704067200, .1234 at fsp 4
  std::string_view in = raw;
  std::string out;
  ASSERT_TRUE(DecodeTimestamp2(&in, 4, &out));
  EXPECT_EQ(out, "2024-01-01 00:00:00.1234+00");
}

TEST(BinlogCharset, Latin1IsWindows1252) {
  EXPECT_EQ(Latin1ToUtf8("caf\xe9 \x80"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(Latin1ToUtf8("\x81"), "\xc2\x81");
}

TEST(BinlogTableMap, FullMetadataThenRowsV2) {
  // A table map as MySQL 8 writes it with binlog_row_metadata = FULL: app.t (id INT UNSIGNED
  // PRIMARY KEY, name VARCHAR(80) utf8mb4, price DECIMAL(10,2)).
  std::string map_body = Bytes({0x15, 0, 0, 0, 0, 0, 0x01, 0x00, 3}) + "app" + Bytes({0, 1}) + "t" +
                         Bytes({0, 3, kLong, kVarchar, kNewDecimal, 4, 80, 0, 10, 2, 0x06});
  map_body += Bytes({1, 1, 0x80});  // SIGNEDNESS: the first numeric column is unsigned
  map_body += Bytes({2, 1, 45});    // DEFAULT_CHARSET utf8mb4_general_ci
  map_body += Bytes({4, 14, 2}) + "id" + Bytes({4}) + "name" + Bytes({5}) + "price";
  map_body += Bytes({8, 1, 0});  // SIMPLE_PRIMARY_KEY (id)
  TableMap map;
  ASSERT_TRUE(ParseTableMap(map_body, 8, &map).ok());
  EXPECT_EQ(map.table_id, 0x15u);
  EXPECT_EQ(map.database, "app");
  EXPECT_EQ(map.names, (std::vector<std::string>{"id", "name", "price"}));
  EXPECT_EQ(map.primary_key, std::vector<int>{0});
  EXPECT_TRUE(map.is_unsigned[0]);
  EXPECT_EQ(map.collations[1], 45u);
  EXPECT_EQ(PostgresTypeFor(map, 0), 20u);                   // INT UNSIGNED needs int8
  EXPECT_EQ(PostgresTypmodFor(map, 2), (10 << 16 | 2) + 4);  // numeric(10,2)
  EXPECT_EQ(PostgresTypmodFor(map, 1), -1);

  // WRITE_ROWS v2 with three bytes of extra data, two rows.
  std::string rows_body = Bytes({0x15, 0, 0, 0, 0, 0, 0x01, 0x00, 5, 0, 0, 1, 0, 3, 0x07});
  rows_body +=
      Bytes({0x00, 0xFF, 0xFF, 0xFF, 0xFF, 3}) + "abc" + Bytes({0x80, 0xBC, 0x61, 0x4E, 0x5A});
  rows_body += Bytes({0x06, 1, 0, 0, 0});
  RowsEvent rows;
  ASSERT_TRUE(ParseRowsEvent(30, rows_body, 8, &rows).ok());
  EXPECT_EQ(rows.kind, RowsKind::kWrite);
  auto utf8 = [](uint32_t) { return Charset::kUtf8; };
  std::string_view data = rows.rows;
  Tuple first, second;
  ASSERT_TRUE(DecodeRow(map, rows.present, utf8, &data, &first).ok());
  ASSERT_TRUE(DecodeRow(map, rows.present, utf8, &data, &second).ok());
  EXPECT_TRUE(data.empty());
  EXPECT_EQ(first[0].text, "4294967295");
  EXPECT_EQ(first[1].text, "abc");
  EXPECT_EQ(first[2].text, "12345678.90");
  EXPECT_EQ(second[0].text, "1");
  EXPECT_TRUE(second[1].is_null());
  EXPECT_TRUE(second[2].is_null());
  // A row cut short is an error naming the table, not a guess.
  std::string_view cut = std::string_view(rows.rows).substr(0, 4);
  Tuple bad;
  Status s = DecodeRow(map, rows.present, utf8, &cut, &bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("app.t"), std::string::npos) << s.message();
}

TEST(BinlogTableMap, RejectsTruncated) {
  TableMap map;
  EXPECT_FALSE(ParseTableMap(std::string(5, '\0'), 8, &map).ok());
}

}  // namespace
}  // namespace stagesync::capture::binlog
