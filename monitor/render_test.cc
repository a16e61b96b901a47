// The status and the monitor's bodies as `status`, /status, /history and /metrics give them,
// from values: each state, an error to escape, the last cutover, Kafka's lag, the live counters.
#include "render.h"

#include <gtest/gtest.h>

namespace stagesync::monitor {
namespace {

// What `status` says about a stream that has applied a little and is idle.
SyncStatus Idle() {
  SyncStatus s;
  s.state = "idle";
  s.applied_position = "0/16B3748";
  s.source_position = "0/16B3780";
  s.source_bytes_behind = 56;
  s.lag_seconds = 0.0;
  s.slot = "db_status_idle";
  s.applied_commit_time = 1700000000123456;
  s.events_applied = 42;
  s.transactions_applied = 7;
  return s;
}

SyncStatus Streaming() {
  SyncStatus s = Idle();
  s.state = "streaming";
  s.run_alive = true;
  s.lag_seconds = 0.0123456;
  s.source_bytes_behind = 0;
  s.events_applied = 18446744073709551615ull;
  s.transactions_applied = 1234567890123ull;
  return s;
}

TEST(StatusRender, Idle) {
  SyncStatus s = Idle();
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"idle\",\"lag_seconds\":0.000,\"source_bytes_behind\":56,"
            "\"applied_position\":\"0/16B3748\",\"events_applied\":42,\"transactions_applied\":7,"
            "\"source_position\":\"0/16B3780\",\"slot\":\"db_status_idle\","
            "\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\",\"run_alive\":false}");
  EXPECT_EQ(StatusText(s),
            "state                 idle\n"
            "lag                   0.000 s\n"
            "source bytes behind   56\n"
            "applied position      0/16B3748\n"
            "source position       0/16B3780\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        42\n"
            "transactions applied  7\n");
}

TEST(StatusRender, RightAfterSetupWhatIsUnknownIsNull) {
  SyncStatus s;
  s.slot = "stagesync";
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"idle\",\"lag_seconds\":null,\"source_bytes_behind\":null,"
            "\"applied_position\":\"\",\"events_applied\":0,\"transactions_applied\":0,"
            "\"source_position\":null,\"slot\":\"stagesync\",\"applied_commit_time\":null,"
            "\"run_alive\":false}");
  EXPECT_EQ(StatusText(s),
            "state                 idle\n"
            "lag                   unknown\n"
            "source bytes behind   unknown\n"
            "applied position      -\n"
            "source position       -\n"
            "applied commit time   -\n"
            "events applied        0\n"
            "transactions applied  0\n");
}

TEST(StatusRender, StreamingWithThreeDecimalsOfLag) {
  SyncStatus s = Streaming();
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"streaming\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
            "\"applied_position\":\"0/16B3748\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"0/16B3780\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":true}");
  EXPECT_EQ(StatusText(s),
            "state                 streaming (run is up)\n"
            "lag                   0.012 s\n"
            "source bytes behind   0\n"
            "applied position      0/16B3748\n"
            "source position       0/16B3780\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        18446744073709551615\n"
            "transactions applied  1234567890123\n");
}

TEST(StatusRender, AnErrorIsEscaped) {
  SyncStatus s = Idle();
  s.state = "error";
  s.lag_seconds.reset();
  s.source_bytes_behind.reset();
  s.error =
      "stopped on an error: ERROR:  duplicate key value violates unique constraint \"t_pkey\"\n"
      "DETAIL:  Key (id)=(1) already exists.\tC:\\path";
  EXPECT_EQ(
      StatusJson(s),
      "{\"state\":\"error\",\"lag_seconds\":null,\"source_bytes_behind\":null,"
      "\"applied_position\":\"0/16B3748\",\"events_applied\":42,\"transactions_applied\":7,"
      "\"source_position\":\"0/16B3780\",\"slot\":\"db_status_idle\","
      "\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\",\"run_alive\":false,"
      "\"error\":\"stopped on an error: ERROR:  duplicate key value violates unique constraint \\"
      "\"t_pkey\\\"\\nDETAIL:  Key (id)=(1) already exists.\\tC:\\\\path\"}");
  EXPECT_EQ(StatusText(s),
            "state                 error\n"
            "lag                   unknown\n"
            "source bytes behind   unknown\n"
            "applied position      0/16B3748\n"
            "source position       0/16B3780\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        42\n"
            "transactions applied  7\n"
            "error                 stopped on an error: ERROR:  duplicate key value violates "
            "unique constraint \"t_pkey\"\n"
            "DETAIL:  Key (id)=(1) already exists.\tC:\\path\n");
}

