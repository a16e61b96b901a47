// `cutover` between PostgreSQL servers: a switch under a live application load leaves the
// target equal to the source with its sequences ahead and production refusing writes; each
// failure (lag, drain, verify, checks, switch) leaves production writable and the target's
// sequences as they were.
#include <csignal>
#include <filesystem>
#include <mutex>
#include <pqxx/pqxx>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

// The application: inserts through its own role until stopped, reconnecting after errors,
// and remembers the last error (a fenced production answers "read-only transaction").
class AppLoad {
 public:
  explicit AppLoad(std::string dsn) : dsn_(std::move(dsn)) {
    thread_ = std::thread([this] {
      std::unique_ptr<pqxx::connection> conn;
      while (!stop_) {
        try {
          if (!conn) conn = std::make_unique<pqxx::connection>(dsn_);
          pqxx::work tx(*conn);
          tx.exec0(
              "INSERT INTO accounts (v, note) SELECT g, 'n' || g FROM generate_series(1, 3) g");
          tx.exec("SELECT nextval('free_seq')");
          tx.commit();
          ++committed_;
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex_);
          if (first_error_.empty()) first_error_ = e.what();
          last_error_ = e.what();
          conn.reset();
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~AppLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int committed() const { return committed_; }
  std::string first_error() {
    std::lock_guard lock(mutex_);
    return first_error_;
  }
  std::string last_error() {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

 private:
  std::string dsn_;
  std::atomic<bool> stop_{false};
  std::atomic<int> committed_{0};
  std::mutex mutex_;
  std::string first_error_, last_error_;
  std::thread thread_;
};

class CutoverTest : public SyncTest {
 protected:
  void SetUp() override {
    SyncTest::SetUp();
    source().Exec("postgres",
                  "DO $$ BEGIN CREATE ROLE app LOGIN; EXCEPTION WHEN duplicate_object THEN "
                  "NULL; END $$");
    OnBoth("CREATE TABLE accounts (id serial PRIMARY KEY, v int, note text)");
    OnBoth("CREATE SEQUENCE free_seq");
    OnSource(
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO app; GRANT ALL ON ALL SEQUENCES IN "
        "SCHEMA public TO app");
  }
  void TearDown() override {
    // The fence is database-wide: lift it so the slot can be dropped.
    source().Exec("postgres", "ALTER DATABASE " + db_ + " RESET default_transaction_read_only");
    SyncTest::TearDown();
  }

  std::string AppDsn() const { return source().dsn(db_) + " user=app"; }
  // Whether the application can write on production now (a new session).
  std::string AppWrite() const {
    try {
      pqxx::connection conn(AppDsn());
      pqxx::work tx(conn);
      tx.exec0("INSERT INTO accounts (v, note) VALUES (-1, 'probe')");
      tx.commit();
      return "ok";
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  int64_t Value(const PgCluster& cluster, const std::string& sql) const {
    return std::stoll(cluster.QueryValue(db_, sql).value_or("-1"));
  }
  std::string TargetSequences() const {
    return target()
        .QueryValue(db_,
                    "SELECT (SELECT last_value FROM accounts_id_seq) || '/' || "
                    "(SELECT last_value FROM free_seq)")
        .value_or("");
  }
  // Runs `cutover --json` and parses the report.
  std::map<std::string, JsonValue> Cutover(const std::vector<std::string>& extra,
                                           CommandResult* result) {
    std::vector<std::string> args = {"cutover", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    *result = Stagesync(args, 120s);
    auto json = ParseJsonObject(result->out);
    EXPECT_TRUE(json) << result->Describe();
    return json.value_or(std::map<std::string, JsonValue>{});
  }
  void StartAndCatchUp() {
    SetupOrFail();
    StartRun();
    OnSource("INSERT INTO accounts (v, note) SELECT g, 'seed' FROM generate_series(1, 500) g");
    OnSource("SELECT nextval('free_seq') FROM generate_series(1, 40)");
    ASSERT_TRUE(Converges({{"accounts", "id"}}));
    ASSERT_TRUE(CaughtUp());
  }
  // After a failed cutover: production takes writes, the target's sequences are untouched.
  void ExpectUndone(const std::string& sequences_before) {
    EXPECT_EQ(AppWrite(), "ok");
    EXPECT_EQ(TargetSequences(), sequences_before);
  }
};

TEST_F(CutoverTest, under_load_switches_with_target_equal_and_sequences_ahead) {
  OnTarget("CREATE TABLE um_domain (id int PRIMARY KEY)");  // the new release's table
  const std::string switched = ScratchDir() + "/" + db_ + ".switched";
  spec_.extra_toml =
      "[cutover]\nmax_lag = \"2s\"\nverify = \"checksum\"\nfence_roles = [\"app\"]\n"
      "checks = [\"SELECT count(*) = 1 FROM information_schema.tables WHERE "
      "table_name = 'um_domain'\"]\nswitch_command = \"echo switched > " +
      switched + "\"\n";
  StartAndCatchUp();
  AppLoad app(AppDsn());
  std::this_thread::sleep_for(1500ms);

  CommandResult result;
  auto report = Cutover({}, &result);
  ASSERT_EQ(result.exit_code, 0) << result.Describe() << RunLog();
  EXPECT_EQ(report["state"].text, "done");
  ASSERT_EQ(report["downtime_seconds"].kind, JsonValue::Kind::kNumber) << result.out;
  EXPECT_GT(report["downtime_seconds"].number(), 0);
  EXPECT_NE(report["steps"].text.find("1 checks passed"), std::string::npos) << result.out;
  EXPECT_EQ(ReadFile(switched), "switched\n");

  // Everything committed before the fence is on the target already: no waiting here.
  EXPECT_EQ(TableDigest(source(), db_, "accounts", "id"),
            TableDigest(target(), db_, "accounts", "id"));
  EXPECT_GT(app.committed(), 10) << app.first_error();
  EXPECT_NE(AppWrite().find("read-only transaction"), std::string::npos);
  app.Stop();
  EXPECT_NE(app.last_error().find("read-only"), std::string::npos) << app.last_error();
  EXPECT_GE(Value(target(), "SELECT last_value FROM accounts_id_seq"),
            Value(source(), "SELECT last_value FROM accounts_id_seq"));
  EXPECT_GE(Value(target(), "SELECT last_value FROM free_seq"),
            Value(source(), "SELECT last_value FROM free_seq"));
  StatusResult status = Status();
  ASSERT_TRUE(status.json) << status.command.Describe();
  EXPECT_EQ((*status.json)["state"].text, "cutover_done");

  // Production stays fenced after the switch; teardown still removes what setup made there,
  // and a second teardown finds nothing left to do.
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  CommandResult teardown = Stagesync({"teardown"});
  EXPECT_EQ(teardown.exit_code, 0) << teardown.Describe();
  EXPECT_EQ(
      Value(source(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + db_ + "'"),
      0);
  EXPECT_EQ(Value(source(), "SELECT count(*) FROM pg_namespace WHERE nspname = 'stagesync'"), 0);
  CommandResult again = Stagesync({"teardown"});
  EXPECT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_NE(AppWrite().find("read-only transaction"), std::string::npos)
      << "teardown must leave the fence as it is";
}

TEST_F(CutoverTest, lag_never_low_enough_fails_at_the_gate_without_fencing) {
  StartAndCatchUp();
  const std::string before = TargetSequences();
  // Apply is stuck behind a lock on the target while the source moves on.
  pqxx::connection locker(target().dsn(db_));
  pqxx::work lock(locker);
  lock.exec0("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
  OnSource("INSERT INTO accounts (v) SELECT generate_series(1, 10)");
  std::this_thread::sleep_for(1500ms);
  CommandResult result;
  auto report = Cutover({"--max-lag", "500ms", "--timeout", "3s"}, &result);
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_EQ(report["failed_step"].text, "gate");
  EXPECT_NE(report["error"].text.find("max_lag"), std::string::npos) << result.out;
  lock.abort();
  ExpectUndone(before);
}

TEST_F(CutoverTest, marker_not_applied_in_time_unfences_with_the_command) {
  StartAndCatchUp();
  const std::string before = TargetSequences();
  // The fence "command" freezes `run`, so the marker cannot arrive; unfencing thaws it.
  const std::string pid = std::to_string(run_->pid());
  spec_.extra_toml = "[cutover]\nfence = \"command\"\nfence_command = \"kill -STOP " + pid +
                     "\"\nunfence_command = \"kill -CONT " + pid + "\"\ndrain_timeout = \"2s\"\n";
  WriteConfig();
  CommandResult result;
  auto report = Cutover({}, &result);
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_EQ(report["failed_step"].text, "marker");
  EXPECT_EQ(report["unfenced"].text, "unfence_command done");
  ExpectUndone(before);
  OnSource("INSERT INTO accounts (v) VALUES (7)");
  EXPECT_TRUE(Converges({{"accounts", "id"}})) << "run did not resume after the unfence";
}

TEST_F(CutoverTest, verify_mismatch_unfences_and_restores_the_sequences) {
  StartAndCatchUp();
  OnTarget("INSERT INTO accounts (id, v) VALUES (100000, 1)");  // staging drifted
  OnSource("SELECT setval('accounts_id_seq', 5000)");
  const std::string before = TargetSequences();
  CommandResult result;
  auto report = Cutover({}, &result);
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_EQ(report["failed_step"].text, "verify");
  EXPECT_NE(report["error"].text.find("public.accounts"), std::string::npos) << result.out;
  EXPECT_NE(report["steps"].text.find("accounts_id_seq"), std::string::npos) << result.out;
  EXPECT_NE(report["unfenced"].text.find("writable again"), std::string::npos) << result.out;
  ExpectUndone(before);
}

TEST_F(CutoverTest, a_failing_check_stops_before_the_switch) {
  const std::string switched = ScratchDir() + "/" + db_ + ".never";
  spec_.extra_toml =
      "[cutover]\nchecks = [\"SELECT count(*) = 1 FROM information_schema.tables WHERE "
      "table_name = 'um_system_user'\"]\nswitch_command = \"touch " +
      switched + "\"\n";
  StartAndCatchUp();
  const std::string before = TargetSequences();
  CommandResult result;
  auto report = Cutover({}, &result);
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_EQ(report["failed_step"].text, "verify");
  EXPECT_NE(report["error"].text.find("um_system_user"), std::string::npos) << result.out;
  EXPECT_FALSE(std::filesystem::exists(switched));
  ExpectUndone(before);
}

TEST_F(CutoverTest, a_failing_switch_command_unfences) {
  spec_.extra_toml = "[cutover]\nswitch_command = \"exit 7\"\n";
  StartAndCatchUp();
  OnSource("SELECT setval('free_seq', 900)");
  const std::string before = TargetSequences();
  CommandResult result;
  auto report = Cutover({}, &result);
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_EQ(report["failed_step"].text, "switch");
  EXPECT_NE(report["error"].text.find("exited with 7"), std::string::npos) << result.out;
  ExpectUndone(before);
  StatusResult status = Status();
  ASSERT_TRUE(status.json);
  EXPECT_EQ((*status.json)["state"].text, "streaming");
}

TEST_F(CutoverTest, dry_run_does_not_fence_or_switch) {
  const std::string switched = ScratchDir() + "/" + db_ + ".dry";
  spec_.extra_toml = "[cutover]\nswitch_command = \"touch " + switched + "\"\n";
  StartAndCatchUp();
  CommandResult result;
  auto report = Cutover({"--dry-run"}, &result);
  EXPECT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(report["state"].text, "dry_run_done");
  EXPECT_NE(report["steps"].text.find("skipped (dry run)"), std::string::npos) << result.out;
  EXPECT_FALSE(std::filesystem::exists(switched));
  EXPECT_EQ(AppWrite(), "ok");
}

TEST_F(CutoverTest, without_a_running_sync_it_refuses_before_fencing) {
  SetupOrFail();
  CommandResult result = Stagesync({"cutover"});
  EXPECT_EQ(result.exit_code, 2) << result.Describe();
  EXPECT_NE(result.err.find("start it"), std::string::npos) << result.err;
  EXPECT_EQ(AppWrite(), "ok");
}

}  // namespace
}  // namespace stagesync::testing
