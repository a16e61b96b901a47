#include "stagesync/debezium.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "debezium_types.h"

namespace stagesync::debezium {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
std::string Fixture(const std::string& name) {
  return Read(std::string(STAGESYNC_FIXTURES_DIR) + "/debezium/" + name);
}

std::vector<std::string> FieldNames(const rapidjson::Value& struct_schema) {
  std::vector<std::string> out;
  for (const auto& f : struct_schema["fields"].GetArray()) out.push_back(f["field"].GetString());
  return out;
}

RelationPtr Users() {
  auto r = std::make_shared<SourceRelation>();
  r->schema = "public";
  r->name = "um_user";
  r->columns = {{"um_id", 23, -1, true},
                {"um_user_name", 1043, 259, false},
                {"um_salt", 25, -1, false},
                {"um_changed_time", 1114, -1, false},
                {"um_balance", 1700, (12 << 16 | 2) + 4, false},
                {"um_tags", 1009, -1, false}};
  return r;
}

TxnBegin Txn() {
  TxnBegin b;
  b.xid = 752;
  b.final_lsn = 26752656;
  b.commit_time = 1719690972831867;
  return b;
}

TEST(DebeziumEnvelope, LayoutMatchesRealDebezium262) {
  rapidjson::Document real;
  real.Parse(Fixture("pg_insert.json").c_str());
  ASSERT_FALSE(real.HasParseError());
  Encoder enc({"orders", "order_db", true});
  RowChange c;
  c.op = RowOp::kInsert;
  c.relation = Users();
  c.lsn = 26752656;
  c.new_tuple = {Value::Text("1"),     Value::Text("admin"),
                 Value::Text("s"),     Value::Text("2024-06-29 16:42:52.823282"),
                 Value::Text("10.50"), Value::Text("{a,b}")};
  TxnBegin txn = Txn();
  std::vector<KafkaRecord> out;
  ASSERT_TRUE(enc.EncodeRow(c, {&txn, 1, 1}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "orders.public.um_user");
  rapidjson::Document ours;
  ours.Parse(out[0].value->c_str());
  ASSERT_FALSE(ours.HasParseError());
  // Envelope and source block: same fields, same order, same types as Debezium 2.6.2.
  EXPECT_EQ(FieldNames(ours["schema"]), FieldNames(real["schema"]));
  const auto& real_source = real["schema"]["fields"][2];
  const auto& our_source = ours["schema"]["fields"][2];
  EXPECT_EQ(FieldNames(our_source), FieldNames(real_source));
  for (rapidjson::SizeType i = 0; i < real_source["fields"].Size(); ++i) {
    EXPECT_STREQ(our_source["fields"][i]["type"].GetString(),
                 real_source["fields"][i]["type"].GetString());
  }
  EXPECT_STREQ(our_source["name"].GetString(), real_source["name"].GetString());
  EXPECT_EQ(ours["schema"]["version"].GetInt(), real["schema"]["version"].GetInt());
  std::vector<std::string> payload_keys, real_keys;
  for (const auto& m : ours["payload"].GetObject()) payload_keys.push_back(m.name.GetString());
  for (const auto& m : real["payload"].GetObject()) real_keys.push_back(m.name.GetString());
  EXPECT_EQ(payload_keys, real_keys);
  const auto& src = ours["payload"]["source"];
  EXPECT_STREQ(src["connector"].GetString(), "postgresql");
  EXPECT_EQ(src["txId"].GetInt64(), 752);
  EXPECT_EQ(src["lsn"].GetInt64(), 26752656);
  EXPECT_EQ(src["ts_ms"].GetInt64(), 1719690972831);
  EXPECT_STREQ(ours["payload"]["op"].GetString(), "c");
  EXPECT_EQ(ours["payload"]["after"]["um_changed_time"].GetInt64(), 1719679372823282);
  EXPECT_STREQ(ours["payload"]["transaction"]["id"].GetString(), "752:26752656");
  // The key: the primary key only, named <topic>.Key.
  rapidjson::Document key;
  key.Parse(out[0].key->c_str());
  EXPECT_STREQ(key["schema"]["name"].GetString(), "orders.public.um_user.Key");
  EXPECT_EQ(key["payload"]["um_id"].GetInt(), 1);
}

TEST(DebeziumEnvelope, MysqlSourceBlockMatchesTheMysqlConnector) {
  rapidjson::Document real;
  real.Parse(Fixture("mysql_update.json").c_str());
  ASSERT_FALSE(real.HasParseError());
  EncoderOptions options{"mysql1", "", true};
  options.source_kind = Engine::kMysql;
  Encoder enc(options);
  auto rel = std::make_shared<SourceRelation>();
  rel->schema = "inventory";
  rel->name = "customers";
  rel->columns = {{"id", 23, -1, true}, {"email", 25, -1, false}};
  RowChange c;
  c.op = RowOp::kUpdate;
  c.relation = rel;
  c.lsn = (Lsn{3} << 32) | 3723;
  c.row = 2;
  c.old_tuple = {Value::Text("1004"), Value::Text("a@x")};
  c.new_tuple = {Value::Text("1004"), Value::Text("b@x")};
  TxnBegin txn;
  txn.final_lsn = (Lsn{3} << 32) | 3600;
  txn.commit_time = 1678735164000000;
  txn.binlog_file = "mysql-bin.000003";
  txn.gtid = "0-223344-17";
  txn.server_id = 223344;
  txn.thread = 12;
  std::vector<KafkaRecord> out;
  ASSERT_TRUE(enc.EncodeRow(c, {&txn, 1, 1}, &out).ok());
  EXPECT_EQ(out[0].topic, "mysql1.inventory.customers");
  rapidjson::Document ours;
  ours.Parse(out[0].value->c_str());
  ASSERT_FALSE(ours.HasParseError());
  // Debezium 2.6 adds ts_us and ts_ns after sequence to the 2.0.1 fixture's fields.
  std::vector<std::string> want = FieldNames(real["schema"]["fields"][2]);
  want.insert(want.begin() + 7, {"ts_us", "ts_ns"});
  const auto& our_source = ours["schema"]["fields"][2];
  EXPECT_EQ(FieldNames(our_source), want);
  EXPECT_STREQ(our_source["name"].GetString(), "io.debezium.connector.mysql.Source");
  const auto& src = ours["payload"]["source"];
  EXPECT_STREQ(src["connector"].GetString(), "mysql");
  EXPECT_STREQ(src["db"].GetString(), "inventory");
  EXPECT_STREQ(src["file"].GetString(), "mysql-bin.000003");
  EXPECT_EQ(src["pos"].GetInt64(), 3723);
  EXPECT_EQ(src["row"].GetInt(), 2);
  EXPECT_EQ(src["server_id"].GetInt64(), 223344);
  EXPECT_STREQ(src["gtid"].GetString(), "0-223344-17");
  EXPECT_EQ(src["thread"].GetInt64(), 12);
  EXPECT_STREQ(ours["payload"]["transaction"]["id"].GetString(), "0-223344-17");
  // Read back, the binlog coordinates order the record for deduplication.
  DecodedRecord rec;
  ASSERT_TRUE(DecodeRecord(out[0].key, out[0].value, nullptr, &rec).ok());
  EXPECT_EQ(rec.lsn, c.lsn);
  EXPECT_EQ(rec.total_order, 2);
  EXPECT_EQ(rec.schema, "inventory");
  EXPECT_EQ((*rec.after)[1].text, "b@x");
}

TEST(DebeziumEnvelope, RoundTripsEveryOperation) {
  for (bool schemas : {true, false}) {
    Encoder enc({"stagesync", "prod", schemas});
    TxnBegin txn = Txn();
    RowChange ins;
    ins.op = RowOp::kInsert;
    ins.relation = Users();
    ins.lsn = 100;
    ins.new_tuple = {Value::Text("7"),     Value::Text("tab\there"),
                     Value::Null(),        Value::Text("1999-01-08 04:05:06.5"),
                     Value::Text("-0.01"), Value::Text("{\"x,y\",NULL}")};
    RowChange upd = ins;
    upd.op = RowOp::kUpdate;
    upd.new_tuple[2] = Value::Unchanged();
    RowChange del;
    del.op = RowOp::kDelete;
    del.relation = ins.relation;
    del.old_tuple = {Value::Text("7"), Value::Null(), Value::Null(),
                     Value::Null(),    Value::Null(), Value::Null()};
    std::vector<KafkaRecord> out;
    for (const RowChange* c : {&ins, &upd, &del})
      ASSERT_TRUE(enc.EncodeRow(*c, {&txn, 1, 1}, &out).ok());
    ASSERT_EQ(out.size(), 4u);  // c, u, d, tombstone
    EXPECT_FALSE(out[3].value.has_value());
    // Schemaless records need the target's column types.
    ColumnTypeLookup lookup = [](const std::string&, const std::string&,
                                 const std::string& col) -> std::optional<std::string> {
      if (col == "um_id") return "integer";
      if (col == "um_changed_time") return "timestamp without time zone";
      if (col == "um_balance") return "numeric(12,2)";
      if (col == "um_tags") return "text[]";
      return "text";
    };
    DecodedRecord r;
    ASSERT_TRUE(DecodeRecord(out[0].key, out[0].value, lookup, &r).ok());
    EXPECT_EQ(r.kind, DecodedRecord::Kind::kRow);
    EXPECT_EQ(r.op, 'c');
    EXPECT_EQ(r.schema, "public");
    EXPECT_EQ(r.table, "um_user");
    EXPECT_EQ(r.lsn, 100u);
    ASSERT_TRUE(r.after);
    EXPECT_EQ(r.columns.size(), 6u);
    EXPECT_EQ((*r.after)[1].text, "tab\there");
    EXPECT_TRUE((*r.after)[2].is_null());
    EXPECT_EQ((*r.after)[3].text, "1999-01-08 04:05:06.5");
    EXPECT_EQ((*r.after)[4].text, "-0.01");
    EXPECT_EQ((*r.after)[5].text, "{\"x,y\",NULL}");
    EXPECT_EQ(r.key_columns, std::vector<std::string>{"um_id"});
    ASSERT_TRUE(DecodeRecord(out[1].key, out[1].value, lookup, &r).ok());
    EXPECT_EQ(r.op, 'u');
    EXPECT_TRUE((*r.after)[2].is_unchanged()) << "schemas=" << schemas;
    ASSERT_TRUE(DecodeRecord(out[2].key, out[2].value, lookup, &r).ok());
    EXPECT_EQ(r.op, 'd');
    ASSERT_TRUE(DecodeRecord(out[3].key, std::nullopt, lookup, &r).ok());
    EXPECT_EQ(r.kind, DecodedRecord::Kind::kTombstone);
    EXPECT_EQ(r.key[0].text, "7");
  }
}

TEST(DebeziumEnvelope, KeyChangeIsDeleteTombstoneCreate) {
  Encoder enc({"p", "db", true});
  TxnBegin txn = Txn();
  RowChange c;
  c.op = RowOp::kUpdate;
  c.relation = Users();
  c.old_tuple = {Value::Text("1"), Value::Null(), Value::Null(),
                 Value::Null(),    Value::Null(), Value::Null()};
  c.new_tuple = {Value::Text("2"), Value::Text("n"), Value::Null(),
                 Value::Null(),    Value::Null(),    Value::Null()};
  std::vector<KafkaRecord> out;
  ASSERT_TRUE(enc.EncodeRow(c, {&txn, 1, 1}, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].value->find("\"op\":\"d\""), std::string::npos);
  EXPECT_EQ(out[0].headers.at(0).first, "__debezium.newkey");
  EXPECT_FALSE(out[1].value);
  EXPECT_NE(out[2].value->find("\"op\":\"c\""), std::string::npos);
  // Distinct places in the transaction, so a consumer deduplicating by position keeps both.
  EXPECT_NE(out[0].value->find("\"total_order\":1,"), std::string::npos);
  EXPECT_NE(out[2].value->find("\"total_order\":2,"), std::string::npos);
  EXPECT_EQ(out[2].headers.at(0).first, "__debezium.oldkey");
}

TEST(DebeziumEnvelope, TransactionMetadataAndHeartbeat) {
  Encoder enc({"p", "db", true});
  TxnBegin txn = Txn();
  KafkaRecord end = enc.EncodeTransaction(false, txn, 999, {{"public.a", 2}, {"public.b", 1}});
  EXPECT_EQ(end.topic, "p.transaction");
  rapidjson::Document v;
  v.Parse(end.value->c_str());
  EXPECT_STREQ(v["payload"]["status"].GetString(), "END");
  EXPECT_EQ(v["payload"]["event_count"].GetInt(), 3);
  EXPECT_EQ(v["payload"]["data_collections"].Size(), 2u);
  EXPECT_STREQ(v["schema"]["name"].GetString(),
               "io.debezium.connector.common.TransactionMetadataValue");
  KafkaRecord hb = enc.EncodeHeartbeat(1700000000000000);
  EXPECT_EQ(hb.topic, "__debezium-heartbeat.p");
  EXPECT_NE(hb.value->find("\"ts_ms\":1700000000000"), std::string::npos);
  DecodedRecord r;
  ASSERT_TRUE(DecodeRecord(end.key, end.value, nullptr, &r).ok());
  EXPECT_EQ(r.kind, DecodedRecord::Kind::kOther);
  ASSERT_TRUE(DecodeRecord(hb.key, hb.value, nullptr, &r).ok());
  EXPECT_EQ(r.kind, DecodedRecord::Kind::kOther);
}

// Every real Debezium value in the fixtures decodes, through its own schema or, schemaless,
// as text; deletes without images are identified by their key.
TEST(DebeziumEnvelope, RealFixturesDecode) {
  int decoded = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(STAGESYNC_FIXTURES_DIR) + "/debezium")) {
    std::string name = entry.path().filename();
    if (entry.path().extension() != ".json" || name.find("_key") != std::string::npos) continue;
    std::string text = Read(entry.path());
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    ASSERT_FALSE(doc.HasParseError()) << name;
    std::vector<std::string> records;
    if (doc.IsArray()) {
      for (const auto& e : doc.GetArray()) {
        rapidjson::StringBuffer b;
        rapidjson::Writer<rapidjson::StringBuffer> w(b);
        e.Accept(w);
        records.push_back(b.GetString());
      }
    } else {
      records.push_back(text);
    }
    for (const auto& rec : records) {
      std::optional<std::string> key;
      if (name == "pg_delete_not_full_replica_identity_schemaless.json") key = "{\"id\":1}";
      DecodedRecord r;
      Status s = DecodeRecord(key, rec, nullptr, &r);
      EXPECT_TRUE(s.ok()) << name << ": " << s.message();
      EXPECT_FALSE(r.table.empty()) << name;
      ++decoded;
    }
  }
  EXPECT_GE(decoded, 20);
}

