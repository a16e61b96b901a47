// The harness itself: servers start, answer and compare; child processes are captured.
#include <signal.h>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using HarnessSelfTest = SyncTest;

TEST_F(HarnessSelfTest, cluster_starts_answers_and_compares_tables) {
  EXPECT_EQ(source().QueryValue(db_, "SHOW wal_level"), "logical");
  EXPECT_EQ(target().QueryValue(db_, "SELECT current_database()"), db_);
  EXPECT_NE(source().port(), target().port());
  OnBoth("CREATE TABLE t(id int primary key, v text)");
  OnSource("INSERT INTO t VALUES (1, 'a'), (2, NULL)");
  OnTarget("INSERT INTO t VALUES (2, NULL), (1, 'a')");
  EXPECT_EQ(TableDigest(source(), db_, "t", "id"), TableDigest(target(), db_, "t", "id"));
  EXPECT_TRUE(Converges({{"t", "id"}}, 1s));
  OnTarget("UPDATE t SET v = '' WHERE id = 2");  // empty string is not NULL
  EXPECT_NE(TableDigest(source(), db_, "t", "id"), TableDigest(target(), db_, "t", "id"));
  std::string diff = DescribeDifference(source(), db_, target(), db_, {"t", "id"});
  EXPECT_NE(diff.find("only in target (x1): (2,\"\")"), std::string::npos) << diff;
  Rows rows = source().Query(db_, "SELECT id, v FROM t ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0], "2");
  EXPECT_FALSE(rows[1][1].has_value());
}

TEST_F(HarnessSelfTest, process_captures_output_and_signals) {
  CommandResult r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, "sh");
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  Process p({"/bin/sleep", "30"}, "sleep");
  EXPECT_FALSE(p.Wait(100ms).has_value());
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(5s), 128 + SIGTERM);
  Process q({"/bin/sleep", "30"}, "sleep");
  EXPECT_EQ(q.Kill(), 128 + SIGKILL);
}

TEST(HarnessUnits, json_and_lsn_and_toml) {
  auto j = ParseJsonObject(R"( {"state":"streaming","lag_seconds":0,"x":null,
      "nested":{"a":[1,2,{"b":"c"}]},"applied_position":"0/16B3748","ok":true} )");
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["state"].text, "streaming");
  EXPECT_EQ((*j)["lag_seconds"].number(), 0);
  EXPECT_TRUE((*j)["x"].is_null());
  EXPECT_EQ((*j)["nested"].kind, JsonValue::Kind::kObject);
  EXPECT_FALSE(ParseJsonObject("{\"a\":1"));
  EXPECT_FALSE(ParseJsonObject("{} trailing"));
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_FALSE(ParseLsn("16B374D848"));
  EXPECT_EQ(TomlString("a\"b\\c\n"), R"("a\"b\\c\n")");
}

}  // namespace
}  // namespace stagesync::testing
