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

TEST(BinlogTableMap, RejectsTruncated) {
  TableMap map;
  EXPECT_FALSE(ParseTableMap(std::string(5, '\0'), 8, &map).ok());
}

}  // namespace
}  // namespace stagesync::capture::binlog
