#include "mysql_statements.h"

#include <gtest/gtest.h>

namespace stagesync::apply {
namespace {

std::string Lit(const std::string& type, const Value& v) {
  std::string out;
  Status s = MysqlLiteral(TargetColumn{"c", type}, v, &out);
  return s.ok() ? out : "ERROR: " + s.message();
}

TEST(MysqlLiteral, ByTargetType) {
  EXPECT_EQ(Lit("int", Value::Null()), "NULL");
  EXPECT_EQ(Lit("bigint", Value::Text("18446744073709551615")), "18446744073709551615");
  EXPECT_EQ(Lit("decimal", Value::Text("-0.000000000000000000000000000001")),
            "-0.000000000000000000000000000001");
  EXPECT_EQ(Lit("tinyint", Value::Text("t")), "1");
  EXPECT_EQ(Lit("int", Value::Text("12abc")), "'12abc'");  // strict mode rejects it
  EXPECT_EQ(Lit("varbinary", Value::Text("\\x00ff")), "X'00ff'");
  EXPECT_EQ(Lit("blob", Value::Text("\\x")), "''");
  EXPECT_EQ(Lit("bit", Value::Text("0101")), "b'0101'");
  EXPECT_EQ(Lit("datetime", Value::Text("2024-01-02 03:04:05.5+00")), "'2024-01-02 03:04:05.5'");
  // A MySQL TIMESTAMP through Kafka: Debezium's ZonedTimestamp, ISO 8601 in UTC.
  EXPECT_EQ(Lit("timestamp", Value::Text("2026-12-02T13:50:11.25Z")), "'2026-12-02 13:50:11.25'");
  EXPECT_EQ(Lit("varchar", Value::Text("it's \\ ok")), "'it''s \\\\ ok'");
  EXPECT_EQ(Lit("double", Value::Text("1e+308")), "1e+308");
  EXPECT_EQ(Lit("double", Value::Text("0.30000000000000004")), "0.30000000000000004e0");
}

TEST(MysqlLiteral, ValuesMysqlCannotHoldAreErrorsNamingThem) {
  EXPECT_EQ(Lit("double", Value::Text("NaN")).rfind("ERROR: value NaN", 0), 0u);
  EXPECT_NE(Lit("datetime", Value::Text("infinity")).find("infinity"), std::string::npos);
  EXPECT_NE(Lit("date", Value::Text("0044-03-15 BC")).find("BC"), std::string::npos);
}

// copy's LOAD DATA text holds the same value each literal holds, escaped for LOAD DATA.
TEST(MysqlLoadData, EachLiteralsValueEscapedForLoadData) {
  TablePlan plan;
  plan.target.schema = "db";
  plan.target.name = "t";
  for (const char* type : {"int", "varchar", "varbinary", "datetime", "double"}) {
    plan.target.columns.push_back(TargetColumn{std::string("c_") + type, type});
  }
  plan.source_to_target = {0, 1, 2, 3, 4};
  Tuple row{Value::Text("-7"), Value::Text("it's a\tb\nc \\N d\\e"), Value::Text("\\x00095c0a41"),
            Value::Text("2024-01-02T03:04:05.5+00"), Value::Text("0.1")};
  Tuple nulls{Value::Text("1"), Value::Null(), Value::Text(std::string("nul\0", 4)), Value::Null(),
              Value::Text("t")};
  std::string data;
  ASSERT_TRUE(MysqlLoadData(plan, {&row, &nulls}, &data).ok());
  EXPECT_EQ(data,
            "-7\tit's a\\tb\\nc \\\\N d\\\\e\t\\0\\t\\\\\\nA\t2024-01-02 03:04:05.5\t0.1e0\n"
            "1\t\\N\tnul\\0\t\\N\t1\n");
  EXPECT_EQ(MysqlLoadStatement(plan, "/tmp/x/rows.tsv"),
            "LOAD DATA LOCAL INFILE '/tmp/x/rows.tsv' INTO TABLE `db`.`t` CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`c_int`, "
            "`c_varchar`, `c_varbinary`, `c_datetime`, `c_double`)");
  // A bit string has no text form: those rows take the statements.
  plan.target.columns[0].type = "bit";
  Tuple bits{Value::Text("101"), Value::Null(), Value::Null(), Value::Null(), Value::Null()};
  EXPECT_FALSE(MysqlLoadData(plan, {&bits}, &data).ok());
}

}  // namespace
}  // namespace stagesync::apply
