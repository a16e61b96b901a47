// How source tables and columns find their target: [mapping] entries and renames, and the
// one name rule (exact, then ASCII case only) as MappedTargetName, MappedColumnName,
// FindColumn, Correspond, CheckMappedColumns and WarnAboutMissingTargets apply it.
#include <gtest/gtest.h>

#include "table_plan.h"

namespace stagesync::apply {
namespace {

using Name = std::pair<std::string, std::string>;

TargetTable Target(const std::string& schema, const std::string& name,
                   std::vector<std::string> columns, std::vector<int> key = {}) {
  TargetTable t;
  t.schema = schema;
  t.name = name;
  for (auto& c : columns) t.columns.push_back({c, "text"});
  t.key = std::move(key);
  return t;
}

TEST(MappedTargetName, WithoutAnEntryTheSourcesSpellingIsKept) {
  Config c;
  EXPECT_EQ(MappedTargetName(c, "App", "Orders"), Name("App", "Orders"));
  c.mapping["app.other"].target_table = "x.y";
  EXPECT_EQ(MappedTargetName(c, "app", "orders"), Name("app", "orders"));
}

TEST(MappedTargetName, AnEntryMovesTheTable) {
  Config c;
  c.mapping["app.orders"].target_table = "sales.order_header";
  EXPECT_EQ(MappedTargetName(c, "app", "orders"), Name("sales", "order_header"));
  // The key pairs with the source's name by ASCII case.
  EXPECT_EQ(MappedTargetName(c, "APP", "Orders"), Name("sales", "order_header"));
}

TEST(MappedTargetName, AnExactKeyWinsOverOneThatDiffersInCase) {
  Config c;
  c.mapping["app.ORDERS"].target_table = "a.upper";
  c.mapping["app.orders"].target_table = "a.lower";
  EXPECT_EQ(MappedTargetName(c, "app", "orders"), Name("a", "lower"));
  EXPECT_EQ(MappedTargetName(c, "app", "ORDERS"), Name("a", "upper"));
}

// PostgreSQL and MySQL hold "Täble" and "TÄBLE" as two tables: only ASCII letters fold.
TEST(MappedTargetName, NonAsciiLettersDoNotFold) {
  Config c;
  c.mapping["app.täble"].target_table = "a.mapped";
  EXPECT_EQ(MappedTargetName(c, "app", "TäBLE"), Name("a", "mapped"));
  EXPECT_EQ(MappedTargetName(c, "app", "TÄBLE"), Name("app", "TÄBLE"));
  EXPECT_EQ(MappedTargetName(c, "app", "täble"), Name("a", "mapped"));
}

TEST(MappedTargetName, AWholeSchemaMovesWithItsTableNames) {
  Config c;
  c.mapping["shop.*"].target_table = "public.*";
  EXPECT_EQ(MappedTargetName(c, "shop", "Orders"), Name("public", "Orders"));
  EXPECT_EQ(MappedTargetName(c, "SHOP", "lines"), Name("public", "lines"));
  EXPECT_EQ(MappedTargetName(c, "shop2", "lines"), Name("shop2", "lines"));
}

TEST(MappedTargetName, ATableEntryWinsOverItsSchemasAndRenamesAloneDoNotMove) {
  Config c;
  c.mapping["shop.*"].target_table = "public.*";
  c.mapping["shop.orders"].target_table = "archive.orders_2024";
  c.mapping["shop.lines"].columns["qty"] = "quantity";  // no table: the schema's rule
  EXPECT_EQ(MappedTargetName(c, "shop", "orders"), Name("archive", "orders_2024"));
  EXPECT_EQ(MappedTargetName(c, "shop", "lines"), Name("public", "lines"));
  c.mapping.erase("shop.*");
  EXPECT_EQ(MappedTargetName(c, "shop", "lines"), Name("shop", "lines"));
}

TEST(MappedColumnName, RenamesComeFromTheTablesEntry) {
  Config c;
  c.mapping["app.users"].columns["user_name"] = "username";
  EXPECT_EQ(MappedColumnName(c, "app.users", "user_name"), "username");
  EXPECT_EQ(MappedColumnName(c, "app.users", "email"), "email");
  EXPECT_EQ(MappedColumnName(c, "app.other", "user_name"), "user_name");
  // Table key and column key both pair by ASCII case; the target name is kept as written.
  EXPECT_EQ(MappedColumnName(c, "APP.Users", "User_Name"), "username");
}

TEST(MappedColumnName, AnExactColumnKeyWinsAndNonAsciiDoesNotFold) {
  Config c;
  c.mapping["app.t"].columns["Name"] = "display_name";
  c.mapping["app.t"].columns["name"] = "login";
  c.mapping["app.t"].columns["größe"] = "size";
  EXPECT_EQ(MappedColumnName(c, "app.t", "name"), "login");
  EXPECT_EQ(MappedColumnName(c, "app.t", "Name"), "display_name");
  EXPECT_EQ(MappedColumnName(c, "app.t", "GRößE"), "size");
  EXPECT_EQ(MappedColumnName(c, "app.t", "GRÖßE"), "GRÖßE");
}

TEST(MappedColumnName, ASchemaWideEntryRenamesNothing) {
  Config c;
  c.mapping["app.*"].target_table = "public.*";
  EXPECT_EQ(MappedColumnName(c, "app.users", "user_name"), "user_name");
}

TEST(FindColumn, ExactThenAsciiCase) {
  TargetTable t = Target("public", "t", {"Name", "name", "ÄRGER", "straße"});
  EXPECT_EQ(t.FindColumn("name"), 1);
  EXPECT_EQ(t.FindColumn("Name"), 0);
  EXPECT_EQ(t.FindColumn("NAME"), 0);  // the first that folds
  EXPECT_EQ(t.FindColumn("Ärger"), 2);
  EXPECT_EQ(t.FindColumn("ärger"), -1);
  EXPECT_EQ(t.FindColumn("STRAßE"), 3);
  EXPECT_EQ(t.FindColumn("STRASSE"), -1);
  EXPECT_EQ(t.FindColumn(""), -1);
}

TEST(Correspond, PairsColumnsByMappingAndCaseAndNamesTheKeyInSourceSpelling) {
  Config c;
  c.mapping["app.users"].columns["user_name"] = "username";
  TableShape source{"app", "users", {"id", "Tenant", "user_name", "legacy"}};
  TargetTable target = Target("public", "USERS", {"ID", "tenant", "username", "created"}, {0, 1});
  TableCorrespondence corr = Correspond(c, source, target);
  EXPECT_EQ(corr.target_schema, "public");
  EXPECT_EQ(corr.target_name, "USERS");
  EXPECT_EQ(corr.columns, (std::vector<std::pair<std::string, std::string>>{
                              {"id", "ID"}, {"Tenant", "tenant"}, {"user_name", "username"}}));
  EXPECT_EQ(corr.key, (std::vector<std::string>{"id", "Tenant"}));
}

TEST(Correspond, AKeyNotAllFedFromTheSourceIsNoKey) {
  Config c;
  TableShape source{"app", "t", {"id", "v"}};
  TargetTable target = Target("app", "t", {"surrogate", "id", "v"}, {0});
  EXPECT_TRUE(Correspond(c, source, target).key.empty());
  target.key = {1, 0};  // (id, surrogate): half fed is not fed
  EXPECT_TRUE(Correspond(c, source, target).key.empty());
  target.key = {};
  TableCorrespondence corr = Correspond(c, source, target);
  EXPECT_TRUE(corr.key.empty());
  EXPECT_EQ(corr.columns.size(), 2u);
}

TEST(Correspond, AGeneratedTargetColumnIsFedByNothing) {
  Config c;
  TableShape source{"app", "t", {"id", "total"}};
  TargetTable target = Target("app", "t", {"id", "total"}, {0});
  target.columns[1].generated = true;
  TableCorrespondence corr = Correspond(c, source, target);
  EXPECT_EQ(corr.columns, (std::vector<std::pair<std::string, std::string>>{{"id", "id"}}));
  EXPECT_EQ(corr.key, (std::vector<std::string>{"id"}));
  target.key = {1};  // keyed by the generated column: not a key fed from the source
  EXPECT_TRUE(Correspond(c, source, target).key.empty());
}

TEST(SourceColumnSnapshot, LowerCasesAsciiOnly) {
  auto snapshot = SourceColumnSnapshot({{"App", "Users", {"ID", "Größe"}}});
  EXPECT_EQ(snapshot, (std::set<std::pair<std::string, std::string>>{{"app.users", "id"},
                                                                     {"app.users", "größe"}}));
}

TEST(CheckMappedColumns, NoEntryOrCorrectRenamesAreNoProblem) {
  Config c;
  TableShape source{"app", "users", {"id", "User_Name"}};
  TargetTable target = Target("app", "users", {"id", "USERNAME"});
  std::vector<std::string> problems;
  CheckMappedColumns(c, source, &target, &problems);
  c.mapping["APP.users"].columns["user_name"] = "username";  // both sides pair by case
  CheckMappedColumns(c, source, &target, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0];
}

TEST(CheckMappedColumns, ARenameOfAColumnTheSourceLacksNamesKeyColumnsAndFix) {
  Config c;
  c.mapping["app.Users"].columns["usr_name"] = "username";
  TableShape source{"app", "users", {"id", "user_name"}};
  std::vector<std::string> problems;
  CheckMappedColumns(c, source, nullptr, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "mapping.\"app.Users\".columns: source table app.users has no column usr_name (it "
            "has id, user_name); write the source column's name on the left");
}

TEST(CheckMappedColumns, ARenameToAColumnTheTargetLacksNamesItsColumns) {
  Config c;
  c.mapping["app.users"].columns["user_name"] = "user_nme";
  c.mapping["app.users"].columns["id"] = "user_id";
  TableShape source{"app", "users", {"id", "user_name"}};
  TargetTable target = Target("stage", "users", {"user_id", "username"});
  std::vector<std::string> problems;
  CheckMappedColumns(c, source, &target, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "mapping.\"app.users\".columns.user_name = \"user_nme\": target table stage.users "
            "has no column user_nme (it has user_id, username); write the target column's name "
            "on the right");
  // Without a target table yet, only the source side is checked.
  problems.clear();
  CheckMappedColumns(c, source, nullptr, &problems);
  EXPECT_TRUE(problems.empty());
}

TEST(CheckMappedColumns, NonAsciiNamesMustMatchBeyondAsciiCase) {
  Config c;
  c.mapping["app.t"].columns["GRÖßE"] = "size";
  TableShape source{"app", "t", {"größe"}};
  std::vector<std::string> problems;
  CheckMappedColumns(c, source, nullptr, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("has no column GRÖßE (it has größe)"), std::string::npos)
      << problems[0];
}

TEST(WarnAboutMissingTargets, AMissingTableNamesItsMappedNameAndTheSource) {
  Config c;
  c.mapping["shop.*"].target_table = "public.*";
  std::vector<TableShape> tables{{"shop", "orders", {"id"}}};
  std::vector<std::string> warnings;
  std::vector<Name> asked;
  WarnAboutMissingTargets(
      c, tables,
      [&](const std::string& schema, const std::string& table) -> std::optional<TargetTable> {
        asked.emplace_back(schema, table);
        return std::nullopt;
      },
      &warnings);
  EXPECT_EQ(asked, (std::vector<Name>{{"public", "orders"}}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "target table public.orders (for source shop.orders) does not exist yet: create or "
            "migrate staging before `run`");
}

TEST(WarnAboutMissingTargets, EachColumnWithoutATargetColumnIsNamed) {
  Config c;
  c.mapping["app.users"].columns["user_name"] = "username";
  std::vector<TableShape> tables{{"app", "users", {"ID", "user_name", "legacy", "größe"}}};
  TargetTable target = Target("app", "users", {"id", "username", "GRÖßE"});
  std::vector<std::string> warnings;
  WarnAboutMissingTargets(
      c, tables, [&](const std::string&, const std::string&) { return target; }, &warnings);
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "source column app.users.legacy has no target column; its values will "
                          "be dropped",
                          "source column app.users.größe has no target column; its values will "
                          "be dropped"}));
}

