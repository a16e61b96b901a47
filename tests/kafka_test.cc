// capture -> Kafka -> apply on real PostgreSQL servers and librdkafka's mock cluster (the
// Kafka protocol on loopback); kcat, a stock client, reads what capture wrote.
#include "stagesync/kafka.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "apply_audit.h"
#include "kafka_fixture.h"

namespace stagesync::testing {
namespace {

class KafkaTest : public KafkaSyncTest {
 protected:
  // The workload's tables on both sides (the ledger audited, being append-only), setup,
  // and capture + apply running.
  void StartPipeline() {
    OnBoth(
        "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric(12,2), ts timestamptz, big text, "
        "arr int[], f float8 DEFAULT '-0'); CREATE TABLE nk (a int, b text); "
        "ALTER TABLE nk REPLICA IDENTITY FULL; CREATE TABLE ledger (id bigserial PRIMARY KEY, "
        "note text)");
    InstallApplyAudit(target(), db_, "ledger", "id");
    spec_.allow_keyless = true;  // the target starts empty
    UseKafka();
    SetupOrFail();
    capture_ = Start("capture");
    apply_ = Start("apply");
  }
};

const std::vector<TableComparison>& PipelineTables() {
  static const std::vector<TableComparison> tables = {
      {"t", "id"}, {"nk", "a, b"}, {"ledger", "id"}};
  return tables;
}

void Workload(const SyncTest& t, int from, int to,
              const std::function<void(const std::string&)>& exec) {
  for (int i = from; i < to; ++i) {
    std::string n = std::to_string(i);
    exec("INSERT INTO t VALUES (" + n + ", 'v" + n + "', " + n + ".25, now(), NULL, ARRAY[" + n +
         ", NULL]); INSERT INTO nk VALUES (" + n +
         " % 7, 'k'); UPDATE t SET v = v || '+' WHERE id = " + std::to_string(i / 2) +
         "; DELETE FROM t WHERE id = " + std::to_string(i - 5) + "; UPDATE nk SET b = 'u' || " + n +
         " WHERE ctid = (SELECT ctid FROM nk WHERE a = " + n +
         " % 5 LIMIT 1); INSERT INTO ledger (note) SELECT 'l" + n + "' FROM generate_series(1, 3)");
  }
  (void)t;
}

TEST_F(KafkaTest, kafka_capture_apply_survive_kill9_and_kcat_reads_the_events) {
  StartPipeline();
  OnSource("INSERT INTO t VALUES (-1000, 'toast', 0, now(), repeat('x', 300000), NULL)");
  auto exec = [&](const std::string& sql) { OnSource(sql); };
  Workload(*this, 0, 40, exec);
  OnSource(
      "UPDATE t SET v = 'toast kept' WHERE id = -1000; UPDATE t SET id = 100000 WHERE id = 30");
  // kill -9 while capture streams a steady load: what Kafka confirmed since capture last
  // acknowledged the slot is sent again after the restart, and must be skipped.
  std::thread load([&] { Workload(*this, 40, 100, exec); });
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::stoi(target().QueryValue(db_, "SELECT count(*) FROM ledger").value_or("0")) < 150 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  capture_->Kill();
  load.join();
  capture_ = Start("capture");
  apply_->Kill();
  Workload(*this, 100, 130, exec);
  apply_ = Start("apply");
  Workload(*this, 130, 150, exec);
  EXPECT_TRUE(Converges(PipelineTables(), 90s)) << Logs();
  // The records capture sent twice after its kill were skipped, none applied twice.
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id")) << Logs();
  auto big = target().Query(db_, "SELECT length(big), v FROM t WHERE id = -1000");
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(*big[0][0], "300000") << "unchanged TOAST must keep the target's value";
  EXPECT_EQ(*big[0][1], "toast kept");
  EXPECT_EQ(target().QueryValue(db_, "SELECT f::text FROM t WHERE id = -1000"), "-0")
      << "float8 negative zero must keep its sign through the JSON";

  // A stock Kafka client sees Debezium envelopes on <prefix>.<schema>.<table>.
  CommandResult read =
      Kcat({"-C", "-t", db_ + ".public.t", "-o", "beginning", "-e", "-q", "-c", "5"});
  ASSERT_EQ(read.exit_code, 0) << read.Describe();
  EXPECT_NE(read.out.find("\"payload\""), std::string::npos) << read.out.substr(0, 500);
  EXPECT_NE(read.out.find("\"connector\":\"postgresql\""), std::string::npos);
  CommandResult txn =
      Kcat({"-C", "-t", db_ + ".transaction", "-o", "beginning", "-e", "-q", "-c", "2"});
  EXPECT_NE(txn.out.find("\"status\":\"BEGIN\""), std::string::npos) << txn.Describe();

  // status shows apply's consumer lag per partition, down to nothing once apply has also
  // gone through the records capture sent twice (the tables match before that).
  std::string lag;
  for (int i = 0; i < 150; ++i) {
    StatusResult status = Status();
    ASSERT_TRUE(status.json) << status.command.Describe();
    lag = (*status.json)["kafka_consumer_lag"].text;
    if (!std::regex_search(lag, std::regex("\"lag\":[1-9]"))) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(lag.find("{\"topic\":\"" + db_ + ".public.t\",\"partition\":0,\"lag\":0}"),
            std::string::npos)
      << lag;
  EXPECT_FALSE(std::regex_search(lag, std::regex("\"lag\":[1-9]"))) << lag << Logs();

  capture_->Signal(SIGTERM);
  apply_->Signal(SIGTERM);
  EXPECT_EQ(capture_->Wait(30s), 0) << Logs();
  EXPECT_EQ(apply_->Wait(30s), 0) << Logs();
}

// Capture and apply apart: status sees both up with a lag, and the cutover drains through
// Kafka (the marker confirmed by Kafka, then every partition applied to its end).
TEST_F(KafkaTest, cutover_under_load_drains_through_kafka) {
  OnBoth("CREATE TABLE t (id int PRIMARY KEY, v text)");
  UseKafka("[cutover]\nmax_lag = \"3s\"\nverify = \"checksum\"\n");
  SetupOrFail();
  capture_ = Start("capture");
  apply_ = Start("apply");
  OnSource("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 200) g");
  ASSERT_TRUE(Converges({{"t", "id"}}, 90s)) << Logs();
  StatusResult before;
  for (int i = 0; i < 50; ++i) {
    before = Status();
    if (before.json && (*before.json)["state"].text == "streaming") break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(before.json) << before.command.Describe();
  EXPECT_EQ((*before.json)["state"].text, "streaming") << before.command.out << Logs();
  EXPECT_EQ((*before.json)["run_alive"].text, "true");
  EXPECT_EQ((*before.json)["lag_seconds"].kind, JsonValue::Kind::kNumber);

  std::atomic<bool> stop{false};
  std::thread load([&] {
    for (int i = 1000; !stop; ++i) {
      try {
        OnSource("INSERT INTO t VALUES (" + std::to_string(i) + ", 'load')");
      } catch (const std::exception&) {  // fenced
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  std::this_thread::sleep_for(1s);
  CommandResult result = Stagesync({"cutover", "--json"}, 120s);
  stop = true;
  load.join();
  ASSERT_EQ(result.exit_code, 0) << result.Describe() << Logs();
  auto report = ParseJsonObject(result.out);
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["state"].text, "done");
  EXPECT_NE((*report)["steps"].text.find("Kafka confirmed"), std::string::npos) << result.out;
  EXPECT_EQ(TableDigest(source(), db_, "t", "id"), TableDigest(target(), db_, "t", "id"));
  source().Exec("postgres", "ALTER DATABASE " + db_ + " RESET default_transaction_read_only");
}

TEST_F(KafkaTest, kafka_broker_down_20s_loses_nothing) {
  StartPipeline();
  auto exec = [&](const std::string& sql) { OnSource(sql); };
  Workload(*this, 0, 20, exec);
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(mock_->SetBrokerDown(b, true).ok());
  Workload(*this, 20, 60, exec);  // production goes on while Kafka is away
  std::this_thread::sleep_for(20s);
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(mock_->SetBrokerDown(b, false).ok());
  Workload(*this, 60, 80, exec);
  EXPECT_TRUE(Converges(PipelineTables(), 120s)) << Logs();
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id")) << Logs();
  EXPECT_TRUE(capture_->Running()) << Logs();
  EXPECT_TRUE(apply_->Running()) << Logs();
}

TEST_F(KafkaTest, two_apply_processes_share_the_partitions) {
  StartPipeline();
  auto second = Start("apply");
  auto exec = [&](const std::string& sql) { OnSource(sql); };
  Workload(*this, 0, 40, exec);
  second->Kill();  // its partitions move to the first process, which must resume after them
  Workload(*this, 40, 80, exec);
  EXPECT_TRUE(Converges(PipelineTables(), 90s)) << Logs() << "\nsecond apply:\n"
                                                << second->Stderr();
  EXPECT_TRUE(AppliedExactlyOnce(source(), target(), db_, "ledger", "id")) << Logs();
}

TEST_F(KafkaTest, real_debezium_records_apply) {
  OnTarget(
      "CREATE TABLE outbox (id uuid PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text, "
      "type text, payload jsonb, status text, created_at timestamp)");
  OnSource("CREATE TABLE placeholder (id int PRIMARY KEY)");  // setup needs a table
  spec_.tables = {"public.*"};
  UseKafka();
  SetupOrFail();
  // Debezium 2.6.2's own insert, with its key, as Debezium wrote them.
  std::string value = ReadFile(FixturesDir() + "/debezium/pg_insert.json");
  std::string key = ReadFile(FixturesDir() + "/debezium/pg_insert_key.json");
  auto oneline = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c != '\n' && c != '\r') out += c;
    }
    return out;
  };
  CommandResult sent = Kcat({"-P", "-t", db_ + ".public.outbox", "-K", "\t"},
                            oneline(key) + "\t" + oneline(value) + "\n");
  ASSERT_EQ(sent.exit_code, 0) << sent.Describe();
  apply_ = Start("apply");
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (int i = 0; i < 100 && rows.empty(); ++i) {
    rows = target().Query(
        db_, "SELECT aggregate_type, status, created_at::text, payload->>'item' FROM outbox");
    if (rows.empty()) std::this_thread::sleep_for(300ms);
  }
  ASSERT_EQ(rows.size(), 1u) << Logs();
  EXPECT_EQ(*rows[0][0], "Order");
  EXPECT_EQ(*rows[0][1], "PENDING");
  EXPECT_EQ(*rows[0][2], "2024-06-29 16:56:02.823282");
  EXPECT_EQ(*rows[0][3], "foo");
}

TEST_F(KafkaTest, value_too_long_for_target_stops_apply_or_goes_to_dead_letters) {
  OnSource("CREATE TABLE t (id int PRIMARY KEY, v text)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY, v varchar(5))");
  UseKafka();
  SetupOrFail();
  const std::string topic = db_ + ".public.t";
  auto record = [](int id, const std::string& v) {
    return "{\"before\":null,\"after\":{\"id\":" + std::to_string(id) + ",\"v\":\"" + v +
           "\"},\"source\":{\"connector\":\"postgresql\",\"schema\":\"public\",\"table\":"
           "\"t\",\"lsn\":" +
           std::to_string(id) + "},\"op\":\"c\"}\n";
  };
  ASSERT_EQ(Kcat({"-P", "-t", topic, "-p", "0"},
                 record(1, "ok") + record(2, "much too long") + record(3, "fine"))
                .exit_code,
            0);
  // on_error = stop: apply exits naming the record, table, key, column and position.
  apply_ = Start("apply");
  auto code = apply_->Wait(60s);
  ASSERT_TRUE(code) << Logs();
  EXPECT_NE(*code, 0);
  for (const std::string& part :
       {topic + "/0/1", std::string("public.t key (id=2)"),
        std::string("value too long for type character varying(5)"),
        std::string("column v (character varying(5))"), std::string("lsn=0/2")}) {
    EXPECT_NE(apply_->Stderr().find(part), std::string::npos) << part << "\n" << Logs();
  }
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM t WHERE id > 1"), "0");
  // on_error = dead-letter: the record is set aside with its reason, the others applied.
  UseKafka("[apply]\non_error = \"dead-letter\"\n");
  apply_ = Start("apply");
  std::optional<std::string> rows;
  for (int i = 0; i < 100 && rows != "1 ok,3 fine"; ++i) {
    rows = target().QueryValue(db_, "SELECT string_agg(id || ' ' || v, ',' ORDER BY id) FROM t");
    if (rows != "1 ok,3 fine") std::this_thread::sleep_for(300ms);
  }
  EXPECT_EQ(rows, "1 ok,3 fine") << Logs();
  CommandResult dead =
      Kcat({"-C", "-t", db_ + ".dead-letter", "-o", "beginning", "-e", "-q", "-f", "%h\\n"});
  ASSERT_EQ(dead.exit_code, 0) << dead.Describe();
  EXPECT_NE(dead.out.find("value too long"), std::string::npos) << dead.out;
  EXPECT_TRUE(apply_->Running()) << Logs();
}

TEST_F(KafkaTest, malformed_records_stop_apply_or_go_to_dead_letters) {
  OnBoth("CREATE TABLE t (id int PRIMARY KEY, v text)");
  UseKafka();
  SetupOrFail();
  const std::string topic = db_ + ".public.t";
  const std::string good =
      "{\"before\":null,\"after\":{\"id\":1,\"v\":\"ok\"},\"source\":{\"connector\":\"postgresql\","
      "\"schema\":\"public\",\"table\":\"t\",\"lsn\":1},\"op\":\"c\"}";
  std::string corpus =
      std::string("{\"after\":{\"id\":2}\n") +  // truncated JSON
      "{\"after\":{\"id\":3},\"source\":{\"table\":\"t\",\"schema\":\"public\"}}\n" +  // no op
      "{\"op\":\"c\",\"after\":{\"id\":\"four\"},\"source\":{\"table\":\"t\",\"schema\":\"public\","
      "\"lsn\":2}}\n" +  // wrong type
      "{\"op\":\"c\",\"after\":{\"id\":5},\"source\":{\"table\":\"nope\",\"schema\":\"public\","
      "\"lsn\":3}}\n" +  // another table than the topic's
      good +
      "\n";
  ASSERT_EQ(Kcat({"-P", "-t", topic, "-p", "0"}, corpus).exit_code, 0);
  // on_error = stop: apply exits, naming topic/partition/offset and the reason; nothing applied.
  apply_ = Start("apply");
  auto code = apply_->Wait(60s);
  ASSERT_TRUE(code) << Logs();
  EXPECT_NE(*code, 0);
  EXPECT_NE(apply_->Stderr().find(topic + "/0/0"), std::string::npos) << Logs();
  EXPECT_NE(apply_->Stderr().find("not valid JSON"), std::string::npos) << Logs();
  EXPECT_TRUE(target().Query(db_, "SELECT 1 FROM t").empty());
  // on_error = dead-letter: the four bad records are set aside with reasons, the good applied.
  UseKafka("[apply]\non_error = \"dead-letter\"\n");
  spec_.extra_toml += "";
  apply_ = Start("apply");
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (int i = 0; i < 100 && rows.empty(); ++i) {
    rows = target().Query(db_, "SELECT v FROM t WHERE id = 1");
    if (rows.empty()) std::this_thread::sleep_for(300ms);
  }
  ASSERT_EQ(rows.size(), 1u) << Logs();
  EXPECT_EQ(target().Query(db_, "SELECT 1 FROM t").size(), 1u);
  CommandResult dead =
      Kcat({"-C", "-t", db_ + ".dead-letter", "-o", "beginning", "-e", "-q", "-f", "%h\\n"});
  ASSERT_EQ(dead.exit_code, 0) << dead.Describe();
  for (const char* reason : {"not valid JSON", "op", "after.field id", "whose topic is"}) {
    EXPECT_NE(dead.out.find(reason), std::string::npos) << reason << "\n" << dead.out;
  }
  EXPECT_TRUE(apply_->Running()) << Logs();
}

}  // namespace
}  // namespace stagesync::testing

namespace stagesync::testing {
namespace {

// Every real Debezium record in the fixtures (PostgreSQL and MySQL connectors, with and
// without schemas) goes through Kafka and apply into a table of text columns; the rows are
// checked, the documented decimals exactly.
TEST_F(KafkaTest, every_real_debezium_fixture_applies) {
  struct Fixture {
    const char* file;
    std::map<std::string, std::string> expect;  // column -> text, on the row with id 1001/1/...
    const char* key = nullptr;                  // Kafka key, when the record needs one
  };
  const std::vector<Fixture> fixtures = {
      {"pg_decimal.json",
       {{"decimal_test", "123.45"},
        {"decimal_test_5", "123"},
        {"decimal_test_39", "58569102859845154622791691858438258688"},
        {"decimal_test_39_6", "585691028598451546227916918584388.123456"}}},
      {"pg_numeric.json",
       {{"numeric_test", "123456.789"},
        {"numeric_5_6", "0.023456"},
        {"numeric_39_2", "5856910285984515462279169185843825868.22"}}},
      {"pg_money.json", {{"money_test", "123456.78"}}},
      {"pg_numbers.json", {}},
      {"pg_snapshot_customers.json", {}},
      {"pg_update_microtimestamp.json", {}},
      {"pg_insert_timestamps_json.json", {}},
      {"pg_insert_schemaless.json", {}},
      {"pg_insert_v2.0.json", {}},
      {"pg_update_not_full_replica_identity_schemaless.json", {}},
      {"mysql_insert.json", {}},
      {"mysql_update.json", {}},
      {"mysql_update_schemaless.json", {}},
      {"mysql_snapshot_read_schemaless.json", {}},
      {"zz_pg_alltypes_transferia_emulated.json",
       {{"numeric_5_2", "123.67"}, {"date_", "1999-01-08"}}},
  };
  int index = 0;
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.file);
    std::string text = ReadFile(FixturesDir() + "/debezium/" + f.file);
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    ASSERT_FALSE(doc.HasParseError());
    std::vector<const rapidjson::Value*> records;
    if (doc.IsArray()) {
      for (const auto& r : doc.GetArray()) records.push_back(&r);
    } else {
      records.push_back(&doc);
    }
    const rapidjson::Value& first =
        records[0]->HasMember("payload") ? (*records[0])["payload"] : *records[0];
    const auto& src = first["source"];
    std::string schema =
        src.HasMember("schema") ? src["schema"].GetString() : src["db"].GetString();
    std::string table = src["table"].GetString();
    // Target: <schema>.<table>_<n>, every column text, the id as key.
    std::set<std::string> columns;
    for (const auto* r : records) {
      const rapidjson::Value& p = r->HasMember("payload") ? (*r)["payload"] : *r;
      for (const char* part : {"before", "after"}) {
        if (p.HasMember(part) && p[part].IsObject()) {
          for (const auto& m : p[part].GetObject()) columns.insert(m.name.GetString());
        }
      }
      // The row's columns are also those its schema lists (a field left out of the payload
      // is null, as JsonConverter reads it).
      if (!r->HasMember("schema") || !(*r)["schema"].IsObject()) continue;
      for (const auto& part : (*r)["schema"]["fields"].GetArray()) {
        if (std::string(part["field"].GetString()) != "after" || !part.HasMember("fields"))
          continue;
        for (const auto& f : part["fields"].GetArray()) columns.insert(f["field"].GetString());
      }
    }
    std::string target_table = table + "_" + std::to_string(++index);
    std::string ddl = "CREATE SCHEMA IF NOT EXISTS " + schema + "; CREATE TABLE " + schema + "." +
                      target_table + " (";
    bool first_col = true;
    for (const auto& c : columns) {
      ddl += (first_col ? "" : ", ") + std::string("\"") + c + "\" text" +
             (c == "id" ? " PRIMARY KEY" : "");
      first_col = false;
    }
    OnTarget(ddl + ")");
    std::string prefix = db_ + "f" + std::to_string(index);
    spec_.tables = {"*.*"};
    spec_.extra_toml = "[stream]\ntransport = \"kafka\"\nbrokers = \"" +
                       mock_->bootstrap_servers() + "\"\ntopic_prefix = \"" + prefix +
                       "\"\n[mapping]\n\"" + schema + "." + table + "\" = { table = \"" + schema +
                       "." + target_table + "\" }\n";
    WriteConfig();
    std::string lines;
    for (const auto* r : records) {
      rapidjson::StringBuffer b;
      rapidjson::Writer<rapidjson::StringBuffer> w(b);
      r->Accept(w);
      lines += std::string(b.GetString()) + "\n";
    }
    ASSERT_EQ(Kcat({"-P", "-t", prefix + "." + schema + "." + table}, lines).exit_code, 0);
    apply_ = Start("apply");
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (int i = 0; i < 100 && rows.size() < records.size(); ++i) {
      rows = target().Query(db_, "SELECT * FROM " + schema + "." + target_table);
      if (rows.size() < records.size()) std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(rows.size(), records.size()) << Logs();
    for (const auto& [column, value] : f.expect) {
      auto got =
          target().Query(db_, "SELECT \"" + column + "\" FROM " + schema + "." + target_table);
      ASSERT_EQ(got.size(), 1u) << column;
      EXPECT_EQ(got[0][0].value_or("NULL"), value) << column;
    }
    apply_->Signal(SIGTERM);
    EXPECT_EQ(apply_->Wait(30s), 0) << Logs();
  }
}

}  // namespace
}  // namespace stagesync::testing
