// MariaDB → PostgreSQL: setup checks, every MySQL type arriving exact, kill -9 under a
// workload, ALTER TABLE and binlog rotation mid-stream, status in file:pos.
#include <signal.h>

#include <atomic>
#include <cctype>
#include <random>
#include <thread>

#include "engine_fixture.h"
#include "stagesync/kafka.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

class MysqlSourceTest : public EngineSyncTest {
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
    Prepare({nullptr, mariadb_.get()}, {pg_.get(), nullptr}, "m_");
    // MySQL's database becomes PostgreSQL's public schema.
    spec_.extra_toml = "[mapping]\n\"" + db_ + ".*\" = { table = \"public.*\" }\n";
  }

  static std::unique_ptr<MariaDbServer> mariadb_;
  static std::unique_ptr<PgCluster> pg_;
};

std::unique_ptr<MariaDbServer> MysqlSourceTest::mariadb_;
std::unique_ptr<PgCluster> MysqlSourceTest::pg_;

TEST_F(MysqlSourceTest, every_type_arrives_exact) {
  OnSource(
      "CREATE TABLE types (id INT PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, "
      "siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, "
      "bi BIGINT, biu BIGINT UNSIGNED, dec65 DECIMAL(65,30), dneg DECIMAL(10,4), f FLOAT, "
      "d DOUBLE, b1 BIT(1), b12 BIT(12), flag TINYINT(1), c CHAR(5), vc VARCHAR(300), tx "
      "MEDIUMTEXT, "
      "l1 VARCHAR(20) CHARACTER SET latin1, l1c CHAR(3) CHARACTER SET latin1, bin BINARY(4), "
      "vbin VARBINARY(10), bl BLOB, dt DATE, tm TIME(6), tml TIME, dtm DATETIME(6), "
      "ts TIMESTAMP(3) NULL DEFAULT NULL, yr YEAR, e ENUM('small','medium','large'), "
      "st SET('a','b','c'), js JSON) ENGINE=InnoDB");
  OnTarget(
      "CREATE TABLE types (id int PRIMARY KEY, ti smallint, tiu smallint, si smallint, "
      "siu integer, mi integer, miu integer, i integer, iu bigint, bi bigint, biu numeric(20), "
      "dec65 numeric(65,30), dneg numeric(10,4), f real, d double precision, b1 bit(1), "
      "b12 bit(12), flag boolean, c text, vc varchar(300), tx text, l1 text, l1c text, "
      "bin bytea, vbin bytea, bl bytea, dt date, tm time(6), tml interval, dtm timestamp(6), "
      "ts timestamptz(3), yr smallint, e text, st text, js jsonb)");
  SetupOrFail();
  StartRun();
  const std::string long_text(300000, 'x');
  OnSource(
      "INSERT INTO types VALUES (1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, "
      "4294967295, 9223372036854775807, 18446744073709551615, "
      "'12345678901234567890123456789012345.123456789012345678901234567890', -123456.7891, "
      "1.5, 0.30000000000000004, b'1', b'101010101010', 1, 'ab', "
      "'tab\\there\\nnew \\'q\\' \\\\ 😀 ünï', '" +
      long_text +
      "', 'café €', 'é', x'0102', x'00ff00', x'deadbeef00', '2024-02-29', "
      "'23:59:59.999999', '838:59:59', '9999-12-31 23:59:59.999999', "
      "'2038-01-19 03:14:07.999', 2155, 'large', 'a,c', '{\"k\": [1, 2.5, \"x\"]}')");
  OnSource(
      "INSERT INTO types VALUES (2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, "
      "-9223372036854775808, 0, '-0.000000000000000000000000000001', 0, -1.25e-10, -1e308, "
      "b'0', b'000000000001', 0, '', '', '', '', '', x'', x'', x'', '1000-01-01', "
      "'00:00:00', '-838:59:59', '1000-01-01 00:00:00', '1970-01-01 00:00:01', 1901, "
      "'small', '', 'null')");
  OnSource("INSERT INTO types (id) VALUES (3)");
  OnSource("UPDATE types SET vc = 'updated', l1 = 'Ærø' WHERE id = 2");

  const std::string pg_select =
      "SELECT id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec65, dneg, f, d, b1, b12, flag, "
      "c, vc, length(tx), l1, l1c, bin, vbin, bl, dt, tm, tml, dtm, ts, yr, e, st, js "
      "FROM types ORDER BY id";
  auto deadline = std::chrono::steady_clock::now() + 60s;
  Rows rows;
  while (std::chrono::steady_clock::now() < deadline) {
    rows = pg_->Query(db_, pg_select);
    if (rows.size() == 3 && rows[1][19] == "updated") break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(rows.size(), 3u) << RunLog();
  const std::vector<std::string> want1 = {
      "1",
      "127",
      "255",
      "32767",
      "65535",
      "8388607",
      "16777215",
      "2147483647",
      "4294967295",
      "9223372036854775807",
      "18446744073709551615",
      "12345678901234567890123456789012345.123456789012345678901234567890",
      "-123456.7891",
      "1.5",
      "0.30000000000000004",
      "1",
      "101010101010",
      "t",
      "ab",
      "tab\there\nnew 'q' \\ 😀 ünï",
      "300000",
      "café €",
      "é",
      "\\x01020000",
      "\\x00ff00",
      "\\xdeadbeef00",
      "2024-02-29",
      "23:59:59.999999",
      "838:59:59",
      "9999-12-31 23:59:59.999999",
      "2038-01-19 03:14:07.999+00",
      "2155",
      "large",
      "a,c",
      "{\"k\": [1, 2.5, \"x\"]}"};
  const std::vector<std::string> want2 = {"2",
                                          "-128",
                                          "0",
                                          "-32768",
                                          "0",
                                          "-8388608",
                                          "0",
                                          "-2147483648",
                                          "0",
                                          "-9223372036854775808",
                                          "0",
                                          "-0.000000000000000000000000000001",
                                          "0.0000",
                                          "-1.25e-10",
                                          "-1e+308",
                                          "0",
                                          "000000000001",
                                          "f",
                                          "",
                                          "updated",
                                          "0",
                                          "Ærø",
                                          "",
                                          "\\x00000000",
                                          "\\x",
                                          "\\x",
                                          "1000-01-01",
                                          "00:00:00",
                                          "-838:59:59",
                                          "1000-01-01 00:00:00",
                                          "1970-01-01 00:00:01+00",
                                          "1901",
                                          "small",
                                          "",
                                          "null"};
  for (size_t c = 0; c < want1.size(); ++c) {
    EXPECT_EQ(rows[0][c].value_or("<NULL>"), want1[c]) << "row 1 column " << c;
    EXPECT_EQ(rows[1][c].value_or("<NULL>"), want2[c]) << "row 2 column " << c;
  }
  for (size_t c = 1; c < rows[2].size(); ++c) {
    if (c == 20) continue;  // length(NULL)
    EXPECT_FALSE(rows[2][c].has_value()) << "row 3 column " << c << " = " << *rows[2][c];
  }
  // verify compares the two engines' spellings of every one of these values as equal.
  CommandResult verify = Stagesync({"verify", "--checksum"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
}

TEST_F(MysqlSourceTest, zero_date_stops_naming_table_key_and_value) {
  OnSource("SET SESSION sql_mode = ''");
  OnSource("CREATE TABLE events (id INT PRIMARY KEY, happened DATE)");
  OnTarget("CREATE TABLE events (id int PRIMARY KEY, happened date)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO events VALUES (1, '2024-01-01')");
  ASSERT_TRUE(Converges("SELECT id FROM events", "SELECT id FROM events"));
  OnSource("SET SESSION sql_mode = ''; INSERT INTO events VALUES (2, '0000-00-00')");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run went on after a value PostgreSQL cannot hold\n" << RunLog();
  EXPECT_NE(*code, 0);
  const std::string log = RunLog();
  EXPECT_NE(log.find("events"), std::string::npos) << log;
  EXPECT_NE(log.find("0000-00-00"), std::string::npos) << log;
  EXPECT_NE(log.find("column happened"), std::string::npos) << log;
  EXPECT_NE(log.find("2"), std::string::npos) << log;
  EXPECT_EQ(pg_->QueryValue(db_, "SELECT count(*) FROM events"), "1");
}

TEST_F(MysqlSourceTest, kill9_during_workload_then_restart_converges) {
  OnSource(
      "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(40) NOT NULL, balance "
      "DECIMAL(20,6) NOT NULL, note TEXT, updated DATETIME(6))");
  OnTarget(
      "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(20,6) NOT "
      "NULL, note text, updated timestamp(6))");
  // Staging starts as a copy of production.
  OnSource(
      "INSERT INTO accounts SELECT seq, CONCAT('owner', seq), seq * 1.25, NULL, "
      "'2024-01-01 00:00:00' FROM seq_1_to_200");
  OnTarget(
      "INSERT INTO accounts SELECT i, 'owner' || i, i * 1.25, NULL, '2024-01-01 00:00:00' FROM "
      "generate_series(1, 200) i");
  SetupOrFail();
  StartRun();
  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::thread workload([&] {
    std::mt19937 rng(7);
    while (!stop) {
      int a = 1 + rng() % 400, b = 1 + rng() % 400;
      std::string sql =
          "START TRANSACTION; INSERT INTO accounts VALUES (" + std::to_string(a) + ", 'w" +
          std::to_string(a) + "', " + std::to_string(a) +
          ".5, 'new', NOW(6)) ON DUPLICATE KEY UPDATE balance = balance + 1.000001, note = "
          "CONCAT(COALESCE(note, ''), 'x'); UPDATE accounts SET balance = balance - 0.5 WHERE "
          "id = " +
          std::to_string(b) +
          "; DELETE FROM accounts WHERE id = " + std::to_string(1 + rng() % 400) +
          " AND balance < 3; COMMIT";
      try {
        mariadb_->Exec(db_, sql);
        committed++;
      } catch (const std::exception&) {
      }
    }
  });
  std::mt19937 rng(11);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800 + rng() % 1200));
    run_->Kill();
    std::this_thread::sleep_for(300ms);
    StartRun();
  }
  std::this_thread::sleep_for(1s);
  stop = true;
  workload.join();
  EXPECT_GT(committed.load(), 50);
  EXPECT_TRUE(
      Converges("SELECT id, owner, CAST(balance AS CHAR), COALESCE(note, '<none>'), "
                "DATE_FORMAT(updated, '%Y-%m-%d %H:%i:%s.%f') FROM accounts ORDER BY id",
                "SELECT id, owner, balance::text, COALESCE(note, '<none>'), to_char(updated, "
                "'YYYY-MM-DD HH24:MI:SS.US') FROM accounts ORDER BY id"));
}

