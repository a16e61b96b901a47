// [upgrade] rules on every engine and transport: a computed column looked up on the target,
// a default for a staging-only NOT NULL column, statements after a row (a new tenant's
// domains, and their removal), a table dropped on purpose; the checks before the window, and
// a rule failing on a row, which stops naming the rule, the row and its position (through
// Kafka with on_error = "dead-letter": sets the record aside).
#include <fstream>

#include "variant_fixture.h"

namespace stagesync::testing {
namespace {

using namespace std::chrono_literals;

class UpgradeRulesTest : public VariantSyncTest {
 protected:
  void SetUp() override { PrepareVariant("r"); }

  // Production's 4.1-like tables, and staging migrated: domains per tenant, a domain id and a
  // NOT NULL flag in perm, no legacy table.
  void CreateSchemas() {
    const std::string tables =
        "CREATE TABLE tenant (id int PRIMARY KEY, name varchar(50));"
        "CREATE TABLE perm (id int PRIMARY KEY, tenant_id int NOT NULL, role_name varchar(50), "
        "note varchar(50));";
    OnSource(tables + "CREATE TABLE legacy (id int PRIMARY KEY, v varchar(20));" +
             "INSERT INTO tenant VALUES (1, 'first')");
    OnTarget(
        "CREATE TABLE tenant (id int PRIMARY KEY, name varchar(50));"
        "CREATE TABLE perm (id int PRIMARY KEY, tenant_id int NOT NULL, role_name varchar(50), "
        "note varchar(50), domain_id int, shared int NOT NULL);" +
        std::string(mysql() ? "CREATE TABLE dom (domain_id int AUTO_INCREMENT"
                            : "CREATE TABLE dom (domain_id serial") +
        ", domain_name varchar(50), tenant_id int NOT NULL, PRIMARY KEY (domain_id, tenant_id));"
        "INSERT INTO tenant VALUES (1, 'first');"
        "INSERT INTO dom (domain_name, tenant_id) VALUES ('PRIMARY', 1), ('SYSTEM', 1), "
        "('INTERNAL', 1)");
  }

  void UseRules(const std::string& toml) {
    const std::string path = config_path_ + ".rules.toml";
    std::ofstream(path) << toml;
    spec_.extra_toml += "[upgrade]\nrules = \"" + path + "\"\n";
  }

