#include "debezium_types.h"

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>

#include <fstream>
#include <sstream>
#include <tuple>

namespace stagesync::debezium {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(STAGESYNC_FIXTURES_DIR) + "/debezium/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Decodes payload.after.<field> of a fixture through its own schema.
std::string DecodeAfter(const std::string& fixture, const std::string& field) {
  rapidjson::Document doc;
  doc.Parse(Fixture(fixture).c_str());
  EXPECT_FALSE(doc.HasParseError()) << fixture;
  for (const auto& part : doc["schema"]["fields"].GetArray()) {
    if (std::string(part["field"].GetString()) != "after") continue;
    for (const auto& f : part["fields"].GetArray()) {
      if (field != f["field"].GetString()) continue;
      Value v;
      Status s = ReadValue(doc["payload"]["after"][field.c_str()], TypeFromSchema(f), &v);
      EXPECT_TRUE(s.ok()) << s.message();
      return v.is_null() ? "<null>" : v.text;
    }
  }
  ADD_FAILURE() << "no field " << field << " in " << fixture;
  return {};
}

TEST(DebeziumTypes, RealDecimalsDecodeToTheDocumentedValues) {
  EXPECT_EQ(DecodeAfter("pg_decimal.json", "decimal_test"), "123.45");
  EXPECT_EQ(DecodeAfter("pg_decimal.json", "decimal_test_5"), "123");
  EXPECT_EQ(DecodeAfter("pg_decimal.json", "decimal_test_5_2"), "123.45");
  EXPECT_EQ(DecodeAfter("pg_decimal.json", "decimal_test_39"),
            "58569102859845154622791691858438258688");
  EXPECT_EQ(DecodeAfter("pg_decimal.json", "decimal_test_39_2"),
            "585691028598451546227916918584382586.22");
  EXPECT_EQ(DecodeAfter("pg_decimal.json", "decimal_test_39_6"),
            "585691028598451546227916918584388.123456");
  EXPECT_EQ(DecodeAfter("pg_numeric.json", "numeric_test"), "123456.789");
  EXPECT_EQ(DecodeAfter("pg_numeric.json", "numeric_5_6"), "0.023456");
  EXPECT_EQ(DecodeAfter("pg_numeric.json", "numeric_39_6"),
            "585691028598451546227958438258688.123456");
  EXPECT_EQ(DecodeAfter("pg_money.json", "money_test"), "123456.78");
}

TEST(DebeziumTypes, EmulatedAllTypesDecodeToPostgresText) {
  const std::string f = "zz_pg_alltypes_transferia_emulated.json";
  EXPECT_EQ(DecodeAfter(f, "b8"), "10101111");
  EXPECT_EQ(DecodeAfter(f, "si"), "-32768");
  EXPECT_EQ(DecodeAfter(f, "bid"), "3372036854775807");
  EXPECT_EQ(DecodeAfter(f, "real_"), "1.45e-10");
  EXPECT_EQ(DecodeAfter(f, "date_"), "1999-01-08");
  EXPECT_EQ(DecodeAfter(f, "time_"), "04:05:06");
  EXPECT_EQ(DecodeAfter(f, "time1"), "04:05:06.1");
  EXPECT_EQ(DecodeAfter(f, "timestamp6"), "2004-10-19 10:23:54.987654");
  EXPECT_EQ(DecodeAfter(f, "timestamp1"), "2004-10-19 10:23:54.9");
  EXPECT_EQ(DecodeAfter(f, "numeric_5_2"), "123.67");
  EXPECT_EQ(DecodeAfter(f, "decimal_"), "123456");
  EXPECT_EQ(DecodeAfter(f, "iv"), "90000000000 microseconds");
  EXPECT_EQ(DecodeAfter(f, "ba"), "\\xcafebabe");
  EXPECT_EQ(DecodeAfter(f, "pt"), "(23.4,-44.5)");
  EXPECT_EQ(DecodeAfter(f, "timestamptz_"), "2004-10-19T08:23:54Z");
  EXPECT_EQ(DecodeAfter(f, "oid_"), "<null>");
}

struct RoundTrip {
  uint32_t oid;
  int32_t typmod;
  const char* text;  // PostgreSQL output
  const char* json;  // what we write
  const char* back;  // what reading it gives (PostgreSQL input that means the same)
};

class DebeziumRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(DebeziumRoundTrip, WritesDebeziumJsonAndReadsItBack) {
  const RoundTrip& c = GetParam();
  FieldType t = TypeForPostgres(c.oid, c.typmod, {});
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  ASSERT_TRUE(WriteValue(w, t, Value::Text(c.text)).ok());
  w.EndArray();
  std::string json = buf.GetString();
  EXPECT_EQ(json, std::string("[") + c.json + "]");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.c_str());
  Value back;
  ASSERT_TRUE(ReadValue(doc[0], t, &back).ok());
  EXPECT_EQ(back.text, c.back);
}

