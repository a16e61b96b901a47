// MariaDB → PostgreSQL: the binlog's QUERY events as clients write them. A TRUNCATE behind a
// comment, or naming a table beyond ASCII, empties the target table; a transaction with
// savepoints reaches the target as one transaction.
#include "engine_fixture.h"
#include "status_json.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

class MysqlQueryEventsTest : public EngineSyncTest {
 public:
  static void SetUpTestSuite() {
    if (!mariadb_) mariadb_ = std::make_unique<MariaDbServer>();
    if (!pg_) pg_ = std::make_unique<PgCluster>();
  }
  static void TearDownTestSuite() {
    mariadb_.reset();
    pg_.reset();
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(mariadb_ && pg_);
    Prepare({nullptr, mariadb_.get()}, {pg_.get(), nullptr}, "q_");
    spec_.extra_toml = "[mapping]\n\"" + db_ + ".*\" = { table = \"public.*\" }\n";
  }

  // transactions_applied from `status --json`; -1 if unreadable.
  double TransactionsApplied() const {
    auto json = ParseJsonObject(Stagesync({"status", "--json"}).out);
    if (!json || !json->count("transactions_applied")) return -1;
    return json->at("transactions_applied").number();
  }

  static std::unique_ptr<MariaDbServer> mariadb_;
  static std::unique_ptr<PgCluster> pg_;
};

std::unique_ptr<MariaDbServer> MysqlQueryEventsTest::mariadb_;
std::unique_ptr<PgCluster> MysqlQueryEventsTest::pg_;

TEST_F(MysqlQueryEventsTest, truncate_behind_a_comment_or_of_a_non_ascii_name_empties_the_target) {
  OnSource("CREATE TABLE t (id INT PRIMARY KEY); CREATE TABLE `Täble` (id INT PRIMARY KEY)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE \"Täble\" (id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO t VALUES (1), (2); INSERT INTO `Täble` VALUES (1), (2)");
  ASSERT_TRUE(Converges("SELECT count(*) FROM t", "SELECT count(*) FROM t"));
  ASSERT_TRUE(Converges("SELECT count(*) FROM `Täble`", "SELECT count(*) FROM \"Täble\""));
  // Read as table "T" before, which the case-insensitive selection paired with t.
  OnSource("TRUNCATE Täble");
  OnSource("INSERT INTO `Täble` VALUES (3)");
  ASSERT_TRUE(
      Converges("SELECT id FROM `Täble` ORDER BY id", "SELECT id FROM \"Täble\" ORDER BY id"))
      << RunLog();
  ASSERT_TRUE(Converges("SELECT id FROM t ORDER BY id", "SELECT id FROM t ORDER BY id"));
  OnSource("/* app=orm */ TRUNCATE /* all of it */ TABLE t");
  OnSource("INSERT INTO t VALUES (7)");
  EXPECT_TRUE(Converges("SELECT id FROM t ORDER BY id", "SELECT id FROM t ORDER BY id"))
      << RunLog();
}

TEST_F(MysqlQueryEventsTest, a_transaction_with_savepoints_is_applied_as_one) {
  OnSource("CREATE TABLE t (id INT PRIMARY KEY)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO t VALUES (1)");
  ASSERT_TRUE(Converges("SELECT id FROM t ORDER BY id", "SELECT id FROM t ORDER BY id"));
  const double before = TransactionsApplied();
  ASSERT_GE(before, 1);
  // The binlog holds both SAVEPOINTs among the rows; rolling back to one (InnoDB only) cuts
  // its rows from the binlog.
  OnSource(
      "BEGIN; INSERT INTO t VALUES (10); SAVEPOINT a; INSERT INTO t VALUES (11); "
      "RELEASE SAVEPOINT a; SAVEPOINT b; INSERT INTO t VALUES (12); ROLLBACK TO SAVEPOINT b; "
      "INSERT INTO t VALUES (13); COMMIT");
  ASSERT_TRUE(Converges("SELECT id FROM t ORDER BY id", "SELECT id FROM t ORDER BY id"))
      << RunLog();
  EXPECT_EQ(TransactionsApplied(), before + 1) << "one source transaction";
}

}  // namespace
}  // namespace stagesync::testing