TEST(StatusRender, TheLastCutoverAsItWasRecorded) {
  SyncStatus s = Streaming();
  s.state = "fenced";
  s.cutover_json =
      "{\"state\":\"fenced\",\"dry_run\":false,\"started_at_us\":1,\"step\":\"marker\"}";
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"fenced\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
            "\"applied_position\":\"0/16B3748\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"0/16B3780\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":true,\"cutover\":{\"state\":\"fenced\",\"dry_run\":false,"
            "\"started_at_us\":1,\"step\":\"marker\"}}");
  EXPECT_EQ(StatusText(s),
            "state                 fenced (run is up)\n"
            "lag                   0.012 s\n"
            "source bytes behind   0\n"
            "applied position      0/16B3748\n"
            "source position       0/16B3780\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        18446744073709551615\n"
            "transactions applied  1234567890123\n"
            "last cutover          fenced, now at marker\n");
  s = Idle();
  s.state = "cutover_done";
  s.cutover_json =
      "{\"state\":\"done\",\"dry_run\":false,\"started_at_us\":1700000000000000,\"step\":null,"
      "\"downtime_seconds\":0.369,\"failed_step\":null,\"error\":null,\"unfenced\":null,"
      "\"steps\":[]}";
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"cutover_done\",\"lag_seconds\":0.000,\"source_bytes_behind\":56,"
            "\"applied_position\":\"0/16B3748\",\"events_applied\":42,\"transactions_applied\":7,"
            "\"source_position\":\"0/16B3780\",\"slot\":\"db_status_idle\","
            "\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\",\"run_alive\":false,"
            "\"cutover\":{\"state\":\"done\",\"dry_run\":false,\"started_at_us\":1700000000000000,"
            "\"step\":null,\"downtime_seconds\":0.369,\"failed_step\":null,"
            "\"error\":null,\"unfenced\":null,\"steps\":[]}}");
  EXPECT_EQ(StatusText(s),
            "state                 cutover_done\n"
            "lag                   0.000 s\n"
            "source bytes behind   56\n"
            "applied position      0/16B3748\n"
            "source position       0/16B3780\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        42\n"
            "transactions applied  7\n"
            "last cutover          done, downtime 0.369 s\n");
  s = Streaming();
  s.cutover_json =
      "{\"state\":\"failed\",\"dry_run\":false,\"started_at_us\":1,\"step\":null,"
      "\"downtime_seconds\":null,\"failed_step\":\"switch\",\"error\":\"switch_command exited "
      "with 7\",\"unfenced\":\"production writable\",\"steps\":[]}";
  EXPECT_EQ(
      StatusJson(s),
      "{\"state\":\"streaming\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
      "\"applied_position\":\"0/16B3748\",\"events_applied\":18446744073709551615,"
      "\"transactions_applied\":1234567890123,\"source_position\":\"0/16B3780\","
      "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
      "\"run_alive\":true,\"cutover\":{\"state\":\"failed\",\"dry_run\":false,"
      "\"started_at_us\":1,\"step\":null,\"downtime_seconds\":null,\"failed_step\":\"switch\","
      "\"error\":\"switch_command exited with 7\",\"unfenced\":\"production writable\","
      "\"steps\":[]}}");
  EXPECT_EQ(StatusText(s),
            "state                 streaming (run is up)\n"
            "lag                   0.012 s\n"
            "source bytes behind   0\n"
            "applied position      0/16B3748\n"
            "source position       0/16B3780\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        18446744073709551615\n"
            "transactions applied  1234567890123\n"
            "last cutover          failed, failed at switch: switch_command exited with 7\n");
}

