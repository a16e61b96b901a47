// Normalising values across engines, table-driven: each kind, an engine's spelling in, the
// one spelling out; and the key order both servers are asked for.
#include "normalise.h"

#include <gtest/gtest.h>

namespace stagesync::verify {
namespace {

struct Case {
  Kind kind;
  const char* in;
  const char* out;
};

TEST(VerifyNormalise, OneSpellingPerValue) {
  const Case cases[] = {
      {Kind::kInteger, "42", "42"},
      {Kind::kInteger, "-0", "0"},
      {Kind::kDecimal, "1.500", "1.5"},
      {Kind::kDecimal, "10.0", "10"},
      {Kind::kDecimal, "100", "100"},
      {Kind::kDecimal, "-0.00", "0"},
      {Kind::kFloat4, "0.1", "0.1"},
      {Kind::kFloat4, "0.100000001", "0.1"},
      {Kind::kFloat4, "1e+10", "1e+10"},
      {Kind::kFloat8, "0.30000000000000004", "0.30000000000000004"},
      {Kind::kFloat8, "1.0", "1"},
      {Kind::kTime, "12:30:00.500000", "12:30:00.5"},
      {Kind::kTime, "12:30:00.000", "12:30:00"},
      {Kind::kTime, "12:30:00", "12:30:00"},
      {Kind::kText, " 1.50 ", " 1.50 "},
      {Kind::kJson, "{\"b\":1,\"a\":[true,null,1.50,\"x\"],\"c\":{\"z\":1e3,\"y\":-0}}",
       "{\"a\":[true,null,1.5,\"x\"],\"b\":1,\"c\":{\"y\":0,\"z\":1000.0}}"},
      {Kind::kJson, "[{\"k\":\"\\u00e9\\n\"},{}, [] ,\"\\\"\"]",
       "[{\"k\":\"\xc3"
       "\xa9"
       "\\n\"},{},[],\"\\\"\"]"},
      {Kind::kJson, "12345678901234567890", "12345678901234567890"},
      {Kind::kJson, "\"plain\"", "\"plain\""},
      {Kind::kJson, "{not json", "{not json"},
      {Kind::kJson, "{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Normalise(c.kind, c.in), c.out) << c.in;
  }
}

TEST(VerifyNormalise, KindFromEitherEnginesTypeName) {
  EXPECT_EQ(KindOf("integer"), Kind::kInteger);
  EXPECT_EQ(KindOf("INT"), Kind::kInteger);
  EXPECT_EQ(KindOf("year"), Kind::kInteger);
  EXPECT_EQ(KindOf("numeric"), Kind::kDecimal);
  EXPECT_EQ(KindOf("float"), Kind::kFloat4);
  EXPECT_EQ(KindOf("double precision"), Kind::kFloat8);
  EXPECT_EQ(KindOf("jsonb"), Kind::kJson);
  EXPECT_EQ(KindOf("time without time zone"), Kind::kTime);
  EXPECT_EQ(KindOf("timestamp without time zone"), Kind::kText);
  EXPECT_EQ(KindOf("bytea"), Kind::kText);
}

TEST(VerifyNormalise, KeysOrderNumbersByValueAndTextByBytes) {
  EXPECT_EQ(CompareKeys({"10"}, {"9"}, {Kind::kInteger}), 1);
  EXPECT_EQ(CompareKeys({"10"}, {"9"}, {Kind::kText}), -1);
  EXPECT_EQ(CompareKeys({"1.50"}, {"1.5"}, {Kind::kDecimal}), 0);
  EXPECT_EQ(CompareKeys({"1", "b"}, {"1", "a"}, {Kind::kInteger, Kind::kText}), 1);
  EXPECT_EQ(CompareKeys({"1", "Z"}, {"1", "a"}, {Kind::kInteger, Kind::kText}), -1);
}

}  // namespace
}  // namespace stagesync::verify