INSTANTIATE_TEST_SUITE_P(
    Types, DebeziumRoundTrip,
    ::testing::Values(
        RoundTrip{16, -1, "t", "true", "t"}, RoundTrip{21, -1, "-32768", "-32768", "-32768"},
        RoundTrip{20, -1, "-9223372036854775808", "-9223372036854775808", "-9223372036854775808"},
        RoundTrip{701, -1, "1e-308", "1e-308", "1e-308"},
        RoundTrip{701, -1, "NaN", "\"NaN\"", "NaN"}, RoundTrip{701, -1, "-0", "-0.0", "-0"},
        RoundTrip{700, -1, "-0", "-0.0", "-0"}, RoundTrip{701, -1, "0", "0", "0"},
        RoundTrip{700, -1, "-Infinity", "\"-Infinity\"", "-Infinity"},
        RoundTrip{1700, (5 << 16 | 2) + 4, "123.67", "\"ME8=\"", "123.67"},
        RoundTrip{1700, (5 << 16 | 2) + 4, "-123.67", "\"z7E=\"", "-123.67"},
        RoundTrip{1700, -1, "123456789012345678901234567890.123456789",
                  "{\"scale\":9,\"value\":\"XODppWAV/sWq36MorjmBFQ==\"}",
                  "123456789012345678901234567890.123456789"},
        RoundTrip{1700, -1, "NaN", "\"NaN\"", "NaN"},
        RoundTrip{17, -1, "\\xcafebabe", "\"yv66vg==\"", "\\xcafebabe"},
        RoundTrip{1082, -1, "1999-01-08", "10599", "1999-01-08"},
        RoundTrip{1082, -1, "0044-03-15 BC", "-735160", "0044-03-15 BC"},
        RoundTrip{1083, -1, "04:05:06.123456", "14706123456", "04:05:06.123456"},
        RoundTrip{1083, 1, "04:05:06.1", "14706100", "04:05:06.1"},
        RoundTrip{1114, -1, "2004-10-19 10:23:54.987654", "1098181434987654",
                  "2004-10-19 10:23:54.987654"},
        RoundTrip{1114, -1, "infinity", "9223372036825200000", "infinity"},
        RoundTrip{1114, -1, "1969-12-31 23:59:59.5", "-500000", "1969-12-31 23:59:59.5"},
        RoundTrip{1184, -1, "2004-10-19 10:23:54.5+02", "\"2004-10-19T08:23:54.5Z\"",
                  "2004-10-19T08:23:54.5Z"},
        RoundTrip{1266, -1, "10:51:02.746572+02", "\"08:51:02.746572Z\"", "08:51:02.746572Z"},
        RoundTrip{1186, -1, "1 day 01:00:00", "90000000000", "90000000000 microseconds"},
        RoundTrip{2950, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                  "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
                  "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        RoundTrip{3802, -1, "{\"a\": [1, 2.50]}", "\"{\\\"a\\\": [1, 2.50]}\"",
                  "{\"a\": [1, 2.50]}"},
        RoundTrip{1560, 8, "10101111", "\"rw==\"", "10101111"},
        RoundTrip{1007, -1, "{1,NULL,-3}", "[1,null,-3]", "{\"1\",NULL,\"-3\"}"},
        RoundTrip{1009, -1, "{\"x,y\",NULL,\"\\\"q\\\"\"}", "[\"x,y\",null,\"\\\"q\\\"\"]",
                  "{\"x,y\",NULL,\"\\\"q\\\"\"}"},
        RoundTrip{600, -1, "(23.4,-44.5)",
                  "{\"x\":23.4,\"y\":-44.5,\"wkb\":\"AQEAAABmZmZmZmY3QAAAAAAAQEbA\",\"srid\":null}",
                  "(23.4,-44.5)"},
        RoundTrip{25, -1, "tab\there \"q\" \\ 🙂", "\"tab\\there \\\"q\\\" \\\\ 🙂\"",
                  "tab\there \"q\" \\ 🙂"}));

TEST(DebeziumTypes, UnchangedToastTravelsAsThePlaceholderAndComesBackUnchanged) {
  for (uint32_t oid : {25u, 17u, 1009u, 3802u}) {
    FieldType t = TypeForPostgres(oid, -1, {});
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    ASSERT_TRUE(WriteValue(w, t, Value::Unchanged()).ok());
    rapidjson::Document doc;
    doc.Parse(buf.GetString());
    Value back;
    ASSERT_TRUE(ReadValue(doc, t, &back).ok());
    EXPECT_TRUE(back.is_unchanged()) << oid << " " << buf.GetString();
  }
}

TEST(DebeziumTypes, MalformedValuesAreErrorsNotGuesses) {
  rapidjson::Document doc;
  doc.Parse("[\"not base64!\", \"x\", {\"scale\":1}]");
  Value v;
  EXPECT_FALSE(ReadValue(doc[0], TypeForPostgres(17, -1, {}), &v).ok());
  EXPECT_FALSE(ReadValue(doc[1], TypeForPostgres(23, -1, {}), &v).ok());
  EXPECT_FALSE(ReadValue(doc[2], TypeForPostgres(1700, -1, {}), &v).ok());
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  EXPECT_FALSE(WriteValue(w, TypeForPostgres(1082, -1, {}), Value::Text("yesterday")).ok());
}

}  // namespace
}  // namespace stagesync::debezium