SyncStatus WithKafka() {
  SyncStatus s = Streaming();
  s.applied_position = "mysql-bin.000001:4";
  s.source_position = "mysql-bin.000002:1004";
  s.kafka_lag = std::vector<SyncStatus::KafkaLag>{{"stagesync.public.t", 0, 0},
                                                  {"stagesync.public.t", 1, 17},
                                                  {"stagesync.shop.\"odd\"", 2, 3}};
  return s;
}

TEST(StatusRender, KafkaConsumerLagPerPartition) {
  SyncStatus s = WithKafka();
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"streaming\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
            "\"applied_position\":\"mysql-bin.000001:4\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"mysql-bin.000002:1004\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":true,\"kafka_consumer_lag\":[{\"topic\":\"stagesync.public.t\","
            "\"partition\":0,\"lag\":0},{\"topic\":\"stagesync.public.t\","
            "\"partition\":1,\"lag\":17},{\"topic\":\"stagesync.shop.\\\"odd\\\"\","
            "\"partition\":2,\"lag\":3}]}");
  EXPECT_EQ(
      StatusText(s),
      "state                 streaming (run is up)\n"
      "lag                   0.012 s\n"
      "source bytes behind   0\n"
      "applied position      mysql-bin.000001:4\n"
      "source position       mysql-bin.000002:1004\n"
      "applied commit time   2023-11-14T22:13:20.123456Z\n"
      "events applied        18446744073709551615\n"
      "transactions applied  1234567890123\n"
      "kafka consumer lag    20 records stagesync.public.t/1:17 stagesync.shop.\"odd\"/2:3\n");
  s.kafka_lag = std::vector<SyncStatus::KafkaLag>{};
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"streaming\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
            "\"applied_position\":\"mysql-bin.000001:4\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"mysql-bin.000002:1004\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":true,\"kafka_consumer_lag\":[]}");
  EXPECT_EQ(StatusText(s),
            "state                 streaming (run is up)\n"
            "lag                   0.012 s\n"
            "source bytes behind   0\n"
            "applied position      mysql-bin.000001:4\n"
            "source position       mysql-bin.000002:1004\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        18446744073709551615\n"
            "transactions applied  1234567890123\n"
            "kafka consumer lag    0 records\n");
  // The brokers could not be asked: no member at all, and an unknown lag.
  s.state = "idle";
  s.run_alive = false;
  s.lag_seconds.reset();
  s.kafka_lag.reset();
  EXPECT_EQ(StatusJson(s),
            "{\"state\":\"idle\",\"lag_seconds\":null,\"source_bytes_behind\":0,"
            "\"applied_position\":\"mysql-bin.000001:4\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"mysql-bin.000002:1004\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":false}");
  EXPECT_EQ(StatusText(s),
            "state                 idle\n"
            "lag                   unknown\n"
            "source bytes behind   0\n"
            "applied position      mysql-bin.000001:4\n"
            "source position       mysql-bin.000002:1004\n"
            "applied commit time   2023-11-14T22:13:20.123456Z\n"
            "events applied        18446744073709551615\n"
            "transactions applied  1234567890123\n");
}

apply::ApplyMetrics::Snapshot Live() {
  apply::ApplyMetrics::Snapshot live;
  live.tables["public.t"] = {5, 4, 3, 0};
  live.tables["shop.\"odd\\name\""] = {1, 0, 0, 2};
  live.batch_buckets.assign(apply::ApplyMetrics::BatchBuckets().size(), 3);
  live.batch_count = 4;
  live.batch_sum_seconds = 0.0123456789;
  live.last_batch_seconds = 0.001;
  return live;
}

