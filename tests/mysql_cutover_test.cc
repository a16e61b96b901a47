// `cutover` with MariaDB on either side: read_only as the fence, the marker through the binlog,
// AUTO_INCREMENT carried to a PostgreSQL sequence and a sequence to AUTO_INCREMENT, and a
// failed switch leaving production writable with the target's AUTO_INCREMENT as it was.
#include <atomic>
#include <thread>

#include "engine_fixture.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

class MysqlCutoverTest : public EngineSyncTest {
 public:
  static void SetUpTestSuite() {
    if (!production_) production_ = std::make_unique<MariaDbServer>();
    if (!mariadb_) mariadb_ = std::make_unique<MariaDbServer>();
    if (!pg_) pg_ = std::make_unique<PgCluster>();
  }
  static void TearDownTestSuite() {
    production_.reset();
    mariadb_.reset();
    pg_.reset();
  }

 protected:
  void Start(ServerRef target, const std::string& target_table_sql,
             const std::string& cutover_toml) {
    Prepare({nullptr, production_.get()}, target, "c_");
    OnSource(
        "CREATE TABLE accounts (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT, note "
        "VARCHAR(20))");
    OnTarget(target_table_sql);
    production_->Exec("",
                      "CREATE USER IF NOT EXISTS app@'%'; GRANT ALL ON `" + db_ + "`.* TO app@'%'");
    spec_.extra_toml = "[cutover]\n" + cutover_toml;
    if (target.pg) spec_.extra_toml += "[mapping]\n\"" + db_ + ".*\" = { table = \"public.*\" }\n";
    SetupOrFail();
    StartRun();
    OnSource("INSERT INTO accounts (v, note) SELECT seq, 'seed' FROM seq_1_to_300");
    ASSERT_TRUE(Converges(kRows, kRows));
  }
  void TearDown() override {
    production_->Exec("", "SET GLOBAL read_only = OFF");
    EngineSyncTest::TearDown();
  }
  // A write by the application (not privileged to pass read_only): "ok" or the error.
  std::string AppWrite() const {
    try {
      production_->Exec(db_, "INSERT INTO accounts (v, note) VALUES (-1, 'probe')", "app");
      return "ok";
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  CommandResult Cutover() const { return Stagesync({"cutover", "--json"}); }

  static constexpr const char* kRows = "SELECT id, v, note FROM accounts ORDER BY id";
  static std::unique_ptr<MariaDbServer> production_;
  static std::unique_ptr<MariaDbServer> mariadb_;
  static std::unique_ptr<PgCluster> pg_;
};

std::unique_ptr<MariaDbServer> MysqlCutoverTest::production_;
std::unique_ptr<MariaDbServer> MysqlCutoverTest::mariadb_;
std::unique_ptr<PgCluster> MysqlCutoverTest::pg_;

TEST_F(MysqlCutoverTest, into_postgres_under_load_with_auto_increment_carried_over) {
  Start({pg_.get(), nullptr}, "CREATE TABLE accounts (id bigserial PRIMARY KEY, v int, note text)",
        "verify = \"checksum\"\n");  // every session but stagesync's is ended
  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::string last_error;
  std::thread app([&] {
    for (int i = 0; !stop; ++i) {
      std::string e = AppWrite();
      if (e == "ok") {
        ++committed;
      } else {
        last_error = e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CommandResult result = Cutover();
  stop = true;
  app.join();
  ASSERT_EQ(result.exit_code, 0) << result.Describe() << RunLog();
  auto report = ParseJsonObject(result.out);
  ASSERT_TRUE(report) << result.out;
  EXPECT_EQ((*report)["state"].text, "done");
  EXPECT_EQ((*report)["downtime_seconds"].kind, JsonValue::Kind::kNumber);
  EXPECT_GT(committed.load(), 10);
  EXPECT_NE(last_error.find("read-only"), std::string::npos) << last_error;
  EXPECT_NE(AppWrite().find("read-only"), std::string::npos);
  // The fence ended the application's sessions, not stagesync's (heartbeat, capture).
  EXPECT_EQ(RunLog().find("Lost connection"), std::string::npos) << RunLog();
  auto status = ParseJsonObject(Stagesync({"status", "--json"}).out);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["state"].text, "cutover_done");
  EXPECT_EQ((*status)["run_alive"].text, "true");
  // Drained: the target has every row now, without waiting.
  EXPECT_EQ(JoinedRows(source_.Query(db_, kRows)), JoinedRows(target_.Query(db_, kRows)));
  int64_t next = std::stoll(production_
                                ->QueryValue("information_schema",
                                             "SELECT AUTO_INCREMENT FROM TABLES WHERE "
                                             "TABLE_SCHEMA = '" +
                                                 db_ + "' AND TABLE_NAME = 'accounts'")
                                .value_or("0"));
  EXPECT_GE(std::stoll(pg_->QueryValue(db_, "SELECT last_value FROM accounts_id_seq").value()),
            next - 1);
}

TEST_F(MysqlCutoverTest, a_failed_switch_lifts_read_only_and_restores_auto_increment) {
  Start({nullptr, mariadb_.get()},
        "CREATE TABLE accounts (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT, note VARCHAR(20))",
        "switch_command = \"exit 3\"\nfence_roles = [\"app\"]\n");
  OnSource("ALTER TABLE accounts AUTO_INCREMENT = 5000");
  const std::string ai =
      "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
      "TABLE_NAME = 'accounts'";
  const std::string before = mariadb_->QueryValue(db_, ai).value_or("");
  CommandResult result = Cutover();
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  auto report = ParseJsonObject(result.out);
  ASSERT_TRUE(report) << result.out;
  EXPECT_EQ((*report)["failed_step"].text, "switch");
  EXPECT_NE((*report)["steps"].text.find("AUTO_INCREMENT"), std::string::npos) << result.out;
  EXPECT_NE((*report)["unfenced"].text.find("read_only = OFF again"), std::string::npos)
      << result.out;
  EXPECT_EQ(mariadb_->QueryValue(db_, ai).value_or(""), before);
  EXPECT_EQ(AppWrite(), "ok");
}

TEST_F(MysqlCutoverTest, from_postgres_carries_the_sequence_to_auto_increment) {
  Prepare({pg_.get(), nullptr}, {nullptr, mariadb_.get()}, "c_");
  OnSource("CREATE TABLE accounts (id bigserial PRIMARY KEY, v int, note text)");
  OnTarget("CREATE TABLE accounts (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT, note VARCHAR(20))");
  spec_.extra_toml = "[cutover]\nverify = \"checksum\"\n";
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO accounts (v, note) SELECT g, 'seed' FROM generate_series(1, 300) g");
  OnSource("SELECT setval('accounts_id_seq', 7000)");
  ASSERT_TRUE(Converges(kRows, kRows));
  CommandResult result = Cutover();
  pg_->Exec("postgres", "ALTER DATABASE " + db_ + " RESET default_transaction_read_only");
  ASSERT_EQ(result.exit_code, 0) << result.Describe() << RunLog();
  EXPECT_NE(result.out.find("AUTO_INCREMENT 301 -> 7001"), std::string::npos) << result.out;
  EXPECT_EQ(mariadb_
                ->QueryValue(db_,
                             "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE "
                             "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'accounts'")
                .value_or(""),
            "7001");
}

}  // namespace
}  // namespace stagesync::testing