TEST_F(MysqlSourceTest, alter_table_midstream_and_binlog_rotation) {
  OnSource("CREATE TABLE UM_USER (UM_ID INT PRIMARY KEY, UM_USER_NAME VARCHAR(255) NOT NULL)");
  OnTarget("CREATE TABLE um_user (um_id int PRIMARY KEY, um_user_name text NOT NULL)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO UM_USER VALUES (1, 'admin'), (2, 'bob')");
  const std::string my = "SELECT * FROM UM_USER ORDER BY 1";
  const std::string pg = "SELECT * FROM um_user ORDER BY 1";
  ASSERT_TRUE(Converges(my, pg));

  // Staging gets the new column first (the migration), then production.
  OnTarget("ALTER TABLE um_user ADD COLUMN um_tenant_id int DEFAULT 0");
  OnSource("ALTER TABLE UM_USER ADD COLUMN UM_TENANT_ID INT DEFAULT 0");
  OnSource(
      "INSERT INTO UM_USER VALUES (3, 'carol', 7); UPDATE UM_USER SET UM_TENANT_ID = 5 "
      "WHERE UM_ID = 1");
  ASSERT_TRUE(Converges(my, pg));

  // Rotations between and around transactions, and a restart right after one.
  for (int i = 0; i < 5; ++i) {
    OnSource("INSERT INTO UM_USER VALUES (" + std::to_string(10 + i) + ", 'r" + std::to_string(i) +
             "', 1); FLUSH BINARY LOGS; UPDATE UM_USER SET UM_USER_NAME = CONCAT(UM_USER_NAME, "
             "'+') WHERE UM_ID = 2");
  }
  ASSERT_TRUE(Converges(my, pg));
  run_->Kill();
  OnSource(
      "FLUSH BINARY LOGS; INSERT INTO UM_USER VALUES (20, 'after-rotate', 2); FLUSH BINARY "
      "LOGS; DELETE FROM UM_USER WHERE UM_ID = 3");
  StartRun();
  ASSERT_TRUE(Converges(my, pg));

  // A rename on both sides is followed from the binlog's own column names.
  OnTarget("ALTER TABLE um_user RENAME COLUMN um_user_name TO um_username");
  OnSource("ALTER TABLE UM_USER CHANGE UM_USER_NAME UM_USERNAME VARCHAR(255) NOT NULL");
  OnSource("INSERT INTO UM_USER VALUES (21, 'renamed', 3)");
  ASSERT_TRUE(Converges(my, pg));

  // A column production has and staging lacks stops the sync, naming it.
  OnSource("ALTER TABLE UM_USER ADD COLUMN ONLY_ON_SOURCE INT");
  OnSource("INSERT INTO UM_USER VALUES (22, 'x', 1, 9)");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << RunLog();
  EXPECT_NE(*code, 0);
  EXPECT_NE(RunLog().find("ONLY_ON_SOURCE"), std::string::npos) << RunLog();
}

