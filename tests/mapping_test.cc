// Staging's schema is the new release's, not production's: extra target columns keep their
// defaults, source-only columns are dropped with a warning, [mapping] renames, and names
// match case-insensitively (exact matches first, also when a namesake differs only in case).
#include <fstream>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

using MappingTest = SyncTest;

TEST_F(MappingTest, target_extra_column_keeps_default) {
  OnSource("CREATE TABLE people(id int PRIMARY KEY, name text)");
  OnTarget(
      "CREATE TABLE people(id int PRIMARY KEY, name text, extra text DEFAULT 'dflt', "
      "n int NOT NULL DEFAULT 42, created timestamptz DEFAULT '2020-01-01 00:00+00')");
  // A row copied before the stream and migrated in staging: its extra value must survive.
  OnSource("INSERT INTO people VALUES (5, 'copied')");
  OnTarget("INSERT INTO people(id, name, extra) VALUES (5, 'copied', 'migrated')");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO people SELECT i, 'p' || i FROM generate_series(1, 4) i");
  OnSource("UPDATE people SET name = 'renamed' WHERE id IN (1, 5)");
  OnSource("DELETE FROM people WHERE id = 2");
  ASSERT_TRUE(Converges({{"people", "id", "people", "id, name"}}));
  Rows rows = target().Query(db_,
                             "SELECT id, extra, n, created = '2020-01-01 00:00+00' "
                             "FROM people ORDER BY id");
  ASSERT_EQ(rows.size(), 4u);
  for (const Row& r : rows) {
    EXPECT_EQ(r[1], *r[0] == "5" ? "migrated" : "dflt") << "id " << *r[0];
    EXPECT_EQ(r[2], "42") << "id " << *r[0];
    EXPECT_EQ(r[3], "t") << "id " << *r[0];
  }
}

TEST_F(MappingTest, value_the_target_rejects_stops_naming_table_key_and_error) {
  // Staging's migration narrowed a column; a production value no longer fits.
  OnSource("CREATE TABLE codes(id int PRIMARY KEY, code text)");
  OnTarget("CREATE TABLE codes(id int PRIMARY KEY, code int)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO codes VALUES (1, '10'), (2, '20')");
  ASSERT_TRUE(Converges({{"codes", "id"}}));
  OnSource("INSERT INTO codes VALUES (3, '30'), (4, 'forty'), (5, '50')");
  auto code = run_->Wait(60s);
  ASSERT_TRUE(code.has_value()) << "run went on after a rejected value\n" << RunLog();
  EXPECT_NE(*code, 0);
  const std::string log = RunLog();
  EXPECT_NE(log.find("codes key (id=4)"), std::string::npos) << log;
  EXPECT_NE(log.find("invalid input syntax"), std::string::npos) << log;
  EXPECT_NE(log.find("forty"), std::string::npos) << log;
  EXPECT_NE(log.find("column code (integer)"), std::string::npos) << log;
  EXPECT_NE(log.find("lsn="), std::string::npos) << log;
  // The transaction it belongs to is not half applied.
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM codes"), "2");
}

TEST_F(MappingTest, source_only_column_dropped_with_warning) {
  OnSource("CREATE TABLE people(id int PRIMARY KEY, name text, legacy_flag text)");
  OnTarget("CREATE TABLE people(id int PRIMARY KEY, name text)");
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO people VALUES (1, 'a', 'x'), (2, 'b', NULL), (3, 'c', 'y')");
  OnSource("UPDATE people SET legacy_flag = 'only this changed' WHERE id = 1");
  OnSource("UPDATE people SET name = 'bb', legacy_flag = 'z' WHERE id = 2");
  OnSource("DELETE FROM people WHERE id = 3");
  ASSERT_TRUE(Converges({{"people", "id", "people", "id, name", "id, name"}}));
  EXPECT_NE(run_->Stderr().find("legacy_flag"), std::string::npos)
      << "expected a warning naming the dropped column\n"
      << RunLog();
  EXPECT_TRUE(run_->Running()) << RunLog();
}

TEST_F(MappingTest, mapping_renames_columns_and_tables) {
  OnSource(R"(CREATE TABLE um_user(um_id int PRIMARY KEY, um_user_name text, um_tenant_id int);
              CREATE TABLE um_role(um_id int PRIMARY KEY, um_role_name text);)");
  OnTarget(R"(CREATE TABLE um_user(um_id int PRIMARY KEY, um_username text, um_tenant_id int);
              CREATE TABLE um_role_v2(um_id int PRIMARY KEY, role_name text);)");
  spec_.extra_toml = R"([mapping]
"public.um_user" = { table = "public.um_user", columns = { um_user_name = "um_username" } }
"public.um_role" = { table = "public.um_role_v2", columns = { um_role_name = "role_name" } }
)";
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO um_user VALUES (1, 'admin', -1234), (2, 'bob', 1);
              UPDATE um_user SET um_user_name = 'robert' WHERE um_id = 2;
              INSERT INTO um_role VALUES (1, 'admin'), (2, 'everyone');
              UPDATE um_role SET um_role_name = 'Internal/everyone' WHERE um_id = 2;
              DELETE FROM um_role WHERE um_id = 1;)");
  EXPECT_TRUE(
      Converges({{"um_user", "um_id", "um_user", "um_id, um_user_name, um_tenant_id",
                  "um_id, um_username, um_tenant_id"},
                 {"um_role", "um_id", "um_role_v2", "um_id, um_role_name", "um_id, role_name"}}));
}

