// json::Writer: the spellings every JSON output of stagesync relies on.
#include "stagesync/json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace stagesync::json {
namespace {

TEST(JsonWriter, MembersInTheOrderWritten) {
  Writer w;
  w.StartObject();
  w.Key("b").Int(-3).Key("a").Uint(18446744073709551615u).Key("ok").Bool(true);
  w.Key("none").Null().Key("list").StartArray().String("x").Int(1).StartObject().EndObject();
  w.EndArray().EndObject();
  EXPECT_EQ(
      w.str(),
      "{\"b\":-3,\"a\":18446744073709551615,\"ok\":true,\"none\":null,\"list\":[\"x\",1,{}]}");
}

TEST(JsonWriter, StringsAreCopiedWithOnlyWhatJsonRequiresEscaped) {
  Writer w;
  w.StartArray();
  w.String("quote \" backslash \\ slash / tab \t newline \n");
  const char controls[] = "cr \r bs \b ff \f nul \0 us \x1f del \x7f";
  w.String(std::string_view(controls, sizeof controls - 1));
  w.String("UTF-8 \xc3\xa9 and a stray byte \xff");
  w.EndArray();
  EXPECT_EQ(w.str(),
            "[\"quote \\\" backslash \\\\ slash / tab \\t newline \\n\","
            "\"cr \\r bs \\b ff \\f nul \\u0000 us \\u001F del \x7f\","
            "\"UTF-8 \xc3\xa9 and a stray byte \xff\"]");
}

TEST(JsonWriter, NumberSpellings) {
  Writer w;
  w.StartArray();
  w.Double(0.25).Double(0).Double(2).Double(1e-7).Double(123456.789);
  w.Fixed(0, 3).Fixed(1.23456, 3).Fixed(-0.0004, 3).Fixed(1e6, 3);
  w.Significant(0.005, 9).Significant(1.0 / 3, 9).Significant(1e21, 9).Significant(30, 9);
  w.EndArray();
  EXPECT_EQ(w.str(),
            "[0.25,0.0,2.0,1e-7,123456.789,"
            "0.000,1.235,-0.000,1000000.000,"
            "0.005,0.333333333,1e+21,30]");
}

TEST(JsonWriter, AbsentValuesAreNull) {
  Writer w;
  w.StartObject();
  w.Key("s").StringOrNull("").Key("t").StringOrNull("x");
  w.Key("i").IntOrNull(std::nullopt).Key("j").IntOrNull(-5);
  w.Key("d").DoubleOrNull(std::nullopt).Key("e").DoubleOrNull(1.5);
  w.Key("f").FixedOrNull(std::nullopt, 3).Key("g").FixedOrNull(0.1, 3);
  w.EndObject();
  EXPECT_EQ(w.str(),
            "{\"s\":null,\"t\":\"x\",\"i\":null,\"j\":-5,\"d\":null,\"e\":1.5,\"f\":null,"
            "\"g\":0.100}");
}

TEST(JsonWriter, RawTextAndParsedValuesGoInAsTheyAre) {
  rapidjson::Document d;
  d.Parse("{\"z\":[1,2.50,\"\\u00e9\"],\"a\":null}");
  ASSERT_FALSE(d.HasParseError());
  Writer w;
  w.StartObject().Key("raw").Raw("{\"kept\" : 1}").Key("parsed").Value(d).EndObject();
  EXPECT_EQ(w.str(), "{\"raw\":{\"kept\" : 1},\"parsed\":{\"z\":[1,2.5,\"\xc3\xa9\"],\"a\":null}}");
}

}  // namespace
}  // namespace stagesync::json