TEST(MonitorRender, StatusWithTheRunningAppliersCounters) {
  EXPECT_EQ(LiveStatusJson(Streaming(), Live()),
            "{\"state\":\"streaming\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
            "\"applied_position\":\"0/16B3748\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"0/16B3780\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":true,\"tables\":[{\"table\":\"public.t\",\"insert\":5,"
            "\"update\":4,\"delete\":3,\"truncate\":0},{\"table\":\"shop.\\\"odd\\\\name\\\"\","
            "\"insert\":1,\"update\":0,\"delete\":0,\"truncate\":2}],\"apply_batch\":{\"count\":4,"
            "\"sum_seconds\":0.0123456789,\"last_seconds\":0.001}}");
  EXPECT_EQ(LiveStatusJson(Streaming(), apply::ApplyMetrics::Snapshot{}),
            "{\"state\":\"streaming\",\"lag_seconds\":0.012,\"source_bytes_behind\":0,"
            "\"applied_position\":\"0/16B3748\",\"events_applied\":18446744073709551615,"
            "\"transactions_applied\":1234567890123,\"source_position\":\"0/16B3780\","
            "\"slot\":\"db_status_idle\",\"applied_commit_time\":\"2023-11-14T22:13:20.123456Z\","
            "\"run_alive\":true,\"tables\":[],\"apply_batch\":{\"count\":0,"
            "\"sum_seconds\":0,\"last_seconds\":0}}");
}

TEST(MonitorRender, HistorySamples) {
  std::deque<Sample> history;
  EXPECT_EQ(HistoryJson(history), "{\"interval_seconds\":1,\"samples\":[]}");
  history.push_back({1700000000.1234567, "streaming", 0.0123, 0, 10, 2});
  history.push_back({1700000001.0, "idle", std::nullopt, std::nullopt, 11, 3});
  EXPECT_EQ(HistoryJson(history),
            "{\"interval_seconds\":1,\"samples\":[{\"t\":1700000000.123,\"state\":\"streaming\","
            "\"lag_seconds\":0.012,\"source_bytes_behind\":0,\"events_applied\":10,"
            "\"transactions_applied\":2},{\"t\":1700000001.000,\"state\":\"idle\","
            "\"lag_seconds\":null,\"source_bytes_behind\":null,\"events_applied\":11,"
            "\"transactions_applied\":3}]}");
}

