// `verify`: row counts and, with --checksum, content in key order; exit 0 when equal, 3 with
// the differing tables and keys listed otherwise.
#include <signal.h>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using VerifyTest = SyncTest;

TEST_F(VerifyTest, equal_then_each_kind_of_difference_is_named) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY, v text, n numeric(10,2), b bytea, ts timestamptz)");
  OnBoth("CREATE TABLE \"Mixed Case\"(k text PRIMARY KEY, j jsonb)");
  SetupOrFail();
  StartRun();
  OnSource(
      "INSERT INTO t SELECT i, 'v' || i, i * 1.5, '\\x00ff', '2024-01-01 00:00+00' FROM "
      "generate_series(1, 12000) i");
  OnSource("INSERT INTO \"Mixed Case\" VALUES ('b', '{\"x\": [1, 2]}'), ('a', NULL), ('é', '1')");
  ASSERT_TRUE(Converges({{"t", "id"}, {"\"Mixed Case\"", "k"}}));

  CommandResult counts = Stagesync({"verify"});
  EXPECT_EQ(counts.exit_code, 0) << counts.Describe();
  EXPECT_NE(counts.out.find("equal (rows)"), std::string::npos) << counts.out;
  CommandResult content = Stagesync({"verify", "--checksum"});
  EXPECT_EQ(content.exit_code, 0) << content.Describe();
  EXPECT_NE(content.out.find("equal (rows and content)"), std::string::npos) << content.out;

  // Staging drifts: one value changed, one row gone, one extra row.
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  OnTarget("UPDATE t SET v = 'drift' WHERE id = 7000");
  OnTarget("DELETE FROM t WHERE id = 11999");
  OnTarget("INSERT INTO \"Mixed Case\" VALUES ('zz', NULL)");
  CommandResult rows = Stagesync({"verify"});
  EXPECT_EQ(rows.exit_code, 3) << rows.Describe();
  EXPECT_NE(rows.out.find("DIFFERENT"), std::string::npos) << rows.out;
  CommandResult diff = Stagesync({"verify", "--checksum"});
  EXPECT_EQ(diff.exit_code, 3) << diff.Describe();
  EXPECT_NE(diff.out.find("differs at (id=7000) in v: 'v7000' vs 'drift'"), std::string::npos)
      << diff.out;
  EXPECT_NE(diff.out.find("only on the source: (id=11999)"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("only on the target: (k=zz)"), std::string::npos) << diff.out;
  CommandResult json = Stagesync({"verify", "--checksum", "--json"});
  EXPECT_EQ(json.exit_code, 3);
  EXPECT_EQ(json.out.rfind("{\"equal\":false,\"tables\":[", 0), 0u) << json.out;
  EXPECT_NE(json.out.find("\"checksum\":\"different\""), std::string::npos) << json.out;
}

}  // namespace
}  // namespace stagesync::testing
