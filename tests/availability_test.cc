// A source server restarting under load is ridden out like a target outage: `run` keeps
// going, says why the stream ended, and reconnects promptly every time (the backoff starts
// afresh after each successful reconnect).
#include <regex>
#include <thread>

#include "engine_fixture.h"

namespace stagesync::testing {
namespace {

using namespace std::chrono_literals;

class AvailabilityTest : public EngineSyncTest {
 public:
  static void SetUpTestSuite() {
    mariadb_ = std::make_unique<MariaDbServer>();
    pg_source_ = std::make_unique<PgCluster>();
    pg_target_ = std::make_unique<PgCluster>();
  }
  static void TearDownTestSuite() {
    mariadb_.reset();
    pg_source_.reset();
    pg_target_.reset();
  }

 protected:
  // The longest "retrying in N s" wait in run's log.
  int LongestRetryWait() const {
    static const std::regex wait("retrying in ([0-9]+) s");
    int longest = 0;
    std::string log = RunLog();
    for (std::sregex_iterator it(log.begin(), log.end(), wait), end; it != end; ++it)
      longest = std::max(longest, std::stoi((*it)[1]));
    return longest;
  }

  static std::unique_ptr<MariaDbServer> mariadb_;
  static std::unique_ptr<PgCluster> pg_source_, pg_target_;
};
std::unique_ptr<MariaDbServer> AvailabilityTest::mariadb_;
std::unique_ptr<PgCluster> AvailabilityTest::pg_source_, AvailabilityTest::pg_target_;

// Issue 11, items 1 and 2: MariaDB restarting under load (run died on the first one with
// "apply failed: Expected 0 row(s) of data from query"); four restarts in a row never push
// the wait before reconnecting past a few seconds.
TEST_F(AvailabilityTest, mariadb_source_restarts_under_load_are_ridden_out) {
  Prepare({nullptr, mariadb_.get()}, {pg_target_.get(), nullptr}, "av_");
  spec_.extra_toml = "[mapping]\n\"" + db_ + ".*\" = { table = \"public.*\" }\n";
  OnSource("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY, v text)");
  SetupOrFail();
  StartRun();
  SourceWorkload load(source_, db_, [](int i) {
    return "INSERT INTO t VALUES (" + std::to_string(i) + ", 'v" + std::to_string(i) +
           "'); UPDATE t SET v = CONCAT(v, '+') WHERE id = " + std::to_string(i / 2);
  });
  for (int round = 0; round < 4; ++round) {
    std::this_thread::sleep_for(1500ms);
    mariadb_->Restart(500ms);
    ASSERT_TRUE(run_->Running()) << "run exited on a source restart\n" << RunLog();
  }
  std::this_thread::sleep_for(1500ms);
  load.Stop();
  EXPECT_GT(load.committed(), 20);
  EXPECT_TRUE(Converges("SELECT id, v FROM t ORDER BY id", "SELECT id, v FROM t ORDER BY id"));
  EXPECT_TRUE(run_->Running()) << RunLog();
  EXPECT_LE(LongestRetryWait(), 4) << "the backoff did not start afresh\n" << RunLog();
}

// Issue 11, item 2: a PostgreSQL source restarting ends the stream with a reason, and run
// rides it out.
TEST_F(AvailabilityTest, postgres_source_restart_is_ridden_out_with_a_reason) {
  Prepare({pg_source_.get(), nullptr}, {pg_target_.get(), nullptr}, "av_");
  OnSource("CREATE TABLE t (id int PRIMARY KEY, v text)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY, v text)");
  SetupOrFail();
  StartRun();
  SourceWorkload load(source_, db_, [](int i) {
    return "INSERT INTO t VALUES (" + std::to_string(i) + ", 'v') ON CONFLICT DO NOTHING";
  });
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(1500ms);
    pg_source_->Restart(500ms);
    ASSERT_TRUE(run_->Running()) << "run exited on a source restart\n" << RunLog();
  }
  std::this_thread::sleep_for(1500ms);
  load.Stop();
  EXPECT_TRUE(Converges("SELECT id, v FROM t ORDER BY id", "SELECT id, v FROM t ORDER BY id"));
  EXPECT_TRUE(run_->Running()) << RunLog();
  EXPECT_EQ(RunLog().find("replication stream: ;"), std::string::npos) << RunLog();
  EXPECT_FALSE(std::regex_search(RunLog(), std::regex("stream: +retrying"))) << RunLog();
  EXPECT_LE(LongestRetryWait(), 4) << RunLog();
}

}  // namespace
}  // namespace stagesync::testing
