#include "stagesync/change.h"

#include <gtest/gtest.h>

#include "stagesync/event_queue.h"

namespace stagesync {
namespace {

TEST(Lsn, FormatsAndParsesLikePostgres) {
  EXPECT_EQ(FormatLsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(FormatLsn(0), "0/0");
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_EQ(ParseLsn("0/0"), 0u);
  EXPECT_EQ(ParseLsn("FFFFFFFF/FFFFFFFF"), ~0ULL);
  EXPECT_FALSE(ParseLsn("16B374D848"));
  EXPECT_FALSE(ParseLsn("/1"));
  EXPECT_FALSE(ParseLsn("1/"));
  EXPECT_FALSE(ParseLsn("1/G"));
  EXPECT_FALSE(ParseLsn("123456789/1"));
}

// Issue 11, item 8: MySQL positions read as the binlog file and offset, as status prints them.
TEST(Lsn, MysqlPositionsReadAsFileColonOffset) {
  Lsn at = (Lsn{6} << 32) | 1234;
  EXPECT_EQ(DescribePosition(Engine::kMysql, at), "binlog.000006:1234");
  SetBinlogBaseName("mysql-bin.000042");
  EXPECT_EQ(DescribePosition(Engine::kMysql, at), "mysql-bin.000006:1234");
  SetBinlogBaseName("binlog.000001");
  EXPECT_EQ(DescribePosition(Engine::kPostgres, 0x16B374D848), "lsn=16/B374D848");
}

TEST(EventQueue, BoundsBytesButAlwaysAdmitsIntoAnEmptyQueue) {
  EventQueue q(100);
  RowChange big;
  big.new_tuple.push_back(Value::Text(std::string(1000, 'x')));
  EventBatch b1{big};
  ASSERT_TRUE(q.Push(b1, std::chrono::milliseconds(10)));
  EventBatch b2{big};
  EXPECT_FALSE(q.Push(b2, std::chrono::milliseconds(10)));  // full: backpressure
  EXPECT_EQ(b2.size(), 1u);                                 // nothing lost on timeout
  auto got = q.Pop(std::chrono::milliseconds(10));
  ASSERT_TRUE(got);
  EXPECT_TRUE(q.Push(b2, std::chrono::milliseconds(10)));
  q.Close();
  EXPECT_TRUE(q.Pop(std::chrono::milliseconds(10)));
  EXPECT_FALSE(q.Pop(std::chrono::milliseconds(10)));
  EXPECT_TRUE(q.closed_and_empty());
}

}  // namespace
}  // namespace stagesync
