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

}  // namespace
}  // namespace stagesync::apply
