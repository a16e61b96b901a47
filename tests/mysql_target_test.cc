// MySQL/MariaDB as the target: PostgreSQL → MariaDB and MariaDB → MariaDB, values by the
// documented type map, kill -9 under a workload, key moves, deletes, TRUNCATE, and values
// MySQL cannot hold stopping with the value named.
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

// PostgreSQL or MariaDB sources and a MariaDB target, shared by the suite.
class MysqlTargetTest : public EngineSyncTest {
 public:
  static void SetUpTestSuite() {
    if (!pg_) pg_ = std::make_unique<PgCluster>();
    if (!my_source_) my_source_ = std::make_unique<MariaDbServer>();
    if (!mariadb_) mariadb_ = std::make_unique<MariaDbServer>();
  }
  static void TearDownTestSuite() {
    pg_.reset();
    my_source_.reset();
    mariadb_.reset();
  }

 protected:
  void FromPostgres() { Prepare({pg_.get(), nullptr}, {nullptr, mariadb_.get()}, "t_"); }
  void FromMariaDb() { Prepare({nullptr, my_source_.get()}, {nullptr, mariadb_.get()}, "t_"); }

  static std::unique_ptr<PgCluster> pg_;
  static std::unique_ptr<MariaDbServer> my_source_;
  static std::unique_ptr<MariaDbServer> mariadb_;
};

std::unique_ptr<PgCluster> MysqlTargetTest::pg_;
std::unique_ptr<MariaDbServer> MysqlTargetTest::my_source_;
std::unique_ptr<MariaDbServer> MysqlTargetTest::mariadb_;

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
    got = JoinedRows(mariadb_->Query(
        db_,
        "SELECT ID, SMALL, BIG, `DEC`, F8 = 0.30000000000000004e0, F4, FLAG, NAME, CONCAT('\\\\x', "
        "LOWER(HEX(BIN))), "
        "BORN, T, TS, TSTZ, DOC, U, BIN(BITS + 0), EMPTY, MIGRATED_DEFAULT FROM UM_USER ORDER "
        "BY ID"));
    if (got == want) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(got, want) << RunLog();
  // verify sees PostgreSQL's and MySQL's spellings of these values as the same.
  CommandResult verify = Stagesync({"verify", "--checksum"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
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
  EXPECT_EQ(mariadb_->QueryValue(db_, "SELECT COUNT(*) FROM m"), "1");
}

TEST_F(MysqlTargetTest, value_too_long_for_the_column_stops_instead_of_being_cut) {
  FromPostgres();
  OnSource("CREATE TABLE narrow (id int PRIMARY KEY, v text)");
  OnTarget("CREATE TABLE narrow (id INT PRIMARY KEY, v VARCHAR(5))");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO narrow VALUES (1, 'abcde')");
  ASSERT_TRUE(Converges("SELECT id, v FROM narrow", "SELECT id, v FROM narrow"));
  OnSource("INSERT INTO narrow VALUES (2, 'abcdefgh')");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run went on after a value the target cannot hold\n" << RunLog();
  EXPECT_NE(*code, 0);
  EXPECT_NE(RunLog().find("narrow key (id=2)"), std::string::npos) << RunLog();
  EXPECT_NE(RunLog().find("Data too long for column 'v'"), std::string::npos) << RunLog();
  EXPECT_EQ(mariadb_->QueryValue(db_, "SELECT GROUP_CONCAT(id, ' ', v) FROM narrow"), "1 abcde");
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
  CommandResult verify = Stagesync({"verify", "--checksum", "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_EQ(verify.out.rfind("{\"equal\":true", 0), 0u) << verify.out;
}

TEST_F(MysqlTargetTest,
       mariadb_through_kafka_without_schemas_into_mariadb_survives_kill9_of_apply) {
  FromMariaDb();
  std::unique_ptr<kafka::MockCluster> mock;
  ASSERT_TRUE(kafka::MockCluster::Start(3, &mock).ok());
  const std::string ddl =
      "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(12,2), placed DATETIME(3), "
      "flags BIT(4), note VARCHAR(40), doc BLOB)";
  OnSource(ddl);
  OnTarget(ddl);
  UseKafka(mock->bootstrap_servers(), /*schemas_enable=*/false);
  SetupOrFail();
  auto capture = Start("capture");
  auto apply = Start("apply");
  {
    SourceWorkload workload(source_, db_, [](int i) {
      return "START TRANSACTION; INSERT INTO orders VALUES (" + std::to_string(i) + ", " +
             std::to_string(i) +
             ".25, '2024-02-29 10:00:00.123', b'1010', 'n', x'00ff') ON DUPLICATE KEY UPDATE "
             "total = total + 1; UPDATE orders SET note = CONCAT(note, 'u') WHERE id = " +
             std::to_string(i / 2) + "; DELETE FROM orders WHERE id = " + std::to_string(i / 3) +
             " AND id % 5 = 0; COMMIT";
    });
    KillAndRestart(apply, "apply", 2, 1500ms);
    std::this_thread::sleep_for(1s);
  }
  const std::string all =
      "SELECT id, total, placed, BIN(flags + 0), note, HEX(doc) FROM orders ORDER BY id";
  EXPECT_TRUE(Converges(all, all)) << "capture:\n"
                                   << capture->Stderr() << "\napply:\n"
                                   << apply->Stderr();
  CommandResult verify = Stagesync({"verify", "--checksum"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
}

}  // namespace
}  // namespace stagesync::testing

namespace stagesync::testing {
namespace {

// Issue 10, item 9 on a MySQL target: an update that does not carry an unchanged TOAST
// column, for a row staging lacks, stops naming the row and the column instead of inserting
// it with the column made up; rows staging has keep their value.
TEST_F(MysqlTargetTest, unchanged_toast_of_a_missing_row_stops_instead_of_writing_null) {
  FromPostgres();
  OnSource("CREATE TABLE docs (id int PRIMARY KEY, title text, body text)");
  OnTarget("CREATE TABLE docs (id INT PRIMARY KEY, title TEXT, body MEDIUMTEXT)");
  SetupOrFail();
  StartRun();
  // md5 hex of random numbers compresses poorly: 32 kB of it is TOASTed out of line.
  const std::string big =
      "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 1000))";
  OnSource("INSERT INTO docs VALUES (1, 'one', " + big + "), (2, 'two', " + big + ")");
  ASSERT_TRUE(Converges("SELECT id, title, length(body) FROM docs ORDER BY id",
                        "SELECT id, title, LENGTH(body) FROM docs ORDER BY id"));
  OnSource("UPDATE docs SET title = 'two, renamed' WHERE id = 2");  // the row staging has
  ASSERT_TRUE(Converges("SELECT id, title, length(body) FROM docs ORDER BY id",
                        "SELECT id, title, LENGTH(body) FROM docs ORDER BY id"));
  OnTarget("DELETE FROM docs WHERE id = 1");
  OnSource("UPDATE docs SET title = 'one, renamed' WHERE id = 1");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run went on after an update it cannot complete\n" << RunLog();
  EXPECT_NE(*code, 0);
  EXPECT_NE(RunLog().find("key (id=1)"), std::string::npos) << RunLog();
  EXPECT_NE(RunLog().find("unchanged columns body"), std::string::npos) << RunLog();
  auto rows = target_.Query(db_, "SELECT COUNT(*) FROM docs WHERE id = 1 OR body IS NULL");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].value_or(""), "0");
}

}  // namespace
}  // namespace stagesync::testing