// PostgreSQL holds "Name" and "name" as two columns: when the target has only "name", it is
// the source's "name", and "Name" has none (it used to be paired with "name" as well).
TEST(Correspond, ATargetColumnAnotherSourceColumnNamesExactlyIsThatColumns) {
  TableShape source{"app", "t", {"id", "Name", "name"}};
  TargetTable target = Target("app", "t", {"id", "name"}, {0});
  EXPECT_EQ(Correspond(Config{}, source, target).columns,
            (std::vector<std::pair<std::string, std::string>>{{"id", "id"}, {"name", "name"}}));
  std::vector<std::string> warnings;
  WarnAboutMissingTargets(
      Config{}, {source}, [&](const std::string&, const std::string&) { return target; },
      &warnings);
  EXPECT_EQ(warnings, (std::vector<std::string>{"source column app.t.Name has no target column; "
                                                "its values will be dropped"}));
  // Without the exact namesake, "Name" folds onto "name" as before.
  source.columns = {"id", "Name"};
  EXPECT_EQ(Correspond(Config{}, source, target).columns,
            (std::vector<std::pair<std::string, std::string>>{{"id", "id"}, {"Name", "name"}}));
}

}  // namespace
}  // namespace stagesync::apply

namespace stagesync::apply {
namespace {

Config WithRenameRule() {
  Config c;
  Status s = ParseUpgradeRules(
      "[[rename]]\nname = \"total is amount\"\ntable = \"orders\"\nfrom = \"total\"\nto = "
      "\"amount\"\n",
      "rules.toml", &c.upgrade.rules);
  EXPECT_TRUE(s.ok()) << s.message();
  return c;
}

TEST(MappedColumnName, TheReleasesRenameRulesFeedTheirNewColumnAfterTheConfigsOwn) {
  Config c = WithRenameRule();
  EXPECT_EQ(MappedColumnName(c, "shop.orders", "TOTAL"), "amount");
  EXPECT_EQ(MappedColumnName(c, "shop.lines", "total"), "total");
  c.mapping["shop.orders"].columns["total"] = "sum";
  EXPECT_EQ(MappedColumnName(c, "shop.orders", "total"), "sum");
}

TEST(CheckUpgradeRules, ARenameNamesASourceAndATargetColumnAndEveryRuleASelectedTable) {
  Config c = WithRenameRule();
  std::vector<std::string> problems;
  CheckUpgradeRules(c, {TableShape{"shop", "orders", {"id", "sum"}}}, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("\"total is amount\" (upgrade.rules rules.toml): source table "
                             "shop.orders has no column total"),
            std::string::npos)
      << problems[0];
  problems.clear();
  CheckUpgradeRules(c, {TableShape{"shop", "lines", {"id"}}}, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("no selected source table is orders"), std::string::npos);

  problems.clear();
  TargetTable target;
  target.schema = "shop";
  target.name = "orders";
  target.columns.resize(1);
  target.columns[0].name = "total";
  CheckMappedColumns(c, TableShape{"shop", "orders", {"id", "total"}}, &target, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("target table shop.orders has no column amount"), std::string::npos)
      << problems[0];

  problems.clear();
  ASSERT_TRUE(
      ParseUpgradeRules("[[drop]]\ntable = \"x\"\nreason = \"gone\"\n", "r.toml", &c.upgrade.rules)
          .ok());
  CheckUpgradeRules(c, {}, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("[[drop]] rule \"drop x\" (upgrade.rules r.toml): no selected "
                             "source table is x"),
            std::string::npos)
      << problems[0];

  problems.clear();
  ASSERT_TRUE(ParseUpgradeRules(R"toml(
[[compute]]
table = "nowhere"
column = "c"
value = "1"
[[split]]
table = "orders"
[[split.into]]
table = "big"
when = ":total > 100"
[[split.into]]
table = "small"
)toml",
                                "r.toml", &c.upgrade.rules)
                  .ok());
  CheckUpgradeRules(c, {TableShape{"shop", "orders", {"id", "total"}}}, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("no selected source table is written to nowhere"), std::string::npos)
      << problems[0];
  problems.clear();
  CheckUpgradeRules(c, {TableShape{"shop", "lines", {"id"}}}, &problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("[[split]] rule \"split orders\" (upgrade.rules r.toml): no "
                             "selected source table is orders"),
            std::string::npos)
      << problems[0];
}

}  // namespace
}  // namespace stagesync::apply
