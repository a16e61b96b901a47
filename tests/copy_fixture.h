// The fixture of the `stagesync copy` tests: a source and a target of the variant's engines
// (servers shared by the suite), a database per test, copy's ranges read from the target.
#pragma once

#include "engine_fixture.h"

namespace stagesync::testing {

struct CopyVariant {
  const char* name;
  bool source_mysql;
  bool target_mysql;
};

class CopyTest : public EngineSyncTest, public ::testing::WithParamInterface<CopyVariant> {
 public:
  static void TearDownTestSuite() {
    for (auto* s : {&pg_source_, &pg_target_}) s->reset();
    for (auto* s : {&my_source_, &my_target_}) s->reset();
  }

 protected:
  void SetUp() override {
    const CopyVariant& v = GetParam();
    auto server = [](bool mysql, std::unique_ptr<PgCluster>& pg,
                     std::unique_ptr<MariaDbServer>& my) -> ServerRef {
      if (mysql) {
        if (!my) my = std::make_unique<MariaDbServer>();
        return {nullptr, my.get()};
      }
      if (!pg) pg = std::make_unique<PgCluster>();
      return {pg.get(), nullptr};
    };
    Prepare(server(v.source_mysql, pg_source_, my_source_),
            server(v.target_mysql, pg_target_, my_target_),
            std::string("c") + (v.source_mysql ? "m" : "p") + (v.target_mysql ? "m" : "p") + "_");
    if (v.source_mysql && !v.target_mysql) {
      spec_.extra_toml = "[mapping]\n\"" + db_ + ".*\" = { table = \"public.*\" }\n";
    }
    spec_.extra_toml += "[copy]\njobs = 2\npart_bytes = 65536\nmax_parts = 4\n";
  }

  bool source_mysql() const { return GetParam().source_mysql; }
  bool target_mysql() const { return GetParam().target_mysql; }
  void OnBoth(const std::string& sql) const {
    OnSource(sql);
    OnTarget(sql);
  }
  std::string TargetValue(const std::string& sql) const {
    Rows rows = target_.Query(db_, sql);
    return rows.empty() || rows[0].empty() || !rows[0][0] ? "" : *rows[0][0];
  }
  // The copy's ranges on the target, `where` they hold. A MariaDB target keeps every stream's
  // bookkeeping in one database: only this test's stream counts.
  int Ranges(const std::string& where = "true") const {
    std::string n = TargetValue("SELECT count(*) FROM stagesync.copy_ranges WHERE stream = '" +
                                db_ + "' AND " + where);
    return n.empty() ? 0 : std::stoi(n);
  }
  int RangesDone() const { return Ranges("done_at IS NOT NULL"); }

  // `rows` rows in `big` (id, 100 bytes of payload), inserted in one statement.
  void FillBig(int rows) const {
    if (source_mysql()) {
      OnSource(
          "SET SESSION max_recursive_iterations = 10000000; INSERT INTO big WITH RECURSIVE "
          "n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
          std::to_string(rows) + ") SELECT i, REPEAT('x', 100) FROM n; ANALYZE TABLE big");
    } else {
      OnSource("INSERT INTO big SELECT i, repeat('x', 100) FROM generate_series(1, " +
               std::to_string(rows) + ") i");
    }
  }

  static inline std::unique_ptr<PgCluster> pg_source_, pg_target_;
  static inline std::unique_ptr<MariaDbServer> my_source_, my_target_;
};

}  // namespace stagesync::testing