TEST_F(MysqlSourceTest, status_reports_binlog_positions_and_zero_lag) {
  OnSource("CREATE TABLE t (id INT PRIMARY KEY)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO t VALUES (1), (2)");
  ASSERT_TRUE(Converges("SELECT id FROM t ORDER BY id", "SELECT id FROM t ORDER BY id"));
  std::string out;
  for (int i = 0; i < 100; ++i) {
    out = Stagesync({"status", "--json"}).out;
    if (out.find("\"lag_seconds\":0.000") != std::string::npos &&
        out.find("\"source_bytes_behind\":0") != std::string::npos)
      break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(out.find("\"lag_seconds\":0.000"), std::string::npos) << out;
  EXPECT_NE(out.find("\"source_bytes_behind\":0"), std::string::npos) << out;
  EXPECT_NE(out.find("\"applied_position\":\"binlog.0"), std::string::npos) << out;
  // A second capture of the same stream is refused while the first holds it.
  CommandResult second = Stagesync({"run"});
  EXPECT_EQ(second.exit_code, 2) << second.Describe();
  EXPECT_NE(second.err.find("already"), std::string::npos) << second.Describe();
  // With run down, status reads the lag from the binlog: changes wait, so it is above 0.
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  OnSource("INSERT INTO t VALUES (3)");
  std::this_thread::sleep_for(1200ms);
  std::string idle = Stagesync({"status", "--json"}).out;
  EXPECT_NE(idle.find("\"state\":\"idle\""), std::string::npos) << idle;
  EXPECT_EQ(idle.find("\"lag_seconds\":null"), std::string::npos) << idle;
  EXPECT_EQ(idle.find("\"lag_seconds\":0.000"), std::string::npos) << idle;
}

TEST_F(MysqlSourceTest, through_kafka_with_mysql_source_blocks_and_kill9_of_capture) {
  std::unique_ptr<kafka::MockCluster> mock;
  ASSERT_TRUE(kafka::MockCluster::Start(3, &mock).ok());
  OnSource("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(12,2), note VARCHAR(40))");
  OnTarget("CREATE TABLE orders (id int PRIMARY KEY, total numeric(12,2), note text)");
  UseKafka(mock->bootstrap_servers(), /*schemas_enable=*/false);
  SetupOrFail();
  auto capture = Start("capture");
  auto apply = Start("apply");
  {
    SourceWorkload workload(source_, db_, [](int i) {
      return "START TRANSACTION; INSERT INTO orders VALUES (" + std::to_string(i) + ", " +
             std::to_string(i) +
             ".25, 'n') ON DUPLICATE KEY UPDATE total = total + 1; UPDATE orders SET note = "
             "CONCAT(note, 'u') WHERE id = " +
             std::to_string(i / 2) + "; DELETE FROM orders WHERE id = " + std::to_string(i / 3) +
             " AND id % 7 = 0; COMMIT";
    });
    KillAndRestart(capture, "capture", 2, 1500ms);
    std::this_thread::sleep_for(1s);
  }
  bool same = Converges("SELECT id, CAST(total AS CHAR), note FROM orders ORDER BY id",
                        "SELECT id, total::text, note FROM orders ORDER BY id");
  EXPECT_TRUE(same) << "capture:\n" << capture->Stderr() << "\napply:\n" << apply->Stderr();
  // A stock client sees the MySQL connector's source block.
  CommandResult kcat = RunCommand({"/usr/bin/kcat", "-b", mock->bootstrap_servers(), "-C", "-t",
                                   db_ + "." + db_ + ".orders", "-c", "1", "-e", "-o", "beginning"},
                                  "kcat", 60s);
  EXPECT_NE(kcat.out.find("\"connector\":\"mysql\""), std::string::npos) << kcat.Describe();
  EXPECT_NE(kcat.out.find("\"file\":\"binlog.0"), std::string::npos) << kcat.Describe();
  EXPECT_NE(kcat.out.find("\"server_id\":1"), std::string::npos) << kcat.Describe();
}

TEST_F(MysqlSourceTest, setup_twice_changes_nothing_and_teardown_waits_for_run) {
  OnSource("CREATE TABLE t (id INT PRIMARY KEY)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY)");
  SetupOrFail();
  auto start = mariadb_->QueryValue("",
                                    "SELECT CONCAT(file, ':', pos) FROM stagesync.stream_start "
                                    "WHERE stream = '" +
                                        db_ + "'");
  ASSERT_TRUE(start.has_value());
  OnSource("INSERT INTO t VALUES (1)");
  SetupOrFail();  // keeps the recorded start: the row above is not lost
  EXPECT_EQ(mariadb_->QueryValue("",
                                 "SELECT CONCAT(file, ':', pos) FROM stagesync.stream_start "
                                 "WHERE stream = '" +
                                     db_ + "'"),
            start);
  StartRun();
  ASSERT_TRUE(Converges("SELECT id FROM t", "SELECT id FROM t"));
  // While run holds the stream, teardown refuses; after it stops, teardown removes it all.
  for (int i = 0; i < 50 && Stagesync({"status", "--json"}).out.find("\"run_alive\":true") ==
                                std::string::npos;
       ++i) {
    std::this_thread::sleep_for(100ms);
  }
  CommandResult busy = Stagesync({"teardown"});
  EXPECT_EQ(busy.exit_code, 2) << busy.Describe();
  EXPECT_NE(busy.err.find("stop `stagesync run` first"), std::string::npos) << busy.Describe();
  run_->Signal(SIGTERM);
  ASSERT_EQ(run_->Wait(30s), 0) << RunLog();
  CommandResult down = Stagesync({"teardown"});
  EXPECT_EQ(down.exit_code, 0) << down.Describe();
  EXPECT_EQ(mariadb_->QueryValue("",
                                 "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE "
                                 "SCHEMA_NAME = 'stagesync'"),
            "0");
}

TEST_F(MysqlSourceTest, bad_settings_exit_2_with_the_fix) {
  OnSource("CREATE TABLE keyless (a INT, b INT)");
  OnSource("CREATE TABLE keyed (id INT PRIMARY KEY)");
  mariadb_->Exec("",
                 "SET GLOBAL binlog_format = 'STATEMENT'; SET GLOBAL binlog_row_image = "
                 "'MINIMAL'; SET GLOBAL binlog_row_metadata = 'MINIMAL'");
  spec_.server_id = "1";  // the server's own
  WriteConfig(config_path_, spec_);
  CommandResult r = Stagesync({"setup"});
  mariadb_->Exec("",
                 "SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'; "
                 "SET GLOBAL binlog_row_metadata = 'FULL'");
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  for (const char* fix :
       {"SET GLOBAL binlog_format = 'ROW'", "SET GLOBAL binlog_row_image = 'FULL'",
        "SET GLOBAL binlog_row_metadata = 'FULL'", "server_id", "keyless", "ADD PRIMARY KEY"}) {
    EXPECT_NE(r.err.find(fix), std::string::npos) << fix << "\n" << r.err;
  }
  EXPECT_EQ(r.err.find("keyed "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stagesync::testing
