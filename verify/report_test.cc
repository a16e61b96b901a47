// verify's report as `verify --json` and a terminal show it: equal, every kind of difference,
// and no tables at all.
#include <gtest/gtest.h>

#include "stagesync/verify.h"

namespace stagesync::verify {
namespace {

TableVerdict Counted(const std::string& source, const std::string& target, int64_t rows) {
  TableVerdict t;
  t.source_table = source;
  t.target_table = target;
  t.source_rows = t.target_rows = rows;
  return t;
}

VerifyReport Equal() {
  VerifyReport r;
  r.tables.push_back(Counted("public.a", "public.a", 1000));
  TableVerdict b = Counted("public.b", "public.b", 1000);
  b.checksummed = b.checksum_equal = true;
  r.tables.push_back(b);
  return r;
}

TEST(VerifyReport, EqualTables) {
  VerifyReport r = Equal();
  EXPECT_TRUE(r.equal());
  EXPECT_EQ(VerifyJson(r),
            "{\"equal\":true,\"tables\":[{\"source\":\"public.a\",\"target\":\"public.a\","
            "\"source_rows\":1000,\"target_rows\":1000,\"checksum\":null,\"differences\":[]},"
            "{\"source\":\"public.b\",\"target\":\"public.b\",\"source_rows\":1000,"
            "\"target_rows\":1000,\"checksum\":\"equal\",\"differences\":[]}]}");
  EXPECT_EQ(VerifyText(r),
            "table                                          source       target  result\n"
            "public.a                                         1000         1000  equal (rows)\n"
            "public.b                                         1000         1000  equal (rows and "
            "content)\n"
            "all tables equal\n");
}

TEST(VerifyReport, EachKindOfDifferenceIsNamed) {
  VerifyReport r = Equal();
  TableVerdict missing;
  missing.source_table = "public.c";
  missing.error = "no target table (create it, map it in [mapping], or exclude the source table)";
  r.tables.push_back(missing);
  TableVerdict content = Counted("shop.d", "public.d", 1000);
  content.target_rows = 998;
  content.checksummed = true;
  content.checksum_equal = false;
  content.differences = {"only on the source: (id=5)",
                         "differs at (id=7) in name: 'a\"b\\c' vs 'a\tb'",
                         "only on the target: (id=9)"};
  r.tables.push_back(content);
  TableVerdict keyless = Counted("public.e", "public.a", 1000);
  keyless.note = "no key to compare rows by on the target: counted only";
  r.tables.push_back(keyless);
  EXPECT_FALSE(r.equal());
  EXPECT_EQ(
      VerifyJson(r),
      "{\"equal\":false,\"tables\":[{\"source\":\"public.a\",\"target\":\"public.a\","
      "\"source_rows\":1000,\"target_rows\":1000,\"checksum\":null,\"differences\":[]},"
      "{\"source\":\"public.b\",\"target\":\"public.b\",\"source_rows\":1000,"
      "\"target_rows\":1000,\"checksum\":\"equal\",\"differences\":[]},"
      "{\"source\":\"public.c\",\"target\":null,\"source_rows\":-1,\"target_rows\":-1,"
      "\"checksum\":null,\"differences\":[],\"error\":\"no target table (create it,"
      " map it in [mapping], or exclude the source table)\"},{\"source\":\"shop.d\","
      "\"target\":\"public.d\",\"source_rows\":1000,\"target_rows\":998,"
      "\"checksum\":\"different\",\"differences\":[\"only on the source: (id=5)\","
      "\"differs at (id=7) in name: 'a\\\"b\\\\c' vs 'a\\tb'\",\"only on the target: (id=9)\"]},"
      "{\"source\":\"public.e\",\"target\":\"public.a\",\"source_rows\":1000,"
      "\"target_rows\":1000,\"checksum\":null,\"differences\":[],\"note\":\"no key to compare ro"
      "ws by on the target: counted only\"}]}");
  EXPECT_EQ(VerifyText(r),
            "table                                          source       target  result\n"
            "public.a                                         1000         1000  equal (rows)\n"
            "public.b                                         1000         1000  equal (rows and "
            "content)\n"
            "public.c                                           -1           -1  ERROR: no target "
            "table (create it, map it in [mapping], or exclude the source table)\n"
            "shop.d                                           1000          998  DIFFERENT\n"
            "    only on the source: (id=5)\n"
            "    differs at (id=7) in name: 'a\"b\\c' vs 'a\tb'\n"
            "    only on the target: (id=9)\n"
            "public.e                                         1000         1000  equal (rows) (no "
            "key to compare rows by on the target: counted only)\n"
            "differences found\n");
}

TEST(VerifyReport, NoTablesIsEqual) {
  VerifyReport r;
  EXPECT_TRUE(r.equal());
  EXPECT_EQ(VerifyJson(r), "{\"equal\":true,\"tables\":[]}");
  EXPECT_EQ(VerifyText(r),
            "table                                          source       target  result\n"
            "all tables equal\n");
}

}  // namespace
}  // namespace stagesync::verify