TEST(DebeziumEnvelope, MalformedRecordsAreClearErrors) {
  struct Case {
    const char* value;
    const char* mentions;
  } cases[] = {
      {"{\"before\":null,\"after\":{\"id\":1}", "not valid JSON"},
      {"{\"before\":null,\"after\":{\"id\":1},\"source\":{\"table\":\"t\",\"schema\":\"s\"}}",
       "op"},
      {"{\"after\":{\"id\":1},\"op\":\"c\"}", "source"},
      {"{\"after\":null,\"op\":\"c\",\"source\":{\"table\":\"t\",\"schema\":\"s\"}}", "after"},
      {"{\"op\":\"x\",\"source\":{\"table\":\"t\",\"schema\":\"s\"}}", "unknown op"},
      {"{\"op\":\"d\",\"before\":null,\"source\":{\"table\":\"t\",\"schema\":\"s\"}}",
       "cannot be identified"},
      {"[1,2,3]", "not an object"},
      // An envelope without op stays malformed even when it carries ts_ms (heartbeats do).
      {"{\"after\":{\"id\":1},\"source\":{\"table\":\"t\",\"schema\":\"s\"},\"ts_ms\":1}", "op"},
      {"{\"ts_ms\":1,\"status\":\"BEGIN\"}", "op"},
      {"", "empty"},
  };
  for (const auto& c : cases) {
    DecodedRecord r;
    Status s = DecodeRecord(std::nullopt, std::string_view(c.value), nullptr, &r);
    ASSERT_FALSE(s.ok()) << c.value;
    EXPECT_NE(s.message().find(c.mentions), std::string::npos) << s.message();
  }
  ColumnTypeLookup ints = [](const std::string&, const std::string&, const std::string&) {
    return std::optional<std::string>("integer");
  };
  DecodedRecord r;
  Status s = DecodeRecord(std::nullopt,
                          std::string_view("{\"op\":\"c\",\"after\":{\"id\":\"abc\"},\"source\":{"
                                           "\"table\":\"t\",\"schema\":\"s\"}}"),
                          ints, &r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("after.field id"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace stagesync::debezium

namespace stagesync::debezium {
namespace {

// With a schema, a field the payload leaves out is its default or null (JsonConverter's
// reading), not "unchanged".
TEST(DebeziumEnvelope, FieldsTheSchemaListsButThePayloadLacksAreTheirDefaultOrNull) {
  std::string value =
      "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"field\":\"after\",\"type\":\"struct\","
      "\"optional\":true,\"fields\":[{\"field\":\"id\",\"type\":\"int32\",\"optional\":false},"
      "{\"field\":\"note\",\"type\":\"string\",\"optional\":true},{\"field\":\"n\",\"type\":"
      "\"int32\",\"optional\":false,\"default\":7}]}]},\"payload\":{\"op\":\"c\",\"after\":{"
      "\"id\":1},\"source\":{\"schema\":\"s\",\"table\":\"t\"}}}";
  DecodedRecord r;
  Status s = DecodeRecord(std::nullopt, value, nullptr, &r);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(r.after);
  ASSERT_EQ(r.columns, (std::vector<std::string>{"id", "note", "n"}));
  EXPECT_TRUE((*r.after)[1].is_null());
  EXPECT_EQ((*r.after)[2].text, "7");
}

}  // namespace
}  // namespace stagesync::debezium

namespace stagesync::debezium {
namespace {

// A record with more fields than any table has is turned away before decoding costs much.
TEST(DebeziumEnvelope, RecordsWithMoreFieldsThanAnyTableAreMalformed) {
  std::string after;
  for (int i = 0; i < 100000; ++i) after += (i ? ",\"c" : "\"c") + std::to_string(i) + "\":1";
  std::string value = "{\"op\":\"c\",\"after\":{" + after +
                      "},\"source\":{\"schema\":\"s\",\"table\":\"t\",\"lsn\":1}}";
  DecodedRecord r;
  Status s = DecodeRecord(std::nullopt, value, nullptr, &r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("100000 fields; no table has more than 4096"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace stagesync::debezium
