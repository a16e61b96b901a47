// The rule file's reading: SQL parameters, each kind of rule, and the problems it names.
#include "stagesync/upgrade_rules.h"

#include <gtest/gtest.h>

namespace stagesync {
namespace {

SqlTemplate Parsed(const std::string& sql) {
  SqlTemplate t;
  Status s = ParseSqlTemplate(sql, &t);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

std::string Numbered(const SqlTemplate& t) {
  return t.Render([&](size_t i) { return "$" + std::to_string(i + 1) + "<" + t.params[i] + ">"; });
}

TEST(SqlTemplate, ParametersAreSourceColumnsOutsideLiteralsCommentsAndCasts) {
  SqlTemplate t = Parsed(
      "SELECT d.id FROM dom d WHERE d.tenant = :um_tenant_id::int AND d.name = "
      "CASE :um_role_name WHEN 'a:b' THEN \"x:y\" END -- :not\n /* :nor */ AND 1 = :\"Odd "
      "\"\"Name\"");
  EXPECT_EQ(t.params, (std::vector<std::string>{"um_tenant_id", "um_role_name", "Odd \"Name"}));
  EXPECT_EQ(Numbered(t),
            "SELECT d.id FROM dom d WHERE d.tenant = $1<um_tenant_id>::int AND d.name = CASE "
            "$2<um_role_name> WHEN 'a:b' THEN \"x:y\" END -- :not\n /* :nor */ AND 1 = $3<Odd "
            "\"Name>");
}

TEST(SqlTemplate, DollarQuotesEscapedStringsSlicesAndAssignmentsAreNotParameters) {
  SqlTemplate t = Parsed("SELECT $q$ :a $q$, E'it\\'s :b', arr[1:2], @v := :c, `m:n`, $1");
  EXPECT_EQ(t.params, std::vector<std::string>{"c"});
}

TEST(SqlTemplate, UnterminatedPiecesAreErrorsNamingWhere) {
  SqlTemplate t;
  Status s = ParseSqlTemplate("SELECT 'open", &t);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unterminated string literal starting at character 8"),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(ParseSqlTemplate("SELECT /* x", &t).ok());
  EXPECT_FALSE(ParseSqlTemplate("SELECT \"x", &t).ok());
}

TEST(UpgradeRules, EveryKindIsRead) {
  UpgradeRules r;
  Status s = ParseUpgradeRules(R"toml(
[[compute]]
name = "domain"
table = "um_role_permission"
column = "um_domain_id"
value = "(SELECT 1 WHERE :um_tenant_id > 0)"
[[default]]
table = "um_claim"
column = "um_read_only"
value = "0"
[[after]]
table = "um_tenant"
on = ["insert", "delete"]
run = "DELETE FROM x WHERE t = :um_id"
[[drop]]
table = "UM_CLAIM_BEHAVIOR"
reason = "gone in 4.2.0"
[[rename]]
table = "public.orders"
from = "total"
to = "amount"
[[split]]
table = "orders"
[[split.into]]
table = "orders_open"
when = ":status <> 'closed'"
[[split.into]]
table = "orders_closed"
)toml",
                               "rules.toml", &r);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(r.computed.size(), 2u);
  EXPECT_EQ(r.computed[0].name, "domain");
  EXPECT_EQ(r.computed[0].ops, kOnInsert | kOnUpdate);
  EXPECT_EQ(r.computed[0].value.params, std::vector<std::string>{"um_tenant_id"});
  EXPECT_TRUE(r.computed[1].is_default);
  EXPECT_EQ(r.computed[1].ops, kOnInsert);
  EXPECT_EQ(r.computed[1].name, "um_claim.um_read_only");
  ASSERT_EQ(r.after.size(), 1u);
  EXPECT_EQ(r.after[0].ops, kOnInsert | kOnDelete);
  ASSERT_NE(r.DropOf("wso2", "um_claim_behavior"), nullptr);
  EXPECT_EQ(r.DropOf("wso2", "um_claim"), nullptr);
  EXPECT_EQ(r.RenameOf("public", "ORDERS", "Total"), "amount");
  EXPECT_EQ(r.RenameOf("other", "orders", "total"), "");
  const SplitTable* split = r.SplitOf("public", "orders");
  ASSERT_NE(split, nullptr);
  ASSERT_EQ(split->parts.size(), 2u);
  EXPECT_EQ(split->parts[0].when.params, std::vector<std::string>{"status"});
  EXPECT_TRUE(split->parts[1].when.empty());
}

TEST(UpgradeRules, ProblemsNameTheRuleTheKeyAndTheFix) {
  UpgradeRules r;
  Status s = ParseUpgradeRules(R"toml(
[[compute]]
name = "domain"
table = "t"
value = "'unclosed"
on = ["delete"]
[[after]]
table = "um_tenant"
run = "SELECT 1"
[[drop]]
table = "x"
[[split]]
table = "orders"
[[split.into]]
table = "a"
[[split.into]]
table = "b"
when = "true"
[[mystery]]
)toml",
                               "rules.toml", &r);
  ASSERT_FALSE(s.ok());
  const std::string& m = s.message();
  for (const char* expected :
       {"compute \"domain\".column: is required", "compute \"domain\".value: unterminated",
        "compute \"domain\".on: \"delete\" is not valid here", "after[1].on: is required",
        "drop[1].reason: is required", "into[1].when: is required on every part but the last",
        "into[2].when: the last part takes every row", "mystery: unknown key"}) {
    EXPECT_NE(m.find(expected), std::string::npos) << expected << "\n" << m;
  }
}

TEST(UpgradeRules, TwoRulesFillingOneColumnAreRefused) {
  UpgradeRules r;
  Status s = ParseUpgradeRules(R"toml(
[[compute]]
table = "t"
column = "c"
value = "1"
[[default]]
table = "T"
column = "C"
value = "2"
)toml",
                               "rules.toml", &r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is filled by rule \"t.c\" already"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace stagesync