  // `setup` with the rule file `toml`, on the variant's transport.
  CommandResult SetupWithRules(const std::string& toml) {
    UseRules(toml);
    UseTransport();
    WriteConfig(config_path_, spec_);
    return Stagesync({"setup"});
  }
};

const char* kRules = R"toml(
[[compute]]
name = "perm domain"
table = "perm"
column = "domain_id"
value = """(SELECT d.domain_id FROM dom d WHERE d.tenant_id = :tenant_id AND d.domain_name =
           CASE :role_name WHEN 'everyone' THEN 'INTERNAL' WHEN 'anon' THEN 'SYSTEM'
                           ELSE 'PRIMARY' END)"""

[[default]]
name = "perm not shared"
table = "perm"
column = "shared"
value = "0"

[[after]]
name = "tenant domains"
table = "tenant"
on = ["insert"]
run = """INSERT INTO dom (domain_name, tenant_id)
         SELECT x.n, :id FROM (SELECT 'PRIMARY' AS n UNION ALL SELECT 'SYSTEM'
                               UNION ALL SELECT 'INTERNAL') x
         WHERE NOT EXISTS (SELECT 1 FROM dom d WHERE d.tenant_id = :id AND d.domain_name = x.n)"""

# Through Kafka each table has its topics, not ordered with each other: a permission may
# arrive before its tenant's domains exist. Like the migration, fill in what is missing.
[[after]]
name = "tenant permissions get their domains"
table = "tenant"
on = ["insert"]
run = """UPDATE perm SET domain_id = (SELECT d.domain_id FROM dom d
           WHERE d.tenant_id = perm.tenant_id AND d.domain_name =
             CASE perm.role_name WHEN 'everyone' THEN 'INTERNAL' WHEN 'anon' THEN 'SYSTEM'
                                 ELSE 'PRIMARY' END)
         WHERE perm.tenant_id = :id AND perm.domain_id IS NULL"""

[[after]]
name = "tenant domains go"
table = "tenant"
on = ["delete"]
run = "DELETE FROM dom WHERE tenant_id = :id"

[[drop]]
name = "legacy is gone"
table = "legacy"
reason = "the release drops it"
)toml";

// What the release's migration makes of production's rows.
const char* kExpectedPerms =
    "SELECT p.id, p.tenant_id, CASE p.role_name WHEN 'everyone' THEN 'INTERNAL' WHEN 'anon' "
    "THEN 'SYSTEM' ELSE 'PRIMARY' END, 0 FROM perm p ORDER BY p.id";
const char* kStagingPerms =
    "SELECT p.id, p.tenant_id, d.domain_name, p.shared FROM perm p LEFT JOIN dom d ON "
    "d.domain_id = p.domain_id AND d.tenant_id = p.tenant_id ORDER BY p.id";
const char* kExpectedDomains =
    "SELECT t.id, x.n FROM tenant t CROSS JOIN (SELECT 'INTERNAL' AS n UNION ALL SELECT "
    "'PRIMARY' UNION ALL SELECT 'SYSTEM') x ORDER BY 1, 2";
const char* kStagingDomains = "SELECT tenant_id, domain_name FROM dom ORDER BY 1, 2";

TEST_P(UpgradeRulesTest, rows_of_the_window_arrive_as_the_migration_would_make_them) {
  CreateSchemas();
  CommandResult setup = SetupWithRules(kRules);
  ASSERT_EQ(setup.exit_code, 0) << setup.Describe();
  EXPECT_NE(setup.err.find("dropped on purpose by [[drop]] rule \"legacy is gone\""),
            std::string::npos)
      << setup.err;
  StartStream();
  // perm's plan comes first; the tenant created later must still have its domains before
  // its permissions look them up, in the same source transaction.
  OnSource("INSERT INTO perm VALUES (10, 1, 'everyone', 'a'), (11, 1, 'admin', 'b')");
  OnSource(
      "START TRANSACTION; INSERT INTO tenant VALUES (2, 'second');"
      "INSERT INTO perm VALUES (20, 2, 'anon', 'c'), (21, 2, 'dev', 'd');"
      "INSERT INTO legacy VALUES (1, 'x'); COMMIT");
  OnSource("UPDATE perm SET role_name = 'everyone' WHERE id = 11");
  OnSource("UPDATE perm SET note = 'changed' WHERE id = 20");
  OnSource("UPDATE legacy SET v = 'y' WHERE id = 1");
  OnSource(
      "START TRANSACTION; INSERT INTO tenant VALUES (3, 'brief'); "
      "INSERT INTO perm VALUES (30, 3, 'admin', 'e'); COMMIT");
  OnSource(
      "START TRANSACTION; DELETE FROM perm WHERE id = 30; DELETE FROM tenant WHERE id = 3; "
      "DELETE FROM legacy WHERE id = 1; COMMIT");
  OnSource(
      "START TRANSACTION; INSERT INTO tenant VALUES (4, 'last'); "
      "INSERT INTO perm VALUES (40, 4, 'everyone', 'f'); COMMIT");
  EXPECT_TRUE(Converges(kExpectedPerms, kStagingPerms)) << Logs();
  EXPECT_TRUE(Converges(kExpectedDomains, kStagingDomains)) << Logs();
  EXPECT_TRUE(Applier().Running()) << Logs();

  CommandResult status = Stagesync({"status", "--json"});
  EXPECT_NE(status.out.find("\"dropped_tables\":[{\"table\":\"legacy\",\"rule\":\"legacy is "
                            "gone\",\"reason\":\"the release drops it\"}]"),
            std::string::npos)
      << status.Describe();
}

TEST_P(UpgradeRulesTest, setup_names_each_rule_the_target_or_the_source_cannot_take) {
  CreateSchemas();
  CommandResult setup = SetupWithRules(R"toml(
[[compute]]
name = "unknown lookup column"
table = "perm"
column = "domain_id"
value = "(SELECT d.nope FROM dom d WHERE d.tenant_id = :tenant_id)"

[[compute]]
name = "unknown parameter"
table = "perm"
column = "shared"
value = ":no_such_column"

[[default]]
name = "unknown target column"
table = "perm"
column = "nowhere"
value = "0"

[[after]]
name = "unknown table"
table = "tenant"
on = ["insert"]
run = "INSERT INTO no_such_table VALUES (:id)"

[[split]]
name = "bad split"
table = "legacy"
[[split.into]]
table = "tenant"
when = ":nope > 1"
[[split.into]]
table = "perm"
)toml");
  EXPECT_EQ(setup.exit_code, 2) << setup.Describe();
  for (const char* wanted :
       {"[[compute]] rule \"unknown lookup column\"", "the target rejects its SQL",
        "[[compute]] rule \"unknown parameter\"",
        "parameter :no_such_column names no column of source table",
        "[[default]] rule \"unknown target column\"", "has no column nowhere",
        "[[after]] rule \"unknown table\"", "no_such_table", "[[split]] rule \"bad split\"",
        "parameter :nope names no column of source table"}) {
    EXPECT_NE(setup.err.find(wanted), std::string::npos) << wanted << "\n" << setup.err;
  }
}

TEST_P(UpgradeRulesTest, a_rule_failing_on_a_row_stops_naming_rule_row_and_position) {
  CreateSchemas();
  // 100 / (tenant_id - 9): a row of tenant 9 divides by zero on the target.
  CommandResult setup = SetupWithRules(R"toml(
[[compute]]
name = "fragile"
table = "perm"
column = "domain_id"
value = "100 / (:tenant_id - 9)"
[[default]]
name = "perm not shared"
table = "perm"
column = "shared"
value = "0"
[[drop]]
table = "legacy"
reason = "the release drops it"
)toml");
  ASSERT_EQ(setup.exit_code, 0) << setup.Describe();
  StartStream();
  OnSource("INSERT INTO perm VALUES (1, 1, 'admin', 'a')");
  ASSERT_TRUE(Converges("SELECT id, 1 FROM perm",
                        "SELECT id, CASE WHEN domain_id < 0 THEN 1 ELSE 0 END FROM perm"))
      << Logs();
  OnSource("INSERT INTO perm VALUES (2, 1, 'admin', 'b'), (3, 9, 'admin', 'c'), (4, 1, 'x', 'd')");
  auto code = Applier().Wait(60s);
  ASSERT_TRUE(code.has_value()) << "apply went on after a failing rule\n" << Logs();
  EXPECT_NE(*code, 0);
  const std::string log = Logs();
  EXPECT_NE(log.find("key (id=3) at " + std::string(mysql() ? "" : "lsn=")), std::string::npos)
      << log;
  EXPECT_NE(log.find("[[compute]] rule \"fragile\""), std::string::npos) << log;
  EXPECT_NE(log.find(mysql() ? "Division by 0" : "division by zero"), std::string::npos) << log;
  auto count = [&](const std::string& where) {
    auto rows = target_.Query(db_, "SELECT COUNT(*) FROM perm WHERE " + where);
    return rows.size() == 1 ? rows[0][0].value_or("") : "?";
  };
  EXPECT_EQ(count("id = 3"), "0");
  if (!kafka()) {
    EXPECT_EQ(count("id > 1"), "0") << "the source transaction was half applied";
    return;
  }
  // Through Kafka, records are applied one by one once a batch fails; with
  // on_error = "dead-letter" the record the rule fails on is set aside and apply goes on.
  spec_.extra_toml += "[apply]\non_error = \"dead-letter\"\n";
  WriteConfig(config_path_, spec_);
  apply_ = Start("apply");
  ASSERT_TRUE(Converges("SELECT id FROM perm WHERE id <> 3", "SELECT id FROM perm")) << Logs();
  // Rows 2 and 4 may have been applied before the failure: wait for the record itself.
  const std::string set_aside = "sent to " + db_ + ".dead-letter";
  for (int i = 0; i < 300 && apply_->Stderr().find(set_aside) == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(apply_->Stderr().find(set_aside), std::string::npos) << Logs();
  EXPECT_TRUE(apply_->Running()) << Logs();
  EXPECT_EQ(count("id = 3"), "0");
  EXPECT_NE(apply_->Stderr().find("[[compute]] rule \"fragile\""), std::string::npos) << Logs();
}

// One source table into two target tables by a predicate; a row whose value crosses it
// moves: a delete on one side and an insert on the other, in the same target transaction.
TEST_P(UpgradeRulesTest, a_split_sends_each_row_to_its_part_and_moves_rows_between_parts) {
  OnSource("CREATE TABLE orders (id int PRIMARY KEY, total int, note varchar(20))");
  OnTarget(
      "CREATE TABLE big_orders (id int PRIMARY KEY, total int, note varchar(20));"
      "CREATE TABLE small_orders (id int PRIMARY KEY, total int, note varchar(20))");
  CommandResult setup = SetupWithRules(R"toml(
[[split]]
name = "orders by size"
table = "orders"
[[split.into]]
table = "big_orders"
when = ":total >= 100"
[[split.into]]
table = "small_orders"
)toml");
  ASSERT_EQ(setup.exit_code, 0) << setup.Describe();
  EXPECT_NE(setup.err.find("split by [[split]] rule \"orders by size\" into big_orders, "
                           "small_orders"),
            std::string::npos)
      << setup.err;
  StartStream();
  OnSource("INSERT INTO orders VALUES (1, 50, 'a'), (2, 150, 'b'), (3, 100, 'c'), (4, NULL, 'd')");
  OnSource(
      "START TRANSACTION; UPDATE orders SET total = 500 WHERE id = 1;"
      "UPDATE orders SET total = 5 WHERE id = 2; UPDATE orders SET note = 'cc' WHERE id = 3;"
      "COMMIT");
  OnSource(
      "START TRANSACTION; INSERT INTO orders VALUES (5, 1000, 'e'); "
      "UPDATE orders SET total = 1 WHERE id = 5; DELETE FROM orders WHERE id = 4; "
      "UPDATE orders SET id = 6 WHERE id = 3; COMMIT");
  const std::string columns = "SELECT id, total, note FROM ";
  EXPECT_TRUE(Converges(columns + "orders WHERE total >= 100 ORDER BY id",
                        columns + "big_orders ORDER BY id"))
      << Logs();
  EXPECT_TRUE(Converges(columns + "orders WHERE total < 100 OR total IS NULL ORDER BY id",
                        columns + "small_orders ORDER BY id"))
      << Logs();
  EXPECT_TRUE(Applier().Running()) << Logs();
  CommandResult verify = Stagesync({"verify"});
  EXPECT_NE(verify.out.find("split into several target tables"), std::string::npos)
      << verify.Describe();
}

INSTANTIATE_TEST_SUITE_P(Engines, UpgradeRulesTest, AllVariants(), VariantName);

}  // namespace
}  // namespace stagesync::testing
