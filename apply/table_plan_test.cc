#include "table_plan.h"

#include <gtest/gtest.h>

namespace stagesync::apply {
namespace {

RelationPtr SourceUser() {
  auto r = std::make_shared<SourceRelation>();
  r->schema = "public";
  r->name = "um_user";
  r->columns = {{"um_id", 23, -1, true},
                {"um_tenant_id", 23, -1, true},
                {"um_user_name", 1043, 259, false},
                {"um_legacy", 25, -1, false}};
  return r;
}

TargetTable TargetUser() {
  TargetTable t;
  t.schema = "public";
  t.name = "UM_USER";
  t.columns = {{"UM_ID", "integer", false, true},
               {"UM_TENANT_ID", "integer"},
               {"um_username", "character varying(255)"},
               {"UM_TAGS", "text[]", true},
               {"UM_CREATED", "timestamp without time zone"}};
  t.key = {0, 1};
  for (auto& c : t.columns) c.cast_type = c.type;
  t.columns[2].cast_type = "character varying";  // without (255): the assignment checks it
  return t;
}

Config MappingConfig() {
  Config c;
  c.mapping["public.um_user"].columns["um_user_name"] = "um_username";
  return c;
}

TEST(TablePlan, MatchesCaseInsensitivelyAndByMapping) {
  TablePlan plan;
  std::vector<std::string> warnings;
  KnownSourceColumns known{
      {"public.um_user", {"um_id", "um_tenant_id", "um_user_name", "um_legacy"}}};
  ASSERT_TRUE(
      BuildTablePlan(MappingConfig(), SourceUser(), TargetUser(), known, 1, &plan, &warnings).ok());
  EXPECT_EQ(plan.source_to_target, (std::vector<int>{0, 1, 2, -1}));
  EXPECT_EQ(plan.key_source, (std::vector<int>{0, 1}));
  EXPECT_TRUE(plan.key_unique);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("um_legacy"), std::string::npos);
}

TEST(TablePlan, AColumnTheSourceGainedAfterSetupMustExistOnTheTarget) {
  TablePlan plan;
  std::vector<std::string> warnings;
  KnownSourceColumns known{{"public.um_user", {"um_id", "um_tenant_id", "um_user_name"}}};
  Status s =
      BuildTablePlan(MappingConfig(), SourceUser(), TargetUser(), known, 1, &plan, &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("public.um_user.um_legacy"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ADD COLUMN"), std::string::npos) << s.message();
  // Issue 11, item 8: the hint keeps the source's default, or the copy's rows go NULL.
  EXPECT_NE(s.message().find("DEFAULT <the source's default>"), std::string::npos) << s.message();
}

// Issue 11, item 8: a column renamed on the source gets a RENAME hint, not ADD COLUMN.
TEST(TablePlan, AColumnRenamedOnTheSourceGetsARenameHint) {
  TablePlan plan;
  std::vector<std::string> warnings;
  KnownSourceColumns known{
      {"public.um_user", {"um_id", "um_tenant_id", "um_user_name", "um_created"}}};
  auto renamed = std::make_shared<SourceRelation>(*SourceUser());
  renamed->columns[3].name = "um_created_at";  // was um_created, which the target has
  Status s = BuildTablePlan(MappingConfig(), renamed, TargetUser(), known, 1, &plan, &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("RENAME COLUMN \"UM_CREATED\" TO \"um_created_at\""),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("ADD COLUMN"), std::string::npos) << s.message();
}

TEST(TablePlan, StatementsAreSetBasedAndQuoted) {
  TablePlan plan;
  std::vector<std::string> warnings;
  KnownSourceColumns known{{"public.um_user", {"um_legacy"}}};
  ASSERT_TRUE(
      BuildTablePlan(MappingConfig(), SourceUser(), TargetUser(), known, 1, &plan, &warnings).ok());
  std::vector<bool> all(4, true);
  std::string ins = BuildStatement(plan, {RowOp::kInsert, all});
  EXPECT_EQ(
      ins,
      "INSERT INTO \"public\".\"UM_USER\" AS t (\"UM_ID\", \"UM_TENANT_ID\", \"um_username\") "
      "OVERRIDING SYSTEM VALUE SELECT v.p1, v.p2, v.p3 FROM unnest($1::integer[], "
      "$2::integer[], $3::character varying[]) AS v(p1, p2, p3) ON CONFLICT (\"UM_ID\", "
      "\"UM_TENANT_ID\") DO UPDATE SET \"um_username\" = excluded.\"um_username\"");
  std::string del = BuildStatement(plan, {RowOp::kDelete, std::vector<bool>(4, false)});
  EXPECT_EQ(del,
            "DELETE FROM \"public\".\"UM_USER\" AS t USING unnest($1::integer[], $2::integer[]) AS "
            "v(k1, k2) WHERE t.\"UM_ID\" = v.k1 AND t.\"UM_TENANT_ID\" = v.k2");
  std::vector<bool> some = {true, true, false, true};  // um_user_name unchanged TOAST
  std::string upd = BuildStatement(plan, {RowOp::kUpdate, some});
  EXPECT_EQ(upd.find("um_username"), std::string::npos) << upd;
  auto params = StatementParams(plan, {RowOp::kUpdate, some});
  ASSERT_EQ(params.size(), 4u);  // two key params, then um_id and um_tenant_id
  EXPECT_EQ(params[0].from, ParamSource::From::kKey);
  EXPECT_EQ(params[2].from, ParamSource::From::kNew);
}

TEST(TablePlan, NoTargetKeyAndNoFullIdentityIsAnErrorWithTheFix) {
  TargetTable t = TargetUser();
  t.key.clear();
  auto rel = std::make_shared<SourceRelation>(*SourceUser());
  for (auto& c : rel->columns) c.part_of_key = false;
  TablePlan plan;
  std::vector<std::string> warnings;
  Status s = BuildTablePlan(MappingConfig(), rel, t, {{"public.um_user", {"um_legacy"}}}, 1, &plan,
                            &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("REPLICA IDENTITY FULL"), std::string::npos);
  rel->replica_identity = 'f';
  ASSERT_TRUE(BuildTablePlan(MappingConfig(), rel, t, {{"public.um_user", {"um_legacy"}}}, 1, &plan,
                             &warnings)
                  .ok());
  EXPECT_TRUE(plan.keyless);
}

// A source relation of `columns` (name, part of the identity).
RelationPtr Relation(std::vector<std::pair<std::string, bool>> columns, char identity = 'd') {
  auto r = std::make_shared<SourceRelation>();
  r->schema = "app";
  r->name = "t";
  r->replica_identity = identity;
  for (auto& [name, key] : columns) r->columns.push_back({name, 25, -1, key});
  return r;
}

TargetTable Table(std::vector<std::string> columns, std::vector<int> key) {
  TargetTable t;
  t.schema = "app";
  t.name = "t";
  for (auto& c : columns) t.columns.push_back({c, "text", false, false, false, "text"});
  t.key = std::move(key);
  return t;
}

TEST(TablePlan, ColumnsPairExactlyFirstThenByAsciiCaseOnly) {
  TablePlan plan;
  std::vector<std::string> warnings;
  auto rel = Relation({{"ID", true}, {"straße", false}, {"Größe", false}});
  KnownSourceColumns known{{"app.t", {"id", "straße", "größe"}}};
  ASSERT_TRUE(BuildTablePlan(Config{}, rel, Table({"id", "STRAßE", "GRÖßE"}, {0}), known, 1, &plan,
                             &warnings)
                  .ok());
  // ö and Ö are two letters: Größe has no target column, and was known, so it is dropped.
  EXPECT_EQ(plan.source_to_target, (std::vector<int>{0, 1, -1}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "source column app.t.Größe has no target column in app.t; its values "
            "are dropped");
}

// Setup's record is lower-cased; the relation's names are looked up the same way.
TEST(TablePlan, KnownColumnsAreFoundWhateverTheirAsciiCase) {
  TablePlan plan;
  std::vector<std::string> warnings;
  auto rel = std::make_shared<SourceRelation>(*Relation({{"id", true}, {"Legacy_Flag", false}}));
  rel->schema = "App";
  rel->name = "T";
  ASSERT_TRUE(BuildTablePlan(Config{}, rel, Table({"id"}, {0}), {{"app.t", {"id", "legacy_flag"}}},
                             1, &plan, &warnings)
                  .ok());
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(TablePlan, AColumnMappedToAMissingTargetColumnNamesTheMappedName) {
  Config c;
  c.mapping["app.t"].columns["nm"] = "full_name";
  TablePlan plan;
  std::vector<std::string> warnings;
  Status s = BuildTablePlan(c, Relation({{"id", true}, {"nm", false}}), Table({"id", "name"}, {0}),
                            {{"app.t", {"id"}}}, 1, &plan, &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("source column app.t.nm has no target column app.t.full_name"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("ADD COLUMN \"full_name\""), std::string::npos) << s.message();
  // Known at setup: dropped, with a warning.
  ASSERT_TRUE(BuildTablePlan(c, Relation({{"id", true}, {"nm", false}}), Table({"id", "name"}, {0}),
                             {{"app.t", {"id", "nm"}}}, 1, &plan, &warnings)
                  .ok());
  EXPECT_EQ(plan.source_to_target, (std::vector<int>{0, -1}));
}

// Two columns setup knew are gone from the source: which one the new column replaces is a
// guess, so the hint is to add it, not to rename one.
TEST(TablePlan, NoRenameHintWhenTwoKnownColumnsAreGone) {
  TablePlan plan;
  std::vector<std::string> warnings;
  Status s = BuildTablePlan(Config{}, Relation({{"id", true}, {"created_at", false}}),
                            Table({"id", "created", "updated"}, {0}),
                            {{"app.t", {"id", "created", "updated"}}}, 1, &plan, &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ADD COLUMN \"created_at\""), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("RENAME COLUMN"), std::string::npos) << s.message();
  // Nothing known for the table (setup did not see it): no hint either.
  s = BuildTablePlan(Config{}, Relation({{"id", true}, {"created_at", false}}),
                     Table({"id", "created"}, {0}), {}, 1, &plan, &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("RENAME COLUMN"), std::string::npos) << s.message();
}

// The target's own key, fed from the source's identity, locates rows.
TEST(TablePlan, TheTargetKeyIsUsedWhenTheIdentityFeedsIt) {
  TablePlan plan;
  std::vector<std::string> warnings;
  ASSERT_TRUE(BuildTablePlan(Config{}, Relation({{"v", false}, {"id", true}}),
                             Table({"id", "v"}, {0}), {}, 1, &plan, &warnings)
                  .ok());
  EXPECT_EQ(plan.key_source, (std::vector<int>{1}));
  EXPECT_TRUE(plan.key_unique);
  EXPECT_FALSE(plan.keyless);
}

// The target is keyed by a column outside the source's identity (a surrogate, or a unique
// email the source does not treat as identity): rows are found by the source's identity.
TEST(TablePlan, ATargetKeyOutsideTheIdentityFallsBackToTheSourceIdentity) {
  TablePlan plan;
  std::vector<std::string> warnings;
  ASSERT_TRUE(BuildTablePlan(Config{}, Relation({{"id", true}, {"email", false}}),
                             Table({"id", "email"}, {1}), {}, 1, &plan, &warnings)
                  .ok());
  EXPECT_EQ(plan.key_source, (std::vector<int>{0}));
  EXPECT_FALSE(plan.key_unique);
  EXPECT_FALSE(plan.keyless);
  // A surrogate the source does not have at all: the same.
  TablePlan surrogate;
  ASSERT_TRUE(BuildTablePlan(Config{}, Relation({{"id", true}, {"v", false}}),
                             Table({"surrogate", "id", "v"}, {0}), {}, 1, &surrogate, &warnings)
                  .ok());
  EXPECT_EQ(surrogate.key_source, (std::vector<int>{0}));
  EXPECT_FALSE(surrogate.key_unique);
}

// REPLICA IDENTITY FULL flags every column as key: that identifies a row image, not a row.
TEST(TablePlan, FullIdentityUsesTheTargetKeyOrLocatesRowsByImage) {
  TablePlan plan;
  std::vector<std::string> warnings;
  auto rel = Relation({{"id", true}, {"v", true}}, 'f');
  ASSERT_TRUE(BuildTablePlan(Config{}, rel, Table({"id", "v"}, {0}), {}, 1, &plan, &warnings).ok());
  EXPECT_EQ(plan.key_source, (std::vector<int>{0}));
  EXPECT_TRUE(plan.key_unique);
  EXPECT_FALSE(plan.keyless);
  TablePlan keyless;
  ASSERT_TRUE(
      BuildTablePlan(Config{}, rel, Table({"id", "v"}, {}), {}, 1, &keyless, &warnings).ok());
  EXPECT_TRUE(keyless.keyless);
  EXPECT_TRUE(keyless.key_source.empty());
  EXPECT_FALSE(keyless.key_unique);
  // The target's key is not fed (a surrogate): also by image, not by "every column".
  TablePlan surrogate;
  ASSERT_TRUE(
      BuildTablePlan(Config{}, rel, Table({"sid", "id", "v"}, {0}), {}, 1, &surrogate, &warnings)
          .ok());
  EXPECT_TRUE(surrogate.keyless);
}

TEST(TablePlan, AnIdentityColumnDroppedOnTheTargetLeavesNoKey) {
  TablePlan plan;
  std::vector<std::string> warnings;
  Status s = BuildTablePlan(Config{}, Relation({{"id", true}, {"region", true}, {"v", false}}),
                            Table({"id", "v"}, {}), {{"app.t", {"id", "region", "v"}}}, 1, &plan,
                            &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("target table app.t has no primary key that matches the source's "
                             "identity of app.t"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("ALTER TABLE \"app\".\"t\" REPLICA IDENTITY FULL"), std::string::npos)
      << s.message();
}

// PostgreSQL holds "Name" and "name" as two columns. When the target has only "name", it is
// the source's "name": "Name" folding onto it too would write the column twice.
TEST(TablePlan, ATargetColumnAnotherSourceColumnMatchesExactlyIsNotFoldedOnto) {
  TablePlan plan;
  std::vector<std::string> warnings;
  auto rel = Relation({{"id", true}, {"Name", false}, {"name", false}});
  ASSERT_TRUE(BuildTablePlan(Config{}, rel, Table({"id", "name"}, {0}), {{"app.t", {"id", "name"}}},
                             1, &plan, &warnings)
                  .ok());
  EXPECT_EQ(plan.source_to_target, (std::vector<int>{0, -1, 1}));
  EXPECT_EQ(warnings, (std::vector<std::string>{"source column app.t.Name has no target column "
                                                "in app.t; its values are dropped"}));
  std::string insert = BuildStatement(plan, {RowOp::kInsert, std::vector<bool>(3, true)});
  EXPECT_EQ(insert.find("\"name\", \"name\""), std::string::npos) << insert;
  // Not known at setup: an error, as for any source column without a target column.
  TablePlan unknown;
  EXPECT_FALSE(BuildTablePlan(Config{}, rel, Table({"id", "name"}, {0}), {{"app.t", {"id"}}}, 1,
                              &unknown, &warnings)
                   .ok());
}

// A plan built over one that held another table's ends as a fresh one: the source identity
// used to be appended to the old key.
TEST(TablePlan, BuildingOverAnOldPlanKeepsNothingOfIt) {
  std::vector<std::string> warnings;
  auto by_identity = Relation({{"id", true}, {"email", false}});
  TargetTable keyed_by_email = Table({"id", "email"}, {1});
  TablePlan fresh;
  ASSERT_TRUE(BuildTablePlan(Config{}, by_identity, keyed_by_email, {}, 2, &fresh, &warnings).ok());
  TablePlan reused;
  ASSERT_TRUE(BuildTablePlan(Config{}, Relation({{"a", true}, {"b", false}}), Table({"a", "b"}, {}),
                             {}, 1, &reused, &warnings)
                  .ok());
  ASSERT_EQ(reused.key_source, (std::vector<int>{0}));
  ASSERT_TRUE(
      BuildTablePlan(Config{}, by_identity, keyed_by_email, {}, 2, &reused, &warnings).ok());
  EXPECT_EQ(reused.key_source, fresh.key_source);
  EXPECT_EQ(reused.key_unique, fresh.key_unique);
  EXPECT_EQ(reused.keyless, fresh.keyless);
  EXPECT_EQ(reused.source_to_target, fresh.source_to_target);
}

}  // namespace
}  // namespace stagesync::apply

namespace stagesync::apply {
namespace {

// A computed column reads a written column by its typed value and a source-only column as
// an extra text parameter; an update and the insert of missing rows take the same parameters.
TEST(TablePlan, ComputedColumnsJoinTheSetBasedStatements) {
  Config c = MappingConfig();
  ASSERT_TRUE(ParseUpgradeRules(R"toml(
[[compute]]
name = "created"
table = "UM_USER"
column = "UM_CREATED"
value = "now() - (:um_legacy || ' days')::interval + 0 * :um_tenant_id"
[[default]]
name = "tags"
table = "UM_USER"
column = "UM_TAGS"
value = "'{}'"
)toml",
                                "r.toml", &c.upgrade.rules)
                  .ok());
  TablePlan plan;
  std::vector<std::string> warnings;
  KnownSourceColumns known{
      {"public.um_user", {"um_id", "um_tenant_id", "um_user_name", "um_legacy"}}};
  ASSERT_TRUE(BuildTablePlan(c, SourceUser(), TargetUser(), known, 1, &plan, &warnings).ok());
  ASSERT_EQ(plan.computed.size(), 2u);
  std::vector<bool> all(4, true);
  std::string insert = BuildStatement(plan, {RowOp::kInsert, all});
  EXPECT_NE(insert.find("\"UM_CREATED\", \"UM_TAGS\")"), std::string::npos) << insert;
  EXPECT_NE(insert.find("SELECT v.p1, v.p2, v.p3, (now() - ((v.r1) "
                        "|| ' days')::interval + 0 * (v.p2)), ('{}') FROM unnest($1::integer[], "
                        "$2::integer[], $3::character varying[], $4::text[])"),
            std::string::npos)
      << insert;
  // Replayed onto an existing row the computed value is refreshed, the default is not.
  EXPECT_NE(insert.find("\"UM_CREATED\" = excluded.\"UM_CREATED\""), std::string::npos) << insert;
  EXPECT_EQ(insert.find("\"UM_TAGS\" = excluded"), std::string::npos) << insert;

  StatementShape update{RowOp::kUpdate, all};
  std::string set = BuildStatement(plan, update);
  EXPECT_NE(set.find("\"UM_CREATED\" = (now() - ((v.r1)"), std::string::npos) << set;
  EXPECT_EQ(set.find("UM_TAGS"), std::string::npos) << set;
  update.insert_missing = true;
  EXPECT_NE(BuildStatement(plan, update).find("('{}')"), std::string::npos);
  std::vector<ParamSource> params = StatementParams(plan, update);
  ASSERT_EQ(params.size(), 6u);  // two key columns, three written, um_legacy
  EXPECT_EQ(params.back().index, 3);

  // Without um_legacy's value (an unchanged TOAST column), the row keeps what it has.
  std::vector<bool> some = {true, true, true, false};
  EXPECT_EQ(BuildStatement(plan, {RowOp::kUpdate, some}).find("UM_CREATED"), std::string::npos);
}

}  // namespace
}  // namespace stagesync::apply
