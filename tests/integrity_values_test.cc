// Issue 10, values end to end: a value the target column cannot hold stops the sync instead of
// being truncated, an unchanged TOAST value is never replaced by NULL, and identifiers match
// exactly before any (ASCII-only) case folding.
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using IntegrityValuesTest = SyncTest;

// A source column wider than staging's: PostgreSQL's explicit casts to typmod'd types
// truncate (varchar, char) or cut/pad (bit) where an assignment would fail.
struct NarrowCase {
  std::string name;
  std::string source_type;
  std::string target_type;  // as the target declares it
  std::string shown_type;   // as format_type() prints it in the message
  std::string fits, too_long;
  std::string reason;  // PostgreSQL's error for the assignment
};

void PrintTo(const NarrowCase& c, std::ostream* os) {
  *os << c.name;
}

class TooLongValueTest : public IntegrityValuesTest,
                         public ::testing::WithParamInterface<NarrowCase> {};

TEST_P(TooLongValueTest, value_too_long_for_target_stops_naming_table_key_column) {
  const NarrowCase& c = GetParam();
  OnSource("CREATE TABLE narrow(id int PRIMARY KEY, v " + c.source_type + ")");
  OnTarget("CREATE TABLE narrow(id int PRIMARY KEY, v " + c.target_type + ")");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO narrow VALUES (1, " + c.fits + ")");
  ASSERT_TRUE(Converges({{"narrow", "id"}}));
  // One transaction, so the batch fails and the row-by-row replay has to find the row.
  OnSource("INSERT INTO narrow VALUES (2, " + c.fits + "), (3, " + c.too_long + "), (4, " + c.fits +
           ")");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run went on after a value the target cannot hold\n" << RunLog();
  EXPECT_NE(*code, 0);
  const std::string log = RunLog();
  EXPECT_NE(log.find("public.narrow key (id=3)"), std::string::npos) << log;
  EXPECT_NE(log.find(c.reason), std::string::npos) << log;
  EXPECT_NE(log.find("column v (" + c.shown_type + ") rejects the value"), std::string::npos)
      << log;
  EXPECT_NE(log.find("lsn="), std::string::npos) << log;
  // Nothing of that transaction, above all no cut-down value.
  EXPECT_EQ(target().QueryValue(db_, "SELECT string_agg(id::text, ',' ORDER BY id) FROM narrow"),
            "1");
}

INSTANTIATE_TEST_SUITE_P(
    Narrowed, TooLongValueTest,
    ::testing::Values(NarrowCase{"varchar", "text", "varchar(5)", "character varying(5)", "'abcde'",
                                 "'abcdefgh'", "value too long for type character varying(5)"},
                      NarrowCase{"bpchar", "text", "char(3)", "character(3)", "'abc'", "'abcdef'",
                                 "value too long for type character(3)"},
                      NarrowCase{"bit", "varbit", "bit(3)", "bit(3)", "B'101'", "B'10101'",
                                 "bit string length 5 does not match type bit(3)"},
                      NarrowCase{"varbit", "varbit", "varbit(3)", "bit varying(3)", "B'11'",
                                 "B'10101'", "bit string too long for type bit varying(3)"},
                      NarrowCase{"varchar_array", "text[]", "varchar(3)[]",
                                 "character varying(3)[]", "'{abc}'", "'{abc,abcdef}'",
                                 "value too long for type character varying(3)"}),
    [](const ::testing::TestParamInfo<NarrowCase>& info) { return info.param.name; });

// Out-of-line TOAST: md5 hex of random numbers compresses poorly, 32 kB of it stays > 2 kB.
const char kBigValue[] =
    "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 1000))";

TEST_F(IntegrityValuesTest, unchanged_toast_of_a_missing_row_stops_instead_of_writing_null) {
  OnBoth("CREATE TABLE docs(id int PRIMARY KEY, title text, body text)");
  SetupOrFail();
  StartRun();
  OnSource(std::string("INSERT INTO docs VALUES (1, 'one', ") + kBigValue + "), (2, 'two', " +
           kBigValue + ")");
  ASSERT_TRUE(Converges({{"docs", "id"}}));
  // Staging lost row 1; the source changes another column, so pgoutput does not send body.
  OnTarget("DELETE FROM docs WHERE id = 1");
  OnSource("UPDATE docs SET title = 'one, renamed' WHERE id = 1");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run went on after an update it cannot complete\n" << RunLog();
  EXPECT_NE(*code, 0);
  const std::string log = RunLog();
  EXPECT_NE(log.find("public.docs key (id=1)"), std::string::npos) << log;
  EXPECT_NE(log.find("unchanged columns body"), std::string::npos) << log;
  EXPECT_NE(log.find("lsn="), std::string::npos) << log;
  EXPECT_NE(log.find("REPLICA IDENTITY FULL"), std::string::npos) << log;
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM docs WHERE id = 1"), "0");
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM docs WHERE body IS NULL"), "0");
}

TEST_F(IntegrityValuesTest, unchanged_toast_of_a_missing_row_comes_from_the_full_old_row) {
  OnBoth("CREATE TABLE docs(id int PRIMARY KEY, title text, body text)");
  OnSource("ALTER TABLE docs REPLICA IDENTITY FULL");
  SetupOrFail();
  StartRun();
  OnSource(std::string("INSERT INTO docs VALUES (1, 'one', ") + kBigValue + "), (2, 'two', " +
           kBigValue + ")");
  ASSERT_TRUE(Converges({{"docs", "id"}}));
  OnTarget("DELETE FROM docs WHERE id = 1");
  // Row 2 exists: its body is left alone. Row 1 is missing: the old row carries its body.
  OnSource("UPDATE docs SET title = title || ', renamed'");
  ASSERT_TRUE(Converges({{"docs", "id"}}));
  EXPECT_TRUE(run_->Running()) << RunLog();
}

// Production's databases fold case by their locale; C.utf8 makes lower() fold 'Ü' to 'ü'.
void RecreateWithUnicodeCtype(const PgCluster& cluster, const std::string& db) {
  cluster.Exec("postgres", "DROP DATABASE IF EXISTS \"" + db + "\"");
  cluster.Exec("postgres", "CREATE DATABASE \"" + db +
                               "\" TEMPLATE template0 LC_COLLATE 'C.utf8' LC_CTYPE 'C.utf8'");
}

TEST_F(IntegrityValuesTest, non_ascii_upper_case_names_reach_their_own_table) {
  RecreateWithUnicodeCtype(source(), db_);
  RecreateWithUnicodeCtype(target(), db_);
  OnBoth(R"(CREATE SCHEMA "Ünïcödé"; CREATE SCHEMA "ünïcödé";
            CREATE TABLE "Ünïcödé"."Täble"(id int PRIMARY KEY, "Wërt" text);
            CREATE TABLE "ünïcödé"."täble"(id int PRIMARY KEY, "wërt" text);)");
  spec_.tables = {"Ünïcödé.*", "ünïcödé.*"};
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO "Ünïcödé"."Täble" VALUES (1, 'upper'), (2, 'upper');
              INSERT INTO "ünïcödé"."täble" VALUES (1, 'lower');)");
  OnSource(R"(UPDATE "Ünïcödé"."Täble" SET "Wërt" = 'upper, updated' WHERE id = 2)");
  ASSERT_TRUE(Converges({{R"("Ünïcödé"."Täble")", "id"}, {R"("ünïcödé"."täble")", "id"}}));
  EXPECT_TRUE(run_->Running()) << RunLog();
}

}  // namespace
}  // namespace stagesync::testing
