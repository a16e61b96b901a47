#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "stagesync/copy.h"

namespace stagesync::copy {
namespace {

void AddTable(CopyProgress& p, const std::string& name, int parts, int done, uint64_t rows,
              uint64_t estimate, int64_t started, int64_t finished) {
  auto t = std::make_unique<TableProgress>();
  t->table = name;
  t->parts = parts;
  t->parts_done = done;
  t->rows = rows;
  t->bytes = rows * 100;
  t->rows_estimate = estimate;
  t->started_us = started;
  t->finished_us = finished;
  p.tables.push_back(std::move(t));
}

TEST(CopyProgressTest, LinesShowTablesUnderWayAndATotal) {
  CopyProgress p;
  p.started_us = 1'000'000;
  AddTable(p, "public.big", 4, 1, 50'000, 200'000, 1'000'000, 0);
  AddTable(p, "public.small", 1, 1, 10, 10, 1'000'000, 2'000'000);
  AddTable(p, "public.later", 1, 0, 0, 5, 0, 0);
  auto lines = RenderProgress(p, 11'000'000, 200);
  ASSERT_EQ(lines.size(), 2u);  // the table under way, then the total
  EXPECT_NE(lines[0].find("public.big"), std::string::npos);
  EXPECT_NE(lines[0].find("50000/~200000 rows"), std::string::npos);
  EXPECT_NE(lines[0].find("5000 rows/s"), std::string::npos);  // 50,000 rows in 10 s
  EXPECT_NE(lines[0].find("ETA 0:30"), std::string::npos);     // 150,000 left at 5,000/s
  EXPECT_NE(lines[0].find("part 2/4"), std::string::npos);
  EXPECT_NE(lines[1].find("1/3 tables done, 1 waiting"), std::string::npos);
  EXPECT_LE(RenderProgress(p, 11'000'000, 40)[0].size(), 40u);
}

TEST(CopyProgressTest, JsonCarriesEveryTableAndWhatRemains) {
  CopyProgress p;
  p.started_us = 1'000'000;
  p.snapshot = "00000003-00000002-1";
  AddTable(p, "public.a", 2, 2, 100, 0, 1'000'000, 3'000'000);
  AddTable(p, "public.b", 1, 0, 7, 0, 2'000'000, 0);
  rapidjson::Document d;
  d.Parse(ProgressJson(p, 5'000'000).c_str());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_EQ(d["rows"].GetUint64(), 107u);
  EXPECT_EQ(d["tables_remaining"].GetUint64(), 1u);
  EXPECT_STREQ(d["snapshot"].GetString(), "00000003-00000002-1");
  ASSERT_EQ(d["tables"].Size(), 2u);
  EXPECT_TRUE(d["tables"][0]["done"].GetBool());
  EXPECT_TRUE(d["tables"][1]["eta_seconds"].IsNull());  // no estimate to go by
}

}  // namespace
}  // namespace stagesync::copy
