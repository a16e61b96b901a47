// `stagesync copy` on every pair of engines: the copy reads a snapshot taken where the stream
// starts, so a unique value that moved between rows before the copy does not collide and
// writes during the copy arrive exactly once; values look the same copied as streamed; a copy
// killed with -9 resumes in the same snapshot (PostgreSQL) or says what must be redone
// (MariaDB); a target that already has rows is refused unless --truncate.
#include <signal.h>

#include <thread>

#include "apply_audit.h"
#include "copy_fixture.h"
#include "http_get.h"

namespace stagesync::testing {
namespace {

using namespace std::chrono_literals;

// A unique code that moved from one row to another after `setup` and before the copy: the
// stream from `setup`'s position would replay the first row's old code onto the copy and
// collide with the second. Writes go on during the copy; each arrives exactly once.
TEST_P(CopyTest, HandsOffExactlyWhereTheStreamStarts) {
  OnBoth(
      "CREATE TABLE item (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, qty int);"
      "CREATE TABLE event (id int PRIMARY KEY, note varchar(40))");
  std::string fill;
  for (int i = 1; i <= 2000; ++i) {
    fill += (fill.empty() ? "" : ", ") +
            ("(" + std::to_string(i) + ", 'code" + std::to_string(i) + "', 0)");
  }
  OnSource("INSERT INTO item VALUES " + fill);
  if (source_mysql()) OnSource("ANALYZE TABLE item");  // the catalog's size, which parts follow
  if (!source_mysql() && !target_mysql()) {
    InstallApplyAudit(*target_.pg, db_, "event", "id");
    InstallApplyAudit(*target_.pg, db_, "item", "id");
  }
  SetupOrFail();
  OnSource("INSERT INTO item VALUES (100001, 'moved', 0)");
  OnSource("UPDATE item SET code = 'was moved' WHERE id = 100001");
  OnSource("INSERT INTO item VALUES (100002, 'moved', 0)");

  SourceWorkload writes(source_, db_, [](int i) {
    return "BEGIN; INSERT INTO event VALUES (" + std::to_string(i) + ", 'event " +
           std::to_string(i) +
           "'); UPDATE item SET qty = qty + 1 WHERE id = " + std::to_string(i % 2000 + 1) +
           "; COMMIT";
  });
  std::this_thread::sleep_for(300ms);
  CommandResult copy = Stagesync({"copy"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  EXPECT_NE(copy.out.find("the stream starts at"), std::string::npos) << copy.Describe();
  CommandResult status = Stagesync({"status", "--json"});
  EXPECT_NE(status.out.find("\"copy\":{\"finished\":true"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"tables_remaining\":0"), std::string::npos) << status.out;
  // item was cut into key ranges (2000 rows, 64 kB parts).
  EXPECT_GT(Ranges("table_name LIKE '%item'"), 1);
  StartRun();
  std::this_thread::sleep_for(1500ms);
  writes.Stop();
  ASSERT_GT(writes.committed(), 0);
  EXPECT_TRUE(Converges("SELECT id, code, qty FROM item ORDER BY id",
                        "SELECT id, code, qty FROM item ORDER BY id"))
      << RunLog();
  EXPECT_TRUE(
      Converges("SELECT id, note FROM event ORDER BY id", "SELECT id, note FROM event ORDER BY id"))
      << RunLog();
  if (!source_mysql() && !target_mysql()) {
    // Each event inserted exactly once, by the copy or by the stream, never both.
    EXPECT_TRUE(AppliedExactlyOnce(*source_.pg, *target_.pg, db_, "event", "id"));
  }
}

// Values of every kind the engines share, one row copied and the same values streamed in
// another: the target must hold them alike.
TEST_P(CopyTest, ValuesLookTheSameCopiedAsStreamed) {
  std::string source_ddl, target_ddl, values;
  if (source_mysql()) {
    source_ddl =
        "CREATE TABLE val (id int PRIMARY KEY, t tinyint, su smallint unsigned, bu bigint "
        "unsigned, f float, d double, n decimal(12,3), dt date, tm time(3), ts datetime(6), "
        "tz timestamp(3) NULL, y year, b bit(5), c char(4), l varchar(20) CHARACTER SET latin1, "
        "tx text, bi binary(4), vb varbinary(8), bl blob, e enum('a','b'), s set('x','y'), "
        "j json)";
    target_ddl = target_mysql()
                     ? source_ddl
                     : "CREATE TABLE val (id int PRIMARY KEY, t smallint, su integer, bu "
                       "numeric, f real, d double precision, n numeric(12,3), dt date, tm "
                       "time(3), ts timestamp(6), tz timestamptz(3), y smallint, b bit(5), c "
                       "char(4), l varchar(20), tx text, bi bytea, vb bytea, bl bytea, e text, s "
                       "text, j json)";
    values =
        "-128, 65535, 18446744073709551615, 0.1234567, 3.141592653589793, -123456789.125, "
        "'2024-02-29', '" +
        std::string(target_mysql() ? "-838:59:59.123" : "12:34:56.125") +
        "', '2024-12-31 23:59:59.999999', '2038-01-19 "
        "03:14:07.499', 2155, b'10101', 'ab', 'caf\xc3\xa9', 'line1\\nline2\\ttab', 0x00ff, "
        "0x5c4e00, 0x0001020304, 'b', 'x,y', '{\"k\": [1, 2.5, \"v\"]}'";
  } else {
    source_ddl =
        "CREATE TABLE val (id int PRIMARY KEY, i8 bigint, n numeric(12,3), f real, d double "
        "precision, tx text, vc varchar(20), by bytea, bo boolean, dt date, tm time(3), ts "
        "timestamp(6), tz timestamptz(3), j json, u uuid)";
    target_ddl = target_mysql()
                     ? "CREATE TABLE val (id int PRIMARY KEY, i8 bigint, n decimal(12,3), f "
                       "float, d double, tx text, vc varchar(20), `by` blob, bo boolean, dt "
                       "date, tm time(3), ts datetime(6), tz datetime(3), j json, u char(36))"
                     : source_ddl;
    values =
        "-9223372036854775808, -123456789.125, 0.1234567, 3.141592653589793, E'line1\\nline2\\t"
        "tab \\\\ back', 'caf\xc3\xa9 \xe4\xb8\xad', '\\x00ff5c4e', true, '2024-02-29', "
        "'23:59:59.123', '2024-12-31 23:59:59.999999', '2024-06-01 12:00:00.125+02', "
        "'{\"k\": [1, 2.5, \"v\"]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'";
  }
  OnSource(source_ddl);
  OnTarget(target_ddl);
  OnSource("INSERT INTO val VALUES (1, " + values + ")");
  SetupOrFail();
  CommandResult copy = Stagesync({"copy", "-v"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  if (!source_mysql() && !target_mysql()) {
    // Every column the same built-in type on both sides: the rows go as COPY's binary.
    EXPECT_NE(copy.err.find("public.val goes as the source's binary COPY rows"), std::string::npos)
        << copy.Describe();
  }
  if (target_mysql() && !source_mysql()) {
    // No bit column: the rows go by LOAD DATA, none falling back to statements.
    EXPECT_EQ(copy.err.find("bulk load of"), std::string::npos) << copy.Describe();
  }
  StartRun();
  OnSource("INSERT INTO val VALUES (2, " + values + ")");
  ASSERT_TRUE(Converges("SELECT count(*) FROM val", "SELECT count(*) FROM val")) << RunLog();
  Rows rows = target_.Query(db_, "SELECT * FROM val ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  for (size_t c = 1; c < rows[0].size(); ++c) {
    EXPECT_EQ(rows[0][c], rows[1][c])
        << "column " << c << ": copied " << rows[0][c].value_or("NULL") << ", streamed "
        << rows[1][c].value_or("NULL");
  }
}

// A copy killed with -9 part-way: `run` refuses to stream into it; PostgreSQL resumes in the
// same snapshot (held by its own process) and copies only the ranges not yet committed;
// MariaDB's snapshot died with the copy, and `copy` says what must be redone.
TEST_P(CopyTest, KilledCopyResumesOrSaysWhatToRedo) {
  OnBoth("CREATE TABLE big (id int PRIMARY KEY, payload varchar(200))");
  FillBig(600000);  // enough that the copy is still running when it is killed
  if (!source_mysql() && !target_mysql()) InstallApplyAudit(*target_.pg, db_, "big", "id");
  const std::string mapping = spec_.extra_toml.substr(0, spec_.extra_toml.find("[copy]"));
  spec_.extra_toml = mapping +
                     "[copy]\njobs = 1\npart_bytes = 1000000\nmax_parts = 16\nsnapshot_hold = "
                     "\"2m\"\n";
  SetupOrFail();
  SourceWorkload writes(source_, db_, [](int i) {
    return "INSERT INTO big VALUES (" + std::to_string(1000000 + i) + ", 'during the copy')";
  });
  auto copy = Start("copy");
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (RangesDone() < 2 && copy->Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(copy->Running()) << "the copy ended before it could be killed: " << copy->Stderr();
  // While it runs, `copy` serves the monitor: what it has committed, per table.
  Reply metrics = Get(spec_.monitor_listen, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("stagesync_copy_rows_total{table=\""), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("stagesync_copy_tables_remaining 1"), std::string::npos)
      << metrics.body;
  copy->Kill();
  int done = RangesDone();
  ASSERT_GE(done, 2);
  ASSERT_LT(done, Ranges());

  CommandResult status = Stagesync({"status", "--json"});
  EXPECT_NE(status.out.find("\"copy\":{\"finished\":false"), std::string::npos) << status.out;
  CommandResult run = Stagesync({"run"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("has not finished"), std::string::npos) << run.Describe();

  CommandResult again = Stagesync({"copy"});
  if (source_mysql()) {
    ASSERT_EQ(again.exit_code, 2) << again.Describe();
    EXPECT_NE(again.err.find("--truncate"), std::string::npos) << again.Describe();
    EXPECT_NE(again.err.find("ranges were copied"), std::string::npos) << again.Describe();
    again = Stagesync({"copy", "--truncate"});
  } else {
    EXPECT_NE(again.err.find("resuming in snapshot"), std::string::npos) << again.Describe();
  }
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  StartRun();
  std::this_thread::sleep_for(500ms);
  writes.Stop();
  EXPECT_TRUE(Converges("SELECT count(*), sum(id) FROM big", "SELECT count(*), sum(id) FROM big"))
      << RunLog();
  if (!source_mysql() && !target_mysql()) {
    EXPECT_TRUE(AppliedExactlyOnce(*source_.pg, *target_.pg, db_, "big", "id"));
  }
}

TEST_P(CopyTest, RefusesATargetThatHasRowsUnlessTruncate) {
  OnBoth("CREATE TABLE item (id int PRIMARY KEY, code varchar(20))");
  OnSource("INSERT INTO item VALUES (1, 'source'), (2, 'source')");
  OnTarget("INSERT INTO item VALUES (9, 'stale')");
  SetupOrFail();
  CommandResult copy = Stagesync({"copy"});
  EXPECT_EQ(copy.exit_code, 2) << copy.Describe();
  EXPECT_NE(copy.err.find("item"), std::string::npos) << copy.Describe();
  EXPECT_NE(copy.err.find("--truncate"), std::string::npos) << copy.Describe();
  EXPECT_EQ(TargetValue("SELECT count(*) FROM item"), "1");  // nothing half-done
  copy = Stagesync({"copy", "--truncate", "--json"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  EXPECT_NE(copy.out.find("\"result\":\"copied\""), std::string::npos) << copy.Describe();
  EXPECT_EQ(TargetValue("SELECT count(*) FROM item"), "2");
  // A second copy has nothing to do.
  copy = Stagesync({"copy"});
  EXPECT_EQ(copy.exit_code, 0) << copy.Describe();
  EXPECT_NE(copy.err.find("finished already"), std::string::npos) << copy.Describe();
}

// --create-tables: the target has no table; copy creates it from the source's definition
// (across engines through the type map) with its key, NOT NULL, literal default and identity,
// then the stream writes into it. A column no target type holds exactly stops the copy.
TEST_P(CopyTest, CreatesMissingTablesFromTheSourceDefinition) {
  OnSource(
      source_mysql()
          ? "CREATE TABLE made (id int AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL "
            "DEFAULT 'none', qty int DEFAULT 0, price decimal(10,2), at datetime(3), note text)"
          : "CREATE TABLE made (id serial PRIMARY KEY, name varchar(40) NOT NULL DEFAULT "
            "'none', qty integer DEFAULT 0, price numeric(10,2), at timestamp(3), note text)");
  OnSource(
      "INSERT INTO made (name, qty, price, at, note) VALUES ('a', 1, 12.50, "
      "'2024-01-01 10:00:00.123', 'first'), ('b', NULL, NULL, NULL, NULL)");
  WriteConfig(config_path_, spec_);
  CommandResult setup = Stagesync({"setup"});
  ASSERT_EQ(setup.exit_code, 0) << setup.Describe();  // a missing target table is a warning
  CommandResult copy = Stagesync({"copy"});
  EXPECT_EQ(copy.exit_code, 2) << copy.Describe();  // without --create-tables: refused
  copy = Stagesync({"copy", "--create-tables"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  EXPECT_NE(copy.err.find("created the target table of"), std::string::npos) << copy.Describe();
  StartRun();
  OnSource(
      "INSERT INTO made (name, qty, price, at, note) VALUES ('c', 3, 0.05, "
      "'2024-02-29 23:59:59.999', 'streamed')");
  EXPECT_TRUE(Converges("SELECT id, name, qty, price, at, note FROM made ORDER BY id",
                        "SELECT id, name, qty, price, at, note FROM made ORDER BY id"))
      << RunLog();
  // The definition came along: the key, NOT NULL, the default and the identity.
  EXPECT_ANY_THROW(OnTarget("INSERT INTO made (id, name) VALUES (1, 'again')"));
  EXPECT_ANY_THROW(OnTarget("INSERT INTO made (id, name) VALUES (50, NULL)"));
  OnTarget("INSERT INTO made (id) VALUES (60)");
  EXPECT_EQ(TargetValue("SELECT name FROM made WHERE id = 60"), "none");
  EXPECT_EQ(TargetValue("SELECT qty FROM made WHERE id = 60"), "0");
  OnTarget("DELETE FROM made WHERE id = 60");
}

// What the target cannot hold stops the copy, named: PostgreSQL arrays on MySQL, a type
// only the source has on PostgreSQL. (Every MySQL type has a PostgreSQL one.)
TEST_P(CopyTest, CreateTablesNamesWhatItCannotTranslate) {
  if (source_mysql()) GTEST_SKIP() << "every MySQL type the stream reads translates";
  OnSource(target_mysql() ? "CREATE TABLE odd (id int PRIMARY KEY, tags int[])"
                          : "CREATE TYPE mood AS ENUM ('calm', 'odd'); CREATE TABLE odd (id int "
                            "PRIMARY KEY, tags mood)");
  WriteConfig(config_path_, spec_);
  ASSERT_EQ(Stagesync({"setup"}).exit_code, 0);
  CommandResult copy = Stagesync({"copy", "--create-tables"});
  EXPECT_EQ(copy.exit_code, 2) << copy.Describe();
  EXPECT_NE(copy.err.find(target_mysql() ? "public.odd.tags (integer[]) has no MySQL type"
                                         : "creating public.odd for public.odd failed"),
            std::string::npos)
      << copy.Describe();
  EXPECT_EQ(TargetValue(target_mysql() ? "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                         "TABLE_NAME = 'odd'"
                                       : "SELECT count(*) FROM pg_class WHERE relname = 'odd'"),
            "0");  // nothing half-made
}

// A value the target column cannot hold stops the copy naming the table and the row's key
// (between PostgreSQL servers after the COPY lines are refused and the range is copied again
// value by value); nothing of the range stays, and the copy resumes once the target is fixed.
TEST_P(CopyTest, AValueTheTargetRejectsIsNamedWithItsKey) {
  OnSource("CREATE TABLE t (id int PRIMARY KEY, v varchar(20))");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY, v varchar(5))");
  OnSource("INSERT INTO t VALUES (1, 'ok'), (7, 'much too long'), (8, 'fine')");
  SetupOrFail();
  CommandResult copy = Stagesync({"copy"});
  EXPECT_EQ(copy.exit_code, 1) << copy.Describe();
  EXPECT_NE(copy.err.find("(id=7)"), std::string::npos) << copy.Describe();
  EXPECT_NE(copy.err.find("stagesync copy` again"), std::string::npos) << copy.Describe();
  EXPECT_EQ(TargetValue("SELECT count(*) FROM t"), "0");
  OnTarget(target_mysql() ? "ALTER TABLE t MODIFY v varchar(20)"
                          : "ALTER TABLE t ALTER COLUMN v TYPE varchar(20)");
  copy = Stagesync({"copy"});
  if (source_mysql()) {
    // MariaDB's snapshot ended with the failed copy: start again.
    ASSERT_EQ(copy.exit_code, 2) << copy.Describe();
    copy = Stagesync({"copy", "--truncate"});
  }
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  EXPECT_EQ(TargetValue("SELECT count(*) FROM t"), "3");
}

// --truncate cannot empty a table that a staging-only table references: it says which and
// how to go on, and nothing is emptied.
TEST_P(CopyTest, TruncateNamesATableOutsideTheCopyThatReferencesOne) {
  if (target_mysql()) GTEST_SKIP() << "apply empties MySQL tables with foreign_key_checks = 0";
  OnSource("CREATE TABLE item (id int PRIMARY KEY, code varchar(20))");
  OnSource("INSERT INTO item VALUES (1, 'source')");
  OnTarget(
      "CREATE TABLE item (id int PRIMARY KEY, code varchar(20));"
      "CREATE TABLE note (id int PRIMARY KEY, item_id int REFERENCES item (id));"
      "INSERT INTO item VALUES (9, 'stale'); INSERT INTO note VALUES (1, 9)");
  SetupOrFail();
  CommandResult copy = Stagesync({"copy", "--truncate"});
  EXPECT_EQ(copy.exit_code, 2) << copy.Describe();
  EXPECT_NE(copy.err.find("\"note\" references \"item\""), std::string::npos) << copy.Describe();
  EXPECT_NE(copy.err.find("add the referencing table to source.tables"), std::string::npos)
      << copy.Describe();
  EXPECT_EQ(TargetValue("SELECT count(*) FROM item"), "1");
}

INSTANTIATE_TEST_SUITE_P(Engines, CopyTest,
                         ::testing::Values(CopyVariant{"pg_to_pg", false, false},
                                           CopyVariant{"mariadb_to_mariadb", true, true},
                                           CopyVariant{"mariadb_to_pg", true, false},
                                           CopyVariant{"pg_to_mariadb", false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace stagesync::testing
