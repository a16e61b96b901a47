// `stagesync setup`: checks the source, lists every problem with its fix (exit 2), creates
// publication, slot, heartbeat and target bookkeeping, and is idempotent.
#include <regex>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using SetupTest = SyncTest;

std::string Dump(const Rows& rows) {
  std::string s;
  for (const Row& r : rows) {
    for (const auto& v : r) s += (v ? *v : "NULL") + "|";
    s += "\n";
  }
  return s;
}

// Everything setup creates, as text, to compare before/after a second setup.
std::string SetupFootprint(const PgCluster& source, const PgCluster& target,
                           const std::string& db) {
  std::string s = "publication tables:\n";
  s += Dump(source.Query(db,
                         "SELECT pubname, schemaname, tablename FROM pg_publication_tables "
                         "WHERE pubname = '" +
                             db + "' ORDER BY 2, 3"));
  s += "publications:\n";
  s += Dump(source.Query(db,
                         "SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete, "
                         "pubtruncate, pubviaroot FROM pg_publication ORDER BY 1"));
  s += "slots:\n";
  s += Dump(source.Query(db,
                         "SELECT slot_name, plugin, slot_type, database, temporary, "
                         "restart_lsn, confirmed_flush_lsn FROM pg_replication_slots "
                         "ORDER BY 1"));
  s += "source stagesync relations:\n";
  s += Dump(source.Query(db,
                         "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                         "ON n.oid = c.relnamespace WHERE n.nspname = 'stagesync' ORDER BY 1"));
  s += "target stagesync relations:\n";
  s += Dump(target.Query(db,
                         "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                         "ON n.oid = c.relnamespace WHERE n.nspname = 'stagesync' ORDER BY 1"));
  s += "target applied_position:\n";
  s += Dump(target.Query(db,
                         "SELECT stream, lsn, events_applied, transactions_applied "
                         "FROM stagesync.applied_position ORDER BY 1"));
  return s;
}

TEST_F(SetupTest, setup_creates_what_capture_needs) {
  OnBoth("CREATE TABLE accounts(id int PRIMARY KEY, balance numeric)");
  SetupOrFail();
  Rows slots = source().Query(db_,
                              "SELECT plugin, slot_type, database FROM pg_replication_slots "
                              "WHERE slot_name = '" +
                                  db_ + "'");
  ASSERT_EQ(slots.size(), 1u) << "no slot named " << db_;
  EXPECT_EQ(slots[0][0], "pgoutput");
  EXPECT_EQ(slots[0][1], "logical");
  EXPECT_EQ(slots[0][2], db_);
  EXPECT_EQ(source().QueryValue(
                db_, "SELECT count(*) FROM pg_publication_tables WHERE pubname = '" + db_ +
                         "' AND schemaname = 'public' AND tablename = "
                         "'accounts'"),
            "1");
  EXPECT_EQ(source().QueryValue(db_, "SELECT to_regclass('stagesync.heartbeat') IS NOT NULL"), "t");
  EXPECT_EQ(
      target().QueryValue(db_, "SELECT to_regclass('stagesync.applied_position') IS NOT NULL"),
      "t");
}

TEST_F(SetupTest, setup_is_idempotent) {
  OnBoth(
      "CREATE TABLE accounts(id int PRIMARY KEY, balance numeric);"
      "CREATE TABLE \"Audit Log\"(id bigint PRIMARY KEY, entry text)");
  SetupOrFail();
  std::string first = SetupFootprint(source(), target(), db_);
  // Some traffic between the two runs must not matter either.
  OnSource("INSERT INTO accounts VALUES (1, 10), (2, 20)");
  CommandResult again = Stagesync({"setup"});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(SetupFootprint(source(), target(), db_), first);
  CommandResult third = Stagesync({"setup"});
  ASSERT_EQ(third.exit_code, 0) << third.Describe();
  EXPECT_EQ(SetupFootprint(source(), target(), db_), first);
}

TEST_F(SetupTest, setup_reports_tables_without_key) {
  OnBoth(R"(CREATE TABLE with_key(id int PRIMARY KEY, v text);
            CREATE TABLE no_key(a int, b text);
            CREATE TABLE "Odd Name"(a int, b text);
            CREATE TABLE uniq_ident(a int NOT NULL, b text);
            CREATE UNIQUE INDEX uniq_ident_a ON uniq_ident(a);
            ALTER TABLE uniq_ident REPLICA IDENTITY USING INDEX uniq_ident_a;
            CREATE TABLE already_full(a int, b text);
            ALTER TABLE already_full REPLICA IDENTITY FULL;)");
  WriteConfig();
  CommandResult r = Stagesync({"setup"});
  ASSERT_EQ(r.exit_code, 2) << r.Describe();
  // Both keyless tables are listed, each with the statement that fixes it.
  const std::regex fix_no_key(R"(ALTER TABLE ("?public"?\.)?"?no_key"? REPLICA IDENTITY FULL)");
  const std::regex fix_odd(R"(ALTER TABLE ("?public"?\.)?"Odd Name" REPLICA IDENTITY FULL)");
  EXPECT_TRUE(std::regex_search(r.err, fix_no_key)) << r.Describe();
  EXPECT_TRUE(std::regex_search(r.err, fix_odd)) << "the fix must quote the name\n" << r.Describe();
  for (const char* fine : {"with_key", "uniq_ident"}) {
    const std::regex wrong_fix(std::string("ALTER TABLE [^\\n]*") + fine);
    EXPECT_FALSE(std::regex_search(r.err, wrong_fix)) << fine << " is fine\n" << r.Describe();
  }
  // A keyless table even with REPLICA IDENTITY FULL: a replay onto a copy would double its
  // inserts, so setup asks for a key or an explicit opt-in.
  EXPECT_NE(r.err.find("already_full has no primary key (REPLICA IDENTITY FULL)"),
            std::string::npos)
      << r.Describe();
  EXPECT_NE(r.err.find("source.allow_keyless = true"), std::string::npos) << r.Describe();
  // Applying the suggested fixes makes setup pass.
  OnSource(R"(ALTER TABLE no_key REPLICA IDENTITY FULL;
              ALTER TABLE "Odd Name" REPLICA IDENTITY FULL;)");
  CommandResult still = Stagesync({"setup"});
  EXPECT_EQ(still.exit_code, 2) << still.Describe();
  EXPECT_EQ(source().QueryValue(db_, "SELECT count(*) FROM pg_replication_slots"), "0");
  spec_.allow_keyless = true;
  WriteConfig();
  CommandResult fixed = Stagesync({"setup"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.Describe();
}

TEST_F(SetupTest, teardown_removes_what_setup_created) {
  OnBoth("CREATE TABLE accounts(id int PRIMARY KEY)");
  SetupOrFail();
  CommandResult r = Stagesync({"teardown"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(source().QueryValue(
                db_, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + db_ + "'"),
            "0");
  EXPECT_EQ(
      source().QueryValue(db_, "SELECT count(*) FROM pg_publication WHERE pubname = '" + db_ + "'"),
      "0");
  EXPECT_EQ(source().QueryValue(db_,
                                "SELECT count(*) FROM pg_namespace WHERE nspname = "
                                "'stagesync'"),
            "0");
  // And the cycle can start again.
  CommandResult again = Stagesync({"setup"});
  EXPECT_EQ(again.exit_code, 0) << again.Describe();
}

// Issue 11 item 5: an unreachable target at setup or at run's start is the config's problem
// (exit 2, naming target.dsn and the fix), not a failure (exit 1) or a retry loop.
TEST_F(SetupTest, an_unreachable_target_is_a_usage_error_naming_target_dsn) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  const std::string good_target = spec_.target_dsn;
  spec_.target_dsn = "host=127.0.0.1 port=1 dbname=" + db_ + " user=postgres";
  WriteConfig();
  CommandResult setup = Stagesync({"setup"});
  EXPECT_EQ(setup.exit_code, 2) << setup.Describe();
  EXPECT_NE(setup.err.find("target.dsn: "), std::string::npos) << setup.Describe();
  EXPECT_NE(setup.err.find("check host, port, dbname and user"), std::string::npos)
      << setup.Describe();
  spec_.target_dsn = good_target;
  SetupOrFail();
  spec_.target_dsn = "host=127.0.0.1 port=1 dbname=" + db_ + " user=postgres";
  WriteConfig();
  CommandResult run = Stagesync({"run"}, 30s);
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("target.dsn: "), std::string::npos) << run.Describe();
}

// A mistyped column on either side of a [mapping] rename fails setup and run's preflight,
// naming the mapping key and the column (it used to pass unnoticed: the column was dropped).
TEST_F(SetupTest, a_mistyped_mapping_column_fails_setup_and_run_naming_it) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY, v text)");
  SetupOrFail();
  struct Case {
    std::string columns;
    std::string must_mention;
  };
  for (const Case& c :
       std::vector<Case>{{"nosuch = \"v\"",
                          "mapping.\"public.t\".columns: source table public.t has no "
                          "column nosuch"},
                         {"v = \"x\"",
                          "mapping.\"public.t\".columns.v = \"x\": target table public.t has no "
                          "column x"}}) {
    spec_.extra_toml = "[mapping]\n\"public.t\" = { columns = { " + c.columns + " } }\n";
    WriteConfig();
    for (const char* command : {"setup", "run"}) {
      CommandResult r = Stagesync({command}, 30s);
      EXPECT_EQ(r.exit_code, 2) << r.Describe();
      EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << r.Describe();
    }
  }
}

// A source not configured for logical decoding.
class SetupOnReplicaWalTest : public SyncTest {
 public:
  static void SetUpTestSuite() { StartClusters({{"wal_level", "replica"}}); }
};

TEST_F(SetupOnReplicaWalTest, setup_lists_every_problem) {
  ASSERT_EQ(source().QueryValue(db_, "SHOW wal_level"), "replica");
  OnBoth("CREATE TABLE with_key(id int PRIMARY KEY); CREATE TABLE no_key(a int, b text)");
  WriteConfig();
  CommandResult r = Stagesync({"setup"});
  ASSERT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("wal_level"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("logical"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("no_key"), std::string::npos)
      << "every problem is listed, not only the first\n"
      << r.Describe();
  EXPECT_NE(r.err.find("REPLICA IDENTITY FULL"), std::string::npos) << r.Describe();
  EXPECT_EQ(source().QueryValue(db_, "SELECT count(*) FROM pg_replication_slots"), "0");
}

}  // namespace
}  // namespace stagesync::testing
