// `stagesync copy --rebuild-indexes` on PostgreSQL and MariaDB targets: the target tables'
// secondary indexes, unique keys and foreign keys are dropped for the data and re-created
// after it, each exactly as it was; a copy killed while they are dropped re-creates them when
// it resumes (or copies afresh); one that cannot be re-created stops the copy naming it, and
// `run` waits until it is.
#include <algorithm>
#include <thread>

#include "copy_fixture.h"

namespace stagesync::testing {
namespace {

using namespace std::chrono_literals;

class CopyIndexesTest : public CopyTest {
 protected:
  void CreateTables(const std::string& target_extra = "") const {
    const std::string ddl =
        "CREATE TABLE parent (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE);"
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL, note varchar(40),"
        " FOREIGN KEY (parent_id) REFERENCES parent (id));"
        "CREATE INDEX ix_child_parent ON child (parent_id)";
    OnSource(ddl);
    OnTarget(ddl + (target_extra.empty() ? "" : ";" + target_extra));
  }
  void Fill(int children) const {
    OnSource(source_mysql()
                 ? "SET SESSION max_recursive_iterations = 10000000; INSERT INTO parent WITH "
                   "RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) "
                   "SELECT i, CONCAT('code', i) FROM n; INSERT INTO child WITH RECURSIVE n(i) AS "
                   "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                       std::to_string(children) +
                       ") SELECT i, i % 50 + 1, CONCAT('note ', i) FROM n; ANALYZE TABLE child"
                 : "INSERT INTO parent SELECT i, 'code' || i FROM generate_series(1, 50) i; "
                   "INSERT INTO child SELECT i, i % 50 + 1, 'note ' || i FROM "
                   "generate_series(1, " +
                       std::to_string(children) + ") i; ANALYZE child");
  }
  // Every index and constraint of parent and child on the target, as the catalog defines it.
  std::vector<std::string> TargetKeys() const {
    std::vector<std::string> keys;
    if (target_mysql()) {
      for (const char* table : {"parent", "child"}) {
        Rows rows = target_.Query(db_, std::string("SHOW CREATE TABLE ") + table);
        std::string text = rows.at(0).at(1).value_or("");
        for (size_t at = 0, nl; at < text.size(); at = nl + 1) {
          nl = text.find('\n', at);
          if (nl == std::string::npos) nl = text.size();
          std::string line = text.substr(at, nl - at);
          if (!line.empty() && line.back() == ',') line.pop_back();
          if (line.find("KEY ") != std::string::npos) keys.push_back(table + (":" + line));
        }
      }
    } else {
      for (const auto& r : target_.Query(
               db_,
               "SELECT c.relname || ': ' || pg_get_indexdef(i.indexrelid) FROM pg_index i "
               "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid IN ('parent'::regclass, "
               "'child'::regclass) UNION ALL SELECT conname || ': ' || pg_get_constraintdef(oid) "
               "FROM pg_constraint WHERE conrelid IN ('parent'::regclass, 'child'::regclass)")) {
        keys.push_back(r.at(0).value_or(""));
      }
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  int Recorded(const std::string& where) const {
    std::string n = TargetValue("SELECT count(*) FROM stagesync.copy_indexes WHERE stream = '" +
                                db_ + "' AND " + where);
    return n.empty() ? 0 : std::stoi(n);
  }
};

TEST_P(CopyIndexesTest, DropsThemForTheDataAndRecreatesEachAsItWas) {
  CreateTables("CREATE INDEX ix_child_note ON child (note)");
  Fill(5000);
  const std::vector<std::string> before = TargetKeys();
  // parent: the unique code; child: two indexes and the foreign key (MySQL names it).
  ASSERT_GE(before.size(), 6u);
  SetupOrFail();
  CommandResult copy = Stagesync({"copy", "--rebuild-indexes", "--json"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  EXPECT_NE(copy.err.find("dropped 4 secondary indexes and foreign keys"), std::string::npos)
      << copy.Describe();
  EXPECT_NE(copy.err.find("re-created foreign key"), std::string::npos) << copy.Describe();
  EXPECT_NE(copy.out.find("\"indexes\":4,\"indexes_rebuilt\":4"), std::string::npos) << copy.out;
  EXPECT_EQ(TargetKeys(), before);
  EXPECT_EQ(Recorded("rebuilt_at IS NOT NULL"), 4);
  EXPECT_EQ(TargetValue("SELECT count(*) FROM child"), "5000");
  // The stream goes on over the re-created keys.
  StartRun();
  OnSource("INSERT INTO child VALUES (5001, 7, 'streamed')");
  OnSource("UPDATE parent SET code = 'renamed' WHERE id = 7");
  EXPECT_TRUE(Converges("SELECT count(*), sum(parent_id) FROM child",
                        "SELECT count(*), sum(parent_id) FROM child"))
      << RunLog();
  EXPECT_TRUE(
      Converges("SELECT code FROM parent WHERE id = 7", "SELECT code FROM parent WHERE id = 7"))
      << RunLog();
}

// Killed while the keys are dropped: PostgreSQL resumes in its snapshot, MariaDB copies afresh
// with --truncate; either way the keys dropped by the first copy come back.
TEST_P(CopyIndexesTest, AKilledCopyRecreatesWhatItDropped) {
  CreateTables();
  OnBoth("CREATE TABLE big (id int PRIMARY KEY, payload varchar(200))");
  OnTarget("CREATE INDEX ix_big_payload ON big (payload)");
  FillBig(600000);
  Fill(100);
  const std::vector<std::string> before = TargetKeys();
  const std::string mapping = spec_.extra_toml.substr(0, spec_.extra_toml.find("[copy]"));
  spec_.extra_toml = mapping + "[copy]\njobs = 1\npart_bytes = 1000000\nmax_parts = 16\n";
  SetupOrFail();
  auto copy = Start("copy", {"--rebuild-indexes"});
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (RangesDone() < 2 && copy->Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(copy->Running()) << "the copy ended before it could be killed: " << copy->Stderr();
  copy->Kill();
  ASSERT_NE(TargetKeys(), before) << "the keys were not dropped for the data";
  EXPECT_EQ(Recorded("rebuilt_at IS NULL"), 4);

  CommandResult again = Stagesync({"copy"});
  if (source_mysql()) {
    ASSERT_EQ(again.exit_code, 2) << again.Describe();
    again = Stagesync({"copy", "--truncate"});
  }
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(TargetKeys(), before) << again.Describe();
  EXPECT_EQ(TargetValue("SELECT count(*) FROM big"), "600000");
}

// A unique index the copied rows break (the target's own, which the source lacks) stops the
// copy naming it; `run` refuses until the DBA has dealt with it and `copy` re-created the rest.
TEST_P(CopyIndexesTest, AnIndexThatCannotBeRecreatedIsNamed) {
  CreateTables("CREATE UNIQUE INDEX ux_child_parent ON child (parent_id)");
  Fill(200);  // 200 children of 50 parents
  SetupOrFail();
  CommandResult copy = Stagesync({"copy", "--rebuild-indexes"});
  ASSERT_EQ(copy.exit_code, 1) << copy.Describe();
  EXPECT_NE(copy.err.find("re-creating unique index ux_child_parent on"), std::string::npos)
      << copy.Describe();
  EXPECT_NE(copy.err.find("run `stagesync copy` again"), std::string::npos) << copy.Describe();
  CommandResult run = Stagesync({"run"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  // The DBA keeps the index, but not unique: copy finds it there and finishes.
  OnTarget("CREATE INDEX ux_child_parent ON child (parent_id)");
  CommandResult again = Stagesync({"copy"});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(Recorded("rebuilt_at IS NULL"), 0);
  EXPECT_EQ(TargetValue("SELECT count(*) FROM child"), "200");
}

INSTANTIATE_TEST_SUITE_P(Engines, CopyIndexesTest,
                         ::testing::Values(CopyVariant{"pg_to_pg", false, false},
                                           CopyVariant{"mariadb_to_mariadb", true, true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace stagesync::testing
