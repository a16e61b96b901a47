// The acceptance of the upgrade rules (issue 13): a WSO2 Carbon 4.1.x production keeps taking
// the upgrade page's production tests (tenants, user stores, users, roles including everyone
// and wso2.anonymous.role, assignments, permissions, renames, deletes, a tenant created and
// another deleted) while staging, copied and migrated to 4.2.0, follows it with the shipped
// rule file. Then a fresh copy of production's final state is migrated with the release's
// migration, and staging must equal it on every table and every column, staging-only ones
// included, while the sync runs. UM_DOMAIN_ID is compared through the domain it points at.
#include <fstream>
#include <iostream>

#include "sync_fixture.h"
#include "variant_fixture.h"

namespace stagesync::testing {
namespace {

using namespace std::chrono_literals;

class Wso2UpgradeTest : public VariantSyncTest {
 protected:
  void SetUp() override {
    PrepareVariant("w");
    expected_ = db_.substr(0, 36) + "_exp";
  }

  // A shell command's success, for the clients (psql, pg_dump, mariadb, mariadb-dump).
  void Shell(const std::string& command) {
    CommandResult r =
        RunCommand({"/bin/bash", "-o", "pipefail", "-c", command}, "shell-" + db_, 300s);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  // The client of `server` on database `db`.
  std::string Client(const ServerRef& server, const std::string& db) const {
    if (server.my) {
      return "mariadb --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 -P " +
             std::to_string(server.my->port()) + " -u root " + db;
    }
    return "psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(server.pg->port()) +
           " -U postgres -d " + db;
  }
  std::string Dump(const ServerRef& server, const std::string& db) const {
    if (server.my) {
      return "mariadb-dump --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 -P " +
             std::to_string(server.my->port()) + " -u root --single-transaction --hex-blob " + db;
    }
    return "pg_dump -h 127.0.0.1 -p " + std::to_string(server.pg->port()) +
           " -U postgres --no-publications --no-subscriptions --exclude-schema=stagesync "
           "--exclude-schema=demo_workload " +
           db;
  }
  std::string Migration() const {
    return FixturesDir() + (mysql()
                                ? "/wso2/migration-4.1.x_to_4.2.0/userstore_db/mysql.sql"
                                : "/wso2/derived/postgresql-migration-4.1.x_to_4.2.0.DERIVED.sql");
  }
  // A file of the repository with the demo's database name replaced by this test's.
  std::string Localized(const std::string& relative) {
    std::string text = ReadFile(RepoDir() + "/" + relative);
    for (size_t at = text.find("wso2carbon."); at != std::string::npos;
         at = text.find("wso2carbon.", at)) {
      text.replace(at, 10, db_);
      at += db_.size();
    }
    const std::string path = config_path_ + "." + std::to_string(files_++) + ".sql";
    WriteFile(path, text);
    return path;
  }

  // Production at 4.1.x with the demo's seed and workload routines; staging its copy,
  // migrated (or, `by_copy`, the migrated schema alone); the sync set up from there.
  void CreateProductionAndStaging(bool by_copy = false) {
    const std::string schema =
        FixturesDir() + "/wso2/carbon-4.1.x/" + (mysql() ? "mysql.sql" : "postgresql.sql");
    ASSERT_NO_FATAL_FAILURE(Shell(Client(source_, db_) + " < " + schema));
    if (mysql()) {
      ASSERT_NO_FATAL_FAILURE(Shell("{ echo 'SET @tenants = 3, @users = 40;'; cat " + RepoDir() +
                                    "/sql/demo/mysql/seed.sql; } | " + Client(source_, db_) +
                                    " > /dev/null"));
      ASSERT_NO_FATAL_FAILURE(
          Shell(Client(source_, "") + " < " + Localized("sql/demo/mysql/workload.sql")));
    } else {
      ASSERT_NO_FATAL_FAILURE(Shell(Client(source_, db_) + " -v tenants=3 -v users=40 -f " +
                                    RepoDir() + "/sql/demo/seed.sql > /dev/null"));
      ASSERT_NO_FATAL_FAILURE(Shell("PGOPTIONS='-c client_min_messages=warning' " +
                                    Client(source_, db_) + " -f " + RepoDir() +
                                    "/sql/demo/workload.sql"));
    }
    if (by_copy) {
      // Staging is the release's schema, empty: the 4.1.x one migrated. `copy` fills it.
      ASSERT_NO_FATAL_FAILURE(Shell(Client(target_, db_) + " < " + schema + " > /dev/null"));
    } else {
      ASSERT_NO_FATAL_FAILURE(Shell(Dump(source_, db_) + " | " + Client(target_, db_)));
    }
    ASSERT_NO_FATAL_FAILURE(Shell(Client(target_, db_) + " < " + Migration() + " > /dev/null"));

    // Tables without a key (registry link tables the user store does not write) stay out.
    const std::string keyless =
        mysql() ? "SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = '" +
                      db_ +
                      "' AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c "
                      "WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND "
                      "c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE'))"
                : "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM "
                  "pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)";
    // On PostgreSQL, copied by `stagesync copy` they start exactly where the stream does, so
    // they can be synced (REPLICA IDENTITY FULL). MySQL cannot locate their rows: they stay
    // out, and with the copy their (static) rows are copied as a DBA would, by a dump.
    std::string unsynced;
    for (const auto& row : source_.Query(db_, keyless)) {
      const std::string table = row[0].value_or("");
      if (by_copy && !mysql()) {
        OnSource("ALTER TABLE " + table + " REPLICA IDENTITY FULL");
      } else {
        spec_.exclude.push_back((mysql() ? db_ : std::string("public")) + "." + table);
        unsynced += " " + table;
      }
    }
    spec_.allow_keyless = by_copy && !mysql();
    if (by_copy && mysql() && !unsynced.empty()) {
      ASSERT_NO_FATAL_FAILURE(Shell(Dump(source_, db_) + " --no-create-info" + unsynced + " | " +
                                    Client(target_, db_)));
    }
    spec_.extra_toml += "[upgrade]\nrules = \"" + RepoDir() +
                        "/deploy/upgrades/wso2-carbon-4.1.x-to-4.2.0/" +
                        (mysql() ? "mysql.toml" : "postgresql.toml") + "\"\n";
    ASSERT_NO_FATAL_FAILURE(UseTransport());
    SetupOrFail();
  }

  // The upgrade page's production tests, in `steps` transactions of the demo's workload mix
  // (tenants, users in each store, roles, renames, password and profile edits, revokes,
  // deletes), then a tenant created with roles everyone and wso2.anonymous.role granted, and
  // a seeded tenant deleted with all its rows.
  void ProductionTests(int steps, int first = 1) {
    Steps(first, steps);
    Finale();
  }
  void Steps(int first, int last) {
    std::string calls;
    for (int i = first; i <= last; ++i) {
      calls += (mysql() ? "CALL demo_workload.step(" : "SELECT demo_workload.step(") +
               std::to_string(i) + ");\n";
    }
    const std::string path = config_path_ + ".steps.sql";
    WriteFile(path, calls);
    ASSERT_NO_FATAL_FAILURE(Shell(Client(source_, db_) + " < " + path + " > /dev/null"));
  }
  void Finale() {
    if (mysql()) {
      OnSource("CALL demo_workload.add_tenant(9001)");
    } else {
      OnSource("SELECT demo_workload.add_tenant(9001)");
    }
    // The new tenant grants its permissions to the anonymous role too.
    OnSource(
        "INSERT INTO UM_ROLE_PERMISSION (UM_PERMISSION_ID, UM_ROLE_NAME, UM_IS_ALLOWED, "
        "UM_TENANT_ID) SELECT UM_ID, 'wso2.anonymous.role', 1, UM_TENANT_ID FROM UM_PERMISSION "
        "WHERE UM_TENANT_ID = (SELECT MAX(UM_ID) FROM UM_TENANT)");
    DeleteTenant();
  }

  // Carbon's tenant deletion in the user store: every UM_ row of the tenant, then the tenant
  // (its registry stays, as Carbon keeps it).
  void DeleteTenant() {
    const std::string tenant =
        source_.Query(db_, "SELECT MIN(UM_ID) FROM UM_TENANT")[0][0].value_or("");
    const std::string columns =
        mysql() ? "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c WHERE "
                  "c.TABLE_SCHEMA = '" +
                      db_ +
                      "' AND c.COLUMN_NAME = 'UM_TENANT_ID' AND c.TABLE_NAME "
                      "<> 'UM_TENANT'"
                : "SELECT table_name, column_name FROM information_schema.columns WHERE "
                  "table_schema = 'public' AND column_name = 'um_tenant_id' "
                  "AND table_name <> 'um_tenant'";
    std::string sql = mysql() ? "SET foreign_key_checks = 0; START TRANSACTION;"
                              : "BEGIN; SET LOCAL session_replication_role = replica;";
    for (const auto& row : source_.Query(db_, columns)) {
      const std::string table = row[0].value_or(""), column = row[1].value_or("");
      sql += "DELETE FROM " + table + " WHERE " + column + " = " + tenant + ";";
    }
    sql += "DELETE FROM UM_TENANT WHERE UM_ID = " + tenant + "; COMMIT";
    OnSource(sql);
  }

  // One query per table of the migrated copy, every column in order; UM_DOMAIN_ID as the
  // domain it points at ("NAME@tenant"), UM_DOMAIN without its surrogate id.
  std::vector<std::pair<std::string, std::string>> TableQueries() {
    const std::string catalog =
        mysql() ? "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                  "TABLE_SCHEMA = '" +
                      expected_ + "' ORDER BY TABLE_NAME, ORDINAL_POSITION"
                : "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN "
                  "information_schema.tables t USING (table_schema, table_name) WHERE "
                  "c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY "
                  "c.table_name, c.ordinal_position";
    std::map<std::string, std::vector<std::string>> columns;
    for (const auto& row : source_.Query(expected_, catalog)) {
      columns[row[0].value_or("")].push_back(row[1].value_or(""));
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [table, names] : columns) {
      bool domain_table = AsciiUpper(table) == "UM_DOMAIN";
      std::string list;
      int n = 0;
      for (const auto& c : names) {
        std::string expr = c;
        if (AsciiUpper(c) == "UM_DOMAIN_ID") {
          if (domain_table) continue;
          expr = mysql() ? "(SELECT CONCAT(d.UM_DOMAIN_NAME, '@', d.UM_TENANT_ID) FROM UM_DOMAIN "
                           "d WHERE d.UM_DOMAIN_ID = t.UM_DOMAIN_ID AND d.UM_TENANT_ID = "
                           "t.UM_TENANT_ID)"
                         : "(SELECT d.um_domain_name || '@' || d.um_tenant_id FROM um_domain d "
                           "WHERE d.um_domain_id = t.um_domain_id AND d.um_tenant_id = "
                           "t.um_tenant_id)";
        }
        list += (list.empty() ? "" : ", ") + expr;
        ++n;
      }
      std::string order;
      for (int i = 1; i <= n; ++i) order += (i > 1 ? ", " : "") + std::to_string(i);
      out.emplace_back(table, "SELECT " + list + " FROM " + table + " t ORDER BY " + order);
    }
    return out;
  }

  static std::string AsciiUpper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  // Waits (while the sync runs) until staging equals the release's migration of a fresh copy
  // of production's final state, every table and column, and prints the comparison.
  void ExpectStagingEqualsTheMigration();

  std::string expected_;
  int files_ = 0;
};

TEST_P(Wso2UpgradeTest, staging_equals_the_migration_of_production_on_every_table_and_column) {
  ASSERT_NO_FATAL_FAILURE(CreateProductionAndStaging());
  StartStream();
  ASSERT_NO_FATAL_FAILURE(ProductionTests(240));
  ExpectStagingEqualsTheMigration();
}

// `stagesync copy` into the release's empty schema, through the rules, after production took
// writes since `setup`; then the stream: the same result as the migration of production.
TEST_P(Wso2UpgradeTest, copied_through_the_rules_staging_equals_the_migration_too) {
  ASSERT_NO_FATAL_FAILURE(CreateProductionAndStaging(/*by_copy=*/true));
  ASSERT_NO_FATAL_FAILURE(Steps(1, 60));
  CommandResult copy = Stagesync({"copy"});
  ASSERT_EQ(copy.exit_code, 0) << copy.Describe();
  StartStream();
  ASSERT_NO_FATAL_FAILURE(ProductionTests(200, 61));
  ExpectStagingEqualsTheMigration();
}

void Wso2UpgradeTest::ExpectStagingEqualsTheMigration() {
  // The release's migration of a fresh copy of production's final state.
  source_.CreateDatabase(expected_);
  ASSERT_NO_FATAL_FAILURE(Shell(Dump(source_, db_) + " | " + Client(source_, expected_)));
  ASSERT_NO_FATAL_FAILURE(Shell(Client(source_, expected_) + " < " + Migration() + " > /dev/null"));

  const auto queries = TableQueries();
  ASSERT_GT(queries.size(), 30u);
  std::map<std::string, std::string> differs;  // table -> what differs
  std::map<std::string, size_t> rows;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  do {
    differs.clear();
    for (const auto& [table, query] : queries) {
      Rows want = source_.Query(expected_, query);
      Rows got;
      try {
        got = target_.Query(db_, query);
      } catch (const std::exception& e) {
        differs[table] = e.what();
        continue;
      }
      rows[table] = want.size();
      if (JoinedRows(want) != JoinedRows(got)) {
        differs[table] = std::to_string(want.size()) + " rows migrated, " +
                         std::to_string(got.size()) + " on staging";
      }
    }
    if (differs.empty() || !StreamRunning()) break;
    std::this_thread::sleep_for(500ms);
  } while (std::chrono::steady_clock::now() < deadline);

  // The comparison, as the note quotes it.
  std::cout << "[wso2 acceptance, " << GetParam().name << "] " << queries.size()
            << " tables, every column:\n";
  for (const auto& [table, query] : queries) {
    std::cout << "  " << table << ": " << rows[table] << " rows, "
              << (differs.count(table) ? "DIFFERS (" + differs[table] + ")" : "equal") << "\n";
  }
  EXPECT_TRUE(differs.empty()) << differs.size() << " tables differ\n" << Logs();
  EXPECT_TRUE(StreamRunning()) << "the comparison must hold while the sync runs\n" << Logs();
  // The workload did what the upgrade page's tests do: new tenants' domains came from rules.
  EXPECT_GT(rows["UM_DOMAIN"] + rows["um_domain"], 3u * 5);
}

INSTANTIATE_TEST_SUITE_P(Engines, Wso2UpgradeTest, AllVariants(), VariantName);

}  // namespace
}  // namespace stagesync::testing