// The release's rule file renames a column; a rule computing a column the source already
// feeds is refused by setup (exit 2, naming the rule and the feeding column).
TEST_F(MappingTest, upgrade_rule_renames_a_column_and_a_rule_computing_a_fed_column_is_refused) {
  OnSource("CREATE TABLE orders(id int PRIMARY KEY, total numeric)");
  OnTarget("CREATE TABLE orders(id int PRIMARY KEY, amount numeric)");
  const std::string rules = config_path_ + ".rules.toml";
  auto write_rules = [&](const std::string& text) {
    std::ofstream(rules) << text;
    spec_.extra_toml = "[upgrade]\nrules = \"" + rules + "\"\n";
  };
  write_rules(
      "[[rename]]\nname = \"total is amount\"\ntable = \"orders\"\nfrom = \"total\"\nto = "
      "\"amount\"\n[[compute]]\nname = \"doubled\"\ntable = \"orders\"\ncolumn = "
      "\"amount\"\nvalue = \":total * 2\"\n");
  WriteConfig();
  CommandResult refused = Stagesync({"setup"});
  EXPECT_EQ(refused.exit_code, 2) << refused.Describe();
  EXPECT_NE(refused.err.find("[[compute]] rule \"doubled\""), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("orders.amount is fed by source column total"), std::string::npos)
      << refused.err;

  write_rules(
      "[[rename]]\nname = \"total is amount\"\ntable = \"orders\"\nfrom = \"total\"\nto = "
      "\"amount\"\n");
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO orders VALUES (1, 10.5), (2, 20);
              UPDATE orders SET total = 21 WHERE id = 2;)");
  EXPECT_TRUE(Converges({{"orders", "id", "orders", "id, total", "id, amount"}}));
}

TEST_F(MappingTest, names_match_case_insensitively) {
  OnSource(
      "CREATE TABLE um_user_attribute(um_id int PRIMARY KEY, um_attr_name text, "
      "um_attr_value text)");
  OnTarget(R"(CREATE TABLE "UM_USER_ATTRIBUTE"("UM_ID" int PRIMARY KEY, "UM_ATTR_NAME" text,
                                               "Um_Attr_Value" text))");
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO um_user_attribute VALUES (1, 'email', 'a@b.c'), (2, 'tel', NULL);
              UPDATE um_user_attribute SET um_attr_value = 'x' WHERE um_id = 2;
              INSERT INTO um_user_attribute VALUES (3, 'gone', 'soon');
              DELETE FROM um_user_attribute WHERE um_id = 3;)");
  EXPECT_TRUE(Converges({{"um_user_attribute", "um_id", R"("UM_USER_ATTRIBUTE")",
                          "um_id, um_attr_name, um_attr_value",
                          R"("UM_ID" AS um_id, "UM_ATTR_NAME", "Um_Attr_Value")"}}));
}

TEST_F(MappingTest, case_colliding_names_match_exactly) {
  OnBoth(R"(CREATE TABLE "CamelCase"("Id" int PRIMARY KEY, "Value" text, value text);
            CREATE TABLE camelcase(id int PRIMARY KEY, v text);)");
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO "CamelCase" VALUES (1, 'upper', 'lower'), (2, NULL, 'only lower');
              INSERT INTO camelcase VALUES (1, 'plain');
              UPDATE "CamelCase" SET value = 'changed lower' WHERE "Id" = 1;)");
  EXPECT_TRUE(Converges({{R"("CamelCase")", R"("Id")"}, {"camelcase", "id"}}));
}

// The source has "Value" and value, staging only value: that is the source's value, and
// "Value" (known at setup) is dropped. Both used to feed it, and every insert was rejected.
TEST_F(MappingTest, a_case_colliding_source_column_the_target_lacks_is_dropped) {
  OnSource(R"(CREATE TABLE "Mixed"(id int PRIMARY KEY, "Value" text, value text))");
  OnTarget(R"(CREATE TABLE "Mixed"(id int PRIMARY KEY, value text))");
  SetupOrFail();
  StartRun();
  OnSource(R"(INSERT INTO "Mixed" VALUES (1, 'upper', 'lower'), (2, 'only upper', NULL);
              UPDATE "Mixed" SET value = 'changed', "Value" = 'x' WHERE id = 1;)");
  EXPECT_TRUE(Converges({{R"("Mixed")", "id", R"("Mixed")", "id, value", "id, value"}}));
  EXPECT_NE(RunLog().find("Mixed.Value has no target column"), std::string::npos) << RunLog();
  EXPECT_TRUE(run_->Running()) << RunLog();
}

}  // namespace
}  // namespace stagesync::testing
