#include "stagesync/mysql.h"

#include <gtest/gtest.h>

namespace stagesync::mysql {
namespace {

TEST(MysqlDsn, ParsesEveryPart) {
  EndpointConfig c;
  c.kind = Engine::kMysql;
  c.dsn = "mysql://repl:s%40cret@db.example:3307/wso2";
  Endpoint e;
  ASSERT_TRUE(ParseDsn(c, &e).ok());
  EXPECT_EQ(e.user, "repl");
  EXPECT_EQ(e.password, "s@cret");
  EXPECT_EQ(e.host, "db.example");
  EXPECT_EQ(e.port, 3307u);
  EXPECT_EQ(e.database, "wso2");
}

TEST(MysqlDsn, PasswordFileAndDefaults) {
  EndpointConfig c;
  c.dsn = "mysql://app@127.0.0.1/shop";
  c.password = "p&w d";
  Endpoint e;
  ASSERT_TRUE(ParseDsn(c, &e).ok());
  EXPECT_EQ(e.password, "p&w d");
  EXPECT_EQ(e.port, 3306u);
}

TEST(MysqlDsn, BadPortIsAUsageError) {
  EndpointConfig c;
  c.dsn = "mysql://app@127.0.0.1:99999/shop";
  Endpoint e;
  Status s = ParseDsn(c, &e);
  EXPECT_EQ(s.exit_code(), kExitUsage);
  EXPECT_NE(s.message().find("99999"), std::string::npos);
}

TEST(MysqlPosition, OrdersAcrossFilesAndFormats) {
  Lsn a = PositionFrom(FileSequence("binlog.000009"), 4000000);
  Lsn b = PositionFrom(FileSequence("binlog.000010"), 4);
  EXPECT_LT(a, b);
  EXPECT_EQ(FormatPosition("binlog.000123", b), "binlog.000010:4");
  EXPECT_EQ(FileName("mysql-bin.000001", 1234567), "mysql-bin.1234567");
}

TEST(MysqlQuote, IdentifiersAndLiterals) {
  EXPECT_EQ(QuoteIdent("a`b"), "`a``b`");
  EXPECT_EQ(QuoteLiteral("it's \\ x"), "'it''s \\\\ x'");
}

}  // namespace
}  // namespace stagesync::mysql
