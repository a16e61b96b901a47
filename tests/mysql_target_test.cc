// MySQL/MariaDB as the target: PostgreSQL → MariaDB and MariaDB → MariaDB, values by the
// documented type map, kill -9 under a workload, key moves, deletes, TRUNCATE, and values
// MySQL cannot hold stopping with the value named.
#include <signal.h>

#include <atomic>
#include <cctype>
#include <random>
#include <thread>

#include "mariadb_server.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

std::string Joined(const Rows& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "\t" : "") + row[i].value_or("<NULL>");
    out += "\n";
  }
  return out;
}

// One source server (PostgreSQL or MariaDB) and a MariaDB target, shared by a suite.
class MysqlTargetTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (!pg_) pg_ = std::make_unique<PgCluster>();
    if (!my_source_) my_source_ = std::make_unique<MariaDbServer>();
    if (!target_) target_ = std::make_unique<MariaDbServer>();
  }
  static void TearDownTestSuite() {
    pg_.reset();
    my_source_.reset();
    target_.reset();
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(pg_ && my_source_ && target_);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    db_ = "t_";
    for (char c : std::string(info->name())) {
      db_ += std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
    }
    if (db_.size() > 40) db_ = db_.substr(0, 40);
    target_->CreateDatabase(db_);
    spec_ = SyncConfigSpec{};
    spec_.target_kind = "mysql";
    spec_.target_dsn = target_->dsn(db_);
    spec_.slot = db_;
    spec_.monitor_listen = "127.0.0.1:" + std::to_string(FreeTcpPort());
    config_path_ = ScratchDir() + "/" + db_ + ".toml";
  }
  void FromPostgres() {
    mysql_source_ = false;
    pg_->CreateDatabase(db_);
    spec_.source_kind = "postgres";
    spec_.source_dsn = pg_->dsn(db_);
    spec_.publication = db_;
    spec_.tables = {"public.*"};
  }
  void FromMariaDb() {
    mysql_source_ = true;
    my_source_->CreateDatabase(db_);
    spec_.source_kind = "mysql";
    spec_.source_dsn = my_source_->dsn(db_);
    spec_.server_id = std::to_string(6000 + ++tests_);
    spec_.tables = {db_ + ".*"};
  }

  void TearDown() override {
    if (run_ && run_->Running()) {
      run_->Signal(SIGTERM);
      if (!run_->Wait(15s)) run_->Kill();
    }
    if (HasFailure() && run_) std::cerr << "[harness] run stderr: " << run_->stderr_path() << "\n";
    run_.reset();
    if (!mysql_source_) {
      try {
        pg_->Exec("postgres",
                  "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
                  "database = '" +
                      db_ + "' AND active_pid IS NOT NULL");
        pg_->Exec("postgres",
                  "SELECT pg_drop_replication_slot(slot_name) FROM "
                  "pg_replication_slots WHERE database = '" +
                      db_ + "'");
      } catch (const std::exception&) {
      }
    }
  }

  void OnSource(const std::string& sql) const {
    if (mysql_source_) {
      my_source_->Exec(db_, sql);
    } else {
      pg_->Exec(db_, sql);
    }
  }
  Rows SourceQuery(const std::string& sql) const {
    return mysql_source_ ? my_source_->Query(db_, sql) : pg_->Query(db_, sql);
  }
  void OnTarget(const std::string& sql) const { target_->Exec(db_, sql); }

  CommandResult Stagesync(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {StagesyncBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("-c");
    argv.push_back(config_path_);
    return RunCommand(argv, "stagesync-" + args[0], 60s);
  }
  void SetupOrFail() {
    WriteConfig(config_path_, spec_);
    CommandResult r = Stagesync({"setup"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  void StartRun() {
    if (run_ && run_->Running()) run_->Kill();
    run_ = std::make_unique<Process>(
        std::vector<std::string>{StagesyncBinary(), "run", "-c", config_path_}, "run-" + db_);
  }
  std::string RunLog() const { return run_ ? run_->Stderr() : ""; }

  ::testing::AssertionResult Converges(const std::string& source_query,
                                       const std::string& target_query,
                                       std::chrono::milliseconds timeout = 90s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string want, got;
    while (std::chrono::steady_clock::now() < deadline) {
      want = Joined(SourceQuery(source_query));
      got = Joined(target_->Query(db_, target_query));
      if (want == got) return ::testing::AssertionSuccess();
      if (run_ && !run_->Running()) break;
      std::this_thread::sleep_for(200ms);
    }
    auto cut = [](const std::string& s) { return s.size() > 3000 ? s.substr(0, 3000) + "..." : s; };
    return ::testing::AssertionFailure() << "source:\n"
                                         << cut(want) << "target:\n"
                                         << cut(got) << "run log:\n"
                                         << RunLog();
  }

  static std::unique_ptr<PgCluster> pg_;
  static std::unique_ptr<MariaDbServer> my_source_;
  static std::unique_ptr<MariaDbServer> target_;
  static int tests_;
  bool mysql_source_ = false;
  std::string db_;
  SyncConfigSpec spec_;
  std::string config_path_;
  std::unique_ptr<Process> run_;
};

std::unique_ptr<PgCluster> MysqlTargetTest::pg_;
std::unique_ptr<MariaDbServer> MysqlTargetTest::my_source_;
std::unique_ptr<MariaDbServer> MysqlTargetTest::target_;
int MysqlTargetTest::tests_ = 0;

TEST_F(MysqlTargetTest, postgres_values_by_the_type_map) {
  FromPostgres();
  OnSource(
      "CREATE TABLE \"UM_USER\" (id int PRIMARY KEY, small int2, big int8, dec numeric(40,12), "
      "f8 float8, f4 float4, flag boolean, name text, bin bytea, born date, t time(6), "
      "ts timestamp(6), tstz timestamptz(6), doc jsonb, u uuid, bits bit(5), empty text)");
  OnTarget(
      "CREATE TABLE UM_USER (ID INT PRIMARY KEY, SMALL SMALLINT, BIG BIGINT, `DEC` "
      "DECIMAL(40,12), F8 DOUBLE, F4 FLOAT, FLAG TINYINT(1), NAME TEXT, BIN BLOB, BORN DATE, "
      "T TIME(6), TS DATETIME(6), TSTZ DATETIME(6), DOC JSON, U CHAR(36), BITS BIT(5), "
      "EMPTY VARCHAR(10), MIGRATED_DEFAULT INT DEFAULT 42)");
  SetupOrFail();
  StartRun();
  OnSource(
      "INSERT INTO \"UM_USER\" VALUES (1, -32768, 9223372036854775807, "
      "'-1234567890123456789012345678.123456789012', 0.1::float8 + 0.2::float8, 1.5, true, "
      "E'tab\\there\\nquote '' backslash \\\\ 😀', '\\x00ff10', '2024-02-29', '23:59:59.999999', "
      "'2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+02', '{\"a\": [1, 2]}', "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', B'10101', '')");
  OnSource("INSERT INTO \"UM_USER\" (id) VALUES (2)");
  const std::string want =
      "1\t-32768\t9223372036854775807\t-1234567890123456789012345678.123456789012\t"
      "1\t1.5\t1\ttab\there\nquote ' backslash \\ 😀\t\\x00ff10\t2024-02-29\t"
      "23:59:59.999999\t2024-01-02 03:04:05.123456\t2024-01-02 01:04:05.500000\t"
      "{\"a\": [1, 2]}\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t10101\t\t42\n"
      "2\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t"
      "<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t<NULL>\t42\n";
  std::string got;
  for (int i = 0; i < 300; ++i) {
    got = Joined(target_->Query(
        db_,
        "SELECT ID, SMALL, BIG, `DEC`, F8 = 0.30000000000000004e0, F4, FLAG, NAME, CONCAT('\\\\x', "
        "LOWER(HEX(BIN))), "
        "BORN, T, TS, TSTZ, DOC, U, BIN(BITS + 0), EMPTY, MIGRATED_DEFAULT FROM UM_USER ORDER "
        "BY ID"));
    if (got == want) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(got, want) << RunLog();
}

TEST_F(MysqlTargetTest, postgres_workload_kill9_key_moves_and_truncate) {
  FromPostgres();
  OnSource(
      "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance "
      "numeric(20,6) NOT NULL)");
  OnSource("CREATE TABLE log (id bigint PRIMARY KEY, msg text)");
  OnTarget(
      "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(64) NOT NULL, balance "
      "DECIMAL(20,6) NOT NULL)");
  OnTarget("CREATE TABLE log (id BIGINT PRIMARY KEY, msg TEXT)");
  // Staging starts as a copy of production.
  OnSource("INSERT INTO accounts SELECT i, 'o' || i, i * 1.5 FROM generate_series(1, 300) i");
  OnTarget("INSERT INTO accounts SELECT seq, CONCAT('o', seq), seq * 1.5 FROM seq_1_to_300");
  SetupOrFail();
  StartRun();
  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::thread workload([&] {
    std::mt19937 rng(3);
    int log_id = 0;
    while (!stop) {
      int a = 1 + rng() % 600, b = 1 + rng() % 600, c = 1 + rng() % 600;
      std::string sql =
          "BEGIN; INSERT INTO accounts VALUES (" + std::to_string(a) +
          ", 'w', 1) ON CONFLICT "
          "(id) DO UPDATE SET balance = accounts.balance + 1.000001; UPDATE accounts SET "
          "balance = balance - 0.25 WHERE id = " +
          std::to_string(b) + "; DELETE FROM accounts WHERE id = " + std::to_string(c) +
          " AND balance < 2; INSERT INTO log VALUES (" + std::to_string(++log_id) +
          ", 'tx'); COMMIT";
      try {
        pg_->Exec(db_, sql);
        committed++;
      } catch (const std::exception&) {
      }
    }
  });
  std::mt19937 rng(5);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + rng() % 1000));
    run_->Kill();
    StartRun();
  }
  stop = true;
  workload.join();
  EXPECT_GT(committed.load(), 50);
  // A key that moves, and a TRUNCATE, inside one source transaction.
  OnSource(
      "BEGIN; UPDATE accounts SET id = id + 10000 WHERE id <= 5; TRUNCATE log; "
      "INSERT INTO log VALUES (1, 'after truncate'); COMMIT");
  EXPECT_TRUE(Converges("SELECT id, owner, balance::text FROM accounts ORDER BY id",
                        "SELECT id, owner, CAST(balance AS CHAR) FROM accounts ORDER BY id"));
  EXPECT_TRUE(
      Converges("SELECT id, msg FROM log ORDER BY id", "SELECT id, msg FROM log ORDER BY id"));
}

TEST_F(MysqlTargetTest, nan_stops_naming_table_key_and_value) {
  FromPostgres();
  OnSource("CREATE TABLE m (id int PRIMARY KEY, v float8)");
  OnTarget("CREATE TABLE m (id INT PRIMARY KEY, v DOUBLE)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO m VALUES (1, 1.5)");
  ASSERT_TRUE(Converges("SELECT id, v FROM m", "SELECT id, v FROM m"));
  OnSource("INSERT INTO m VALUES (2, 'NaN')");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << RunLog();
  EXPECT_NE(*code, 0);
  EXPECT_NE(RunLog().find("m key (id=2)"), std::string::npos) << RunLog();
  EXPECT_NE(RunLog().find("NaN"), std::string::npos) << RunLog();
  EXPECT_EQ(target_->QueryValue(db_, "SELECT COUNT(*) FROM m"), "1");
}

TEST_F(MysqlTargetTest, mariadb_to_mariadb_types_and_kill9) {
  FromMariaDb();
  const std::string ddl =
      "CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, i INT, d DECIMAL(65,30), f FLOAT, "
      "g DOUBLE, b BIT(10), s VARCHAR(100), l VARCHAR(20) CHARACTER SET latin1, "
      "bin VARBINARY(20), fixed BINARY(4), dt DATETIME(6), tm TIME(3), ts TIMESTAMP(6) NULL "
      "DEFAULT NULL, y YEAR, e ENUM('x','y'), st SET('p','q'), j JSON)";
  OnSource(ddl);
  OnTarget(ddl);
  SetupOrFail();
  StartRun();
  OnSource(
      "INSERT INTO t VALUES (18446744073709551615, -2147483648, "
      "'-12345678901234567890123456789012345.123456789012345678901234567890', 1.25, "
      "0.30000000000000004, b'1000000001', 'ünï 😀 \\'q\\'', 'café', x'00ff', x'01', "
      "'2024-02-29 23:59:59.999999', '-838:59:59.999', '2038-01-19 03:14:07.999999', 2155, "
      "'y', 'p,q', '[1, {\"a\": null}]'), (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  // MySQL's zero dates stay what they are between MySQL servers.
  OnSource(
      "SET SESSION sql_mode = ''; INSERT INTO t (id, dt, ts) VALUES (0, '0000-00-00 00:00:00', "
      "'0000-00-00 00:00:00')");
  std::atomic<bool> stop{false};
  std::thread workload([&] {
    std::mt19937 rng(9);
    while (!stop) {
      int a = 2 + rng() % 300;
      try {
        my_source_->Exec(db_, "START TRANSACTION; INSERT INTO t (id, i, s, dt) VALUES (" +
                                  std::to_string(a) +
                                  ", 1, 'w', NOW(6)) ON DUPLICATE KEY UPDATE "
                                  "i = i + 1; DELETE FROM t WHERE id = " +
                                  std::to_string(2 + rng() % 300) + " AND i > 3; COMMIT");
      } catch (const std::exception&) {
      }
    }
  });
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(1s);
    run_->Kill();
    StartRun();
  }
  stop = true;
  workload.join();
  const std::string all =
      "SELECT id, i, d, f, g, BIN(b + 0), s, l, HEX(bin), HEX(fixed), dt, tm, ts, y, e, st, j "
      "FROM t ORDER BY id";
  EXPECT_TRUE(Converges(all, all));
}

}  // namespace
}  // namespace stagesync::testing