TEST(MonitorRender, MetricsWithAndWithoutTheLiveCounters) {
  apply::ApplyMetrics::Snapshot live = Live();
  EXPECT_EQ(
      MetricsText(WithKafka(), &live),
      "# HELP stagesync_lag_seconds Seconds since the source commit of the oldest change not yet "
      "applied.\n"
      "# TYPE stagesync_lag_seconds gauge\n"
      "stagesync_lag_seconds 0.0123456\n"
      "# HELP stagesync_source_bytes_behind Source WAL/binlog bytes between the source's position "
      "and the applied position.\n"
      "# TYPE stagesync_source_bytes_behind gauge\n"
      "stagesync_source_bytes_behind 0\n"
      "# HELP stagesync_events_applied_total Row changes applied, by source table and operation "
      "(since this process started).\n"
      "# TYPE stagesync_events_applied_total counter\n"
      "stagesync_events_applied_total{table=\"public.t\",op=\"insert\"} 5\n"
      "stagesync_events_applied_total{table=\"public.t\",op=\"update\"} 4\n"
      "stagesync_events_applied_total{table=\"public.t\",op=\"delete\"} 3\n"
      "stagesync_events_applied_total{table=\"public.t\",op=\"truncate\"} 0\n"
      "stagesync_events_applied_total{table=\"shop.\\\"odd\\\\name\\\"\",op=\"insert\"} 1\n"
      "stagesync_events_applied_total{table=\"shop.\\\"odd\\\\name\\\"\",op=\"update\"} 0\n"
      "stagesync_events_applied_total{table=\"shop.\\\"odd\\\\name\\\"\",op=\"delete\"} 0\n"
      "stagesync_events_applied_total{table=\"shop.\\\"odd\\\\name\\\"\",op=\"truncate\"} 2\n"
      "# HELP stagesync_events_applied_since_setup Row changes applied since setup.\n"
      "# TYPE stagesync_events_applied_since_setup gauge\n"
      "stagesync_events_applied_since_setup 18446744073709551615\n"
      "# HELP stagesync_transactions_applied_total Source transactions applied since setup.\n"
      "# TYPE stagesync_transactions_applied_total counter\n"
      "stagesync_transactions_applied_total 1234567890123\n"
      "# HELP stagesync_apply_batch_seconds Duration of apply's target transactions.\n"
      "# TYPE stagesync_apply_batch_seconds histogram\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.001\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.0025\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.005\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.01\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.025\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.05\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.1\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.25\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"0.5\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"1\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"2.5\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"5\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"10\"} 3\n"
      "stagesync_apply_batch_seconds_bucket{le=\"+Inf\"} 4\n"
      "stagesync_apply_batch_seconds_sum 0.0123456789\n"
      "stagesync_apply_batch_seconds_count 4\n"
      "# HELP stagesync_kafka_consumer_lag Records in Kafka apply has not applied, by partition.\n"
      "# TYPE stagesync_kafka_consumer_lag gauge\n"
      "stagesync_kafka_consumer_lag{topic=\"stagesync.public.t\",partition=\"0\"} 0\n"
      "stagesync_kafka_consumer_lag{topic=\"stagesync.public.t\",partition=\"1\"} 17\n"
      "stagesync_kafka_consumer_lag{topic=\"stagesync.shop.\\\"odd\\\"\",partition=\"2\"} 3\n"
      "# HELP stagesync_run_alive 1 while a stagesync run is streaming this stream.\n"
      "# TYPE stagesync_run_alive gauge\n"
      "stagesync_run_alive 1\n"
      "# HELP stagesync_state The sync's state (1 for the current one).\n"
      "# TYPE stagesync_state gauge\n"
      "stagesync_state{state=\"idle\"} 0\n"
      "stagesync_state{state=\"streaming\"} 1\n"
      "stagesync_state{state=\"catching_up\"} 0\n"
      "stagesync_state{state=\"fenced\"} 0\n"
      "stagesync_state{state=\"cutover_done\"} 0\n"
      "stagesync_state{state=\"error\"} 0\n");
  SyncStatus unknown;
  unknown.slot = "stagesync";
  EXPECT_EQ(MetricsText(unknown),
            "# HELP stagesync_events_applied_total Row changes applied, by source table and "
            "operation (since this process started).\n"
            "# TYPE stagesync_events_applied_total counter\n"
            "# HELP stagesync_events_applied_since_setup Row changes applied since setup.\n"
            "# TYPE stagesync_events_applied_since_setup gauge\n"
            "stagesync_events_applied_since_setup 0\n"
            "# HELP stagesync_transactions_applied_total Source transactions applied since setup.\n"
            "# TYPE stagesync_transactions_applied_total counter\n"
            "stagesync_transactions_applied_total 0\n"
            "# HELP stagesync_run_alive 1 while a stagesync run is streaming this stream.\n"
            "# TYPE stagesync_run_alive gauge\n"
            "stagesync_run_alive 0\n"
            "# HELP stagesync_state The sync's state (1 for the current one).\n"
            "# TYPE stagesync_state gauge\n"
            "stagesync_state{state=\"idle\"} 1\n"
            "stagesync_state{state=\"streaming\"} 0\n"
            "stagesync_state{state=\"catching_up\"} 0\n"
            "stagesync_state{state=\"fenced\"} 0\n"
            "stagesync_state{state=\"cutover_done\"} 0\n"
            "stagesync_state{state=\"error\"} 0\n");
}

}  // namespace
}  // namespace stagesync::monitor
