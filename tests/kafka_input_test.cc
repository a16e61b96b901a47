// apply <- Kafka against records a broker or a producer can hand it that must never be
// skipped, dropped or misrouted: records the broker no longer has, records without a commit
// position, malformed envelopes, and records naming a table their topic does not.
#include <rapidjson/document.h>

#include <csignal>
#include <thread>

#include "kafka_fixture.h"
#include "stagesync/kafka.h"

namespace stagesync::testing {
namespace {

class KafkaInputTest : public KafkaSyncTest {
 protected:
  std::unique_ptr<Process> StartApply() { return Start("apply"); }
  // Produces `lines` (one record each; "key<TAB>value" with `keyed`) to partition 0.
  void Produce(const std::string& topic, const std::string& lines, bool keyed = false) {
    std::vector<std::string> args = {"-P", "-t", topic, "-p", "0"};
    if (keyed) args.insert(args.end(), {"-K", "\t"});
    CommandResult r = Kcat(args, lines);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  std::string DeadLetters() {
    CommandResult r =
        Kcat({"-C", "-t", db_ + ".dead-letter", "-o", "beginning", "-e", "-q", "-f", "%h\\n"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out;
  }
  // Waits for `sql` on the target to return `rows` rows.
  bool TargetRows(const std::string& sql, size_t rows, std::chrono::seconds timeout = 60s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (target().Query(db_, sql).size() == rows) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }
  std::string Log() const { return Logs(); }
};

// A Debezium insert into public.<table> as the connector's 1.x layout writes it: no
// source.sequence and no transaction block, so only txId and lsn say where it was.
std::string Insert1x(const std::string& table, const std::string& schema, int id,
                     const std::string& v, int64_t tx_id, int64_t lsn) {
  return "{\"before\":null,\"after\":{\"id\":" + std::to_string(id) + ",\"v\":\"" + v +
         "\"},\"source\":{\"version\":\"1.2.1.Final\",\"connector\":\"postgresql\",\"name\":\"x\","
         "\"ts_ms\":1700000000000,\"snapshot\":\"false\",\"db\":\"prod\",\"schema\":\"" +
         schema + "\",\"table\":\"" + table + "\",\"txId\":" + std::to_string(tx_id) +
         ",\"lsn\":" + std::to_string(lsn) +
         ",\"xmin\":null},\"op\":\"c\",\"ts_ms\":1700000000001}";
}

// Issue 10, item 1: the broker dropped records apply had not read (retention; the mock
// keeps ~5 MB per partition). apply stops naming the partition and the missing offsets,
// status says error with the fix, and nothing after the gap is applied.
TEST_F(KafkaInputTest, apply_stops_on_records_the_broker_no_longer_has) {
  OnBoth("CREATE TABLE t (id int PRIMARY KEY, v text)");
  UseKafka();
  SetupOrFail();
  const std::string topic = db_ + ".public.t";
  std::string first;
  for (int i = 0; i < 100; ++i) first += Insert1x("t", "public", i, "first", 500, 1000 + i) + "\n";
  Produce(topic, first);
  apply_ = StartApply();
  ASSERT_TRUE(TargetRows("SELECT 1 FROM t", 100)) << Log();
  apply_->Signal(SIGTERM);
  ASSERT_EQ(apply_->Wait(30s), 0) << Log();

  // ~8 MB more while apply is down: the broker drops the oldest, including offsets >= 100.
  std::string pad(1000, 'x');
  std::string more;
  for (int i = 100; i < 8100; ++i)
    more += Insert1x("t", "public", i, pad, 501 + i, 200000 + i) + "\n";
  Produce(topic, more);
  std::unique_ptr<kafka::Consumer> probe;
  int64_t low = 0, high = 0;
  Config config;
  config.stream.brokers = mock_->bootstrap_servers();
  ASSERT_TRUE(kafka::Consumer::Open(config, db_ + "-probe", "^$", nullptr, &probe).ok());
  ASSERT_TRUE(probe->LowWatermark(topic, 0, &low, &high).ok());
  ASSERT_GT(low, 100) << "the mock cluster kept every record; the test needs it to drop some";

  apply_ = StartApply();
  auto code = apply_->Wait(90s);
  ASSERT_TRUE(code) << "apply went on past the gap\n" << Log();
  EXPECT_EQ(*code, 1) << Log();
  EXPECT_NE(Log().find(topic + "/0: records at offsets 100.." + std::to_string(low - 1)),
            std::string::npos)
      << Log();
  EXPECT_NE(Log().find("re-copy the tables on " + topic), std::string::npos) << Log();
  EXPECT_EQ(target().QueryValue(db_, "SELECT count(*) FROM t"), "100")
      << "nothing after the gap may be applied";
  StatusResult status = Status();
  ASSERT_TRUE(status.json) << status.command.Describe();
  EXPECT_EQ((*status.json)["state"].text, "error") << status.command.out;
  EXPECT_NE((*status.json)["error"].text.find("are gone from Kafka"), std::string::npos)
      << status.command.out;
}

// Issue 10, item 2: without source.sequence, lsn order is not commit order. T1 writes first
// (lower lsns) and commits after T2: its records come later and must still apply.
TEST_F(KafkaInputTest, records_without_a_commit_position_are_not_skipped_by_lsn) {
  OnBoth("CREATE TABLE t (id int PRIMARY KEY, v text)");
  UseKafka();
  SetupOrFail();
  Produce(db_ + ".public.t", Insert1x("t", "public", 2, "T2", 601, 2000) + "\n" +
                                 Insert1x("t", "public", 1, "T1", 600, 1000) + "\n" +
                                 Insert1x("t", "public", 3, "T1", 600, 1100) + "\n");
  apply_ = StartApply();
  EXPECT_TRUE(TargetRows("SELECT 1 FROM t", 3)) << Log();
  EXPECT_EQ(target().QueryValue(db_, "SELECT string_agg(id || v, ',' ORDER BY id) FROM t"),
            "1T1,2T2,3T1");
}

// Issue 10, item 3: an envelope without op is malformed even with ts_ms; an empty value is
// not a tombstone. Both stop apply, or go to dead letters; neither is dropped.
TEST_F(KafkaInputTest, envelopes_without_op_and_empty_values_are_malformed) {
  OnBoth("CREATE TABLE t (id int PRIMARY KEY, v text)");
  UseKafka();
  SetupOrFail();
  const std::string topic = db_ + ".public.t";
  std::string no_op =
      "{\"before\":null,\"after\":{\"id\":7,\"v\":\"x\"},\"source\":{\"connector\":\"postgresql\","
      "\"schema\":\"public\",\"table\":\"t\",\"lsn\":5},\"ts_ms\":1700000000000}";
  Produce(topic,
          "{\"id\":7}\t" + no_op + "\n{\"id\":8}\t\n{\"id\":1}\t" +
              Insert1x("t", "public", 1, "ok", 700, 9000) + "\n",
          /*keyed=*/true);
  apply_ = StartApply();
  auto code = apply_->Wait(60s);
  ASSERT_TRUE(code) << Log();
  EXPECT_EQ(*code, 1) << Log();
  EXPECT_NE(Log().find(topic + "/0/0: value has no \"op\""), std::string::npos) << Log();
  EXPECT_TRUE(target().Query(db_, "SELECT 1 FROM t").empty());

  UseKafka("[apply]\non_error = \"dead-letter\"\n");
  apply_ = StartApply();
  ASSERT_TRUE(TargetRows("SELECT 1 FROM t WHERE id = 1", 1)) << Log();
  std::string dead = DeadLetters();
  EXPECT_NE(dead.find("value has no \"op\""), std::string::npos) << dead;
  EXPECT_NE(dead.find("value is empty"), std::string::npos) << dead;
  EXPECT_TRUE(target().Query(db_, "SELECT 1 FROM t WHERE id IN (7, 8)").empty());
}

// Issue 10, item 13: a record may only change the selected table its topic names (or a
// route declares); never an unselected table or stagesync's bookkeeping.
TEST_F(KafkaInputTest, records_only_change_the_table_their_topic_names) {
  OnBoth(
      "CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE secret (id int PRIMARY KEY, v "
      "text); INSERT INTO secret VALUES (1, 'keep')");
  spec_.tables = {"public.t"};
  UseKafka();
  SetupOrFail();
  const std::string topic = db_ + ".public.t";
  auto envelope = [](const std::string& op, const std::string& schema, const std::string& table,
                     const std::string& after, int lsn) {
    return "{\"before\":" + std::string(op == "d" ? after : "null") +
           ",\"after\":" + (op == "d" || op == "t" ? "null" : after) +
           ",\"source\":{\"connector\":\"postgresql\",\"schema\":\"" + schema + "\",\"table\":\"" +
           table + "\",\"lsn\":" + std::to_string(lsn) + "},\"op\":\"" + op + "\"}";
  };
  std::string stream = db_ + "-apply";
  Produce(topic,
          envelope("u", "public", "secret", "{\"id\":1,\"v\":\"stolen\"}", 10) + "\n" +
              envelope("c", "stagesync", "kafka_offsets",
                       "{\"stream\":\"" + stream +
                           "\",\"topic\":\"x\",\"kafka_partition\":9,\"next_offset\":1}",
                       11) +
              "\n" +
              envelope("d", "stagesync", "applied_position", "{\"stream\":\"" + db_ + "\"}", 12) +
              "\n" + envelope("t", "public", "secret", "null", 13) + "\n" +
              envelope("c", "public", "t", "{\"id\":1,\"v\":\"ok\"}", 14) + "\n");
  apply_ = StartApply();
  auto code = apply_->Wait(60s);
  ASSERT_TRUE(code) << Log();
  EXPECT_EQ(*code, 1) << Log();
  EXPECT_NE(Log().find(topic + "/0/0: the record names source table public.secret"),
            std::string::npos)
      << Log();

  UseKafka("routes = { \"" + db_ +
           ".renamed\" = \"public.t\" }\n[apply]\non_error = "
           "\"dead-letter\"\n");
  apply_ = StartApply();
  ASSERT_TRUE(TargetRows("SELECT 1 FROM t WHERE id = 1", 1)) << Log();
  // A declared route: records on <prefix>.renamed may change public.t.
  Produce(db_ + ".renamed", envelope("c", "public", "t", "{\"id\":2,\"v\":\"routed\"}", 15) + "\n");
  EXPECT_TRUE(TargetRows("SELECT 1 FROM t WHERE id = 2", 1)) << Log();
  EXPECT_EQ(target().QueryValue(db_, "SELECT v FROM secret WHERE id = 1"), "keep");
  EXPECT_EQ(target().QueryValue(db_,
                                "SELECT count(*) FROM stagesync.kafka_offsets WHERE "
                                "kafka_partition = 9"),
            "0");
  EXPECT_EQ(
      target().QueryValue(
          db_, "SELECT count(*) FROM stagesync.applied_position WHERE stream = '" + db_ + "'"),
      "1");
  std::string dead = DeadLetters();
  size_t misrouted = 0;
  for (size_t at = 0; (at = dead.find("whose topic is", at)) != std::string::npos; ++at)
    ++misrouted;
  EXPECT_EQ(misrouted, 4u) << dead;
}

}  // namespace
}  // namespace stagesync::testing

namespace stagesync::testing {
namespace {

// Issue 11, item 6: with on_error = "dead-letter", a record the target cannot take (a column
// it lacks, a value it rejects) is set aside with its topic/partition/offset, and apply goes
// on with the records after it.
TEST_F(KafkaInputTest, dead_letter_mode_sets_aside_what_the_target_rejects_and_goes_on) {
  OnSource("CREATE TABLE t (id int PRIMARY KEY, v text)");
  OnTarget("CREATE TABLE t (id int PRIMARY KEY, v text CHECK (v <> 'bad'))");
  UseKafka("[apply]\non_error = \"dead-letter\"\n");
  SetupOrFail();
  const std::string topic = db_ + ".public.t";
  std::string extra_column =
      "{\"before\":null,\"after\":{\"id\":2,\"v\":\"x\",\"nosuch\":1},\"source\":{\"connector\":"
      "\"postgresql\",\"schema\":\"public\",\"table\":\"t\",\"lsn\":5},\"op\":\"c\"}";
  Produce(topic, Insert1x("t", "public", 1, "bad", 800, 100) + "\n" + extra_column + "\n" +
                     Insert1x("t", "public", 3, "ok", 801, 200) + "\n");
  apply_ = StartApply();
  ASSERT_TRUE(TargetRows("SELECT 1 FROM t WHERE id = 3", 1)) << Log();
  EXPECT_TRUE(target().Query(db_, "SELECT 1 FROM t WHERE id IN (1, 2)").empty());
  EXPECT_TRUE(apply_->Running()) << Log();
  std::string dead = DeadLetters();
  EXPECT_NE(dead.find("check constraint"), std::string::npos) << dead;
  EXPECT_NE(dead.find("nosuch"), std::string::npos) << dead;
  EXPECT_NE(dead.find("stagesync.offset=0"), std::string::npos) << dead;
  EXPECT_NE(dead.find("stagesync.offset=1"), std::string::npos) << dead;
  EXPECT_NE(Log().find("record " + topic + "/0/1 sent to"), std::string::npos) << Log();
  EXPECT_EQ(Log().find("restart `stagesync run`"), std::string::npos) << Log();
}

}  // namespace
}  // namespace stagesync::testing