namespace stagesync::debezium {
namespace {

// Our field schema for each PostgreSQL type, compared with the Debezium-shaped fixture's
// field by field: Connect type, semantic name, parameters.
struct GoldenField {
  const char* field;  // column in zz_pg_alltypes_transferia_emulated.json
  uint32_t oid;
  int32_t typmod;
};

TEST(DebeziumTypes, FieldSchemasMatchTheFixtureTypeByType) {
  rapidjson::Document doc;
  doc.Parse(Fixture("zz_pg_alltypes_transferia_emulated.json").c_str());
  ASSERT_FALSE(doc.HasParseError());
  const rapidjson::Value* after = nullptr;
  for (const auto& part : doc["schema"]["fields"].GetArray()) {
    if (std::string(part["field"].GetString()) == "after") after = &part;
  }
  ASSERT_TRUE(after);
  const GoldenField golden[] = {
      {"bl", 16, -1},
      {"b", 1560, 1},
      {"b8", 1560, 8},
      {"vb", 1562, 8},
      {"si", 21, -1},
      {"int", 23, -1},
      {"id", 20, -1},
      {"oid_", 26, -1},
      {"real_", 700, -1},
      {"d", 701, -1},
      {"c", 1042, 5},
      {"str", 1043, 259},
      {"timestamptz_", 1184, -1},
      {"timetz_", 1266, -1},
      {"iv", 1186, -1},
      {"ba", 17, -1},
      {"j", 114, -1},
      {"jb", 3802, -1},
      {"x", 142, -1},
      {"uid", 2950, -1},
      {"pt", 600, -1},
      {"it", 869, -1},
      {"int4range_", 3904, -1},
      {"date_", 1082, -1},
      {"time_", 1083, -1},
      {"time1", 1083, 1},
      {"time6", 1083, 6},
      {"timetz6", 1266, 6},
      {"timestamp1", 1114, 1},
      {"timestamp6", 1114, 6},
      {"timestamp", 1114, -1},
      {"numeric_", 1700, -1},
      {"numeric_5", 1700, (5 << 16) + 4},
      {"numeric_5_2", 1700, (5 << 16 | 2) + 4},
      {"cidr_", 650, -1},
      {"macaddr_", 829, -1},
  };
  for (const auto& g : golden) {
    const rapidjson::Value* theirs = nullptr;
    for (const auto& f : (*after)["fields"].GetArray()) {
      if (g.field == std::string(f["field"].GetString())) theirs = &f;
    }
    ASSERT_TRUE(theirs) << g.field;
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    WriteFieldSchema(w, TypeForPostgres(g.oid, g.typmod, {}), true, g.field);
    rapidjson::Document ours;
    ours.Parse(buf.GetString());
    for (const char* attr : {"type", "name"}) {
      std::string a = ours.HasMember(attr) ? ours[attr].GetString() : "";
      std::string b = theirs->HasMember(attr) ? (*theirs)[attr].GetString() : "";
      EXPECT_EQ(a, b) << g.field << "." << attr << "\nours:   " << buf.GetString();
    }
    if (theirs->HasMember("parameters")) {
      ASSERT_TRUE(ours.HasMember("parameters")) << g.field;
      for (const auto& p : (*theirs)["parameters"].GetObject()) {
        ASSERT_TRUE(ours["parameters"].HasMember(p.name)) << g.field << " " << p.name.GetString();
        EXPECT_STREQ(ours["parameters"][p.name].GetString(), p.value.GetString()) << g.field;
      }
    }
  }
}

}  // namespace
}  // namespace stagesync::debezium

namespace stagesync::debezium {
namespace {

TEST(DebeziumTypes, DecimalHandlingModesStringAndDouble) {
  TypeOptions as_string{DecimalMode::kString};
  TypeOptions as_double{DecimalMode::kDouble};
  for (const auto& [options, expected_json, expected_type] :
       {std::tuple{as_string, std::string("[\"-123.45\",\"NaN\"]"), std::string("string")},
        std::tuple{as_double, std::string("[-123.45,\"NaN\"]"), std::string("double")}}) {
    FieldType t = TypeForPostgres(1700, (10 << 16 | 2) + 4, options);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    ASSERT_TRUE(WriteValue(w, t, Value::Text("-123.45")).ok());
    ASSERT_TRUE(WriteValue(w, t, Value::Text("NaN")).ok());
    w.EndArray();
    EXPECT_EQ(buf.GetString(), expected_json);
    rapidjson::StringBuffer schema;
    JsonWriter sw(schema);
    WriteFieldSchema(sw, t, true, "n");
    EXPECT_NE(std::string(schema.GetString()).find("\"type\":\"" + expected_type + "\""),
              std::string::npos);
    rapidjson::Document doc;
    doc.Parse(buf.GetString());
    Value back;
    ASSERT_TRUE(ReadValue(doc[0], t, &back).ok());
    EXPECT_EQ(back.text, "-123.45");
    ASSERT_TRUE(ReadValue(doc[1], t, &back).ok());
    EXPECT_EQ(back.text, "NaN");
  }
}

}  // namespace
}  // namespace stagesync::debezium
