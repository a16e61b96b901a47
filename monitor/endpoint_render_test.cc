// What the monitor's endpoints answer besides the status itself, from values: /status with the
// running applier's counters, /history's samples and /metrics in Prometheus' text format.
#include <gtest/gtest.h>

#include "render.h"
#include "test_statuses.h"

namespace stagesync::monitor {
namespace {

using testing::Streaming;
using testing::WithKafka;

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

// PostgreSQL allows any character in a quoted table name; /status stays valid JSON with them.
TEST(MonitorRender, ATableNameIsEscapedLikeEveryString) {
  apply::ApplyMetrics::Snapshot live;
  live.tables["public.\"line\nbreak\""] = {1, 0, 0, 0};
  SyncStatus s;
  s.slot = "x";
  EXPECT_EQ(LiveStatusJson(s, live),
            "{\"state\":\"idle\",\"lag_seconds\":null,\"source_bytes_behind\":null,"
            "\"applied_position\":\"\",\"events_applied\":0,\"transactions_applied\":0,"
            "\"source_position\":null,\"slot\":\"x\",\"applied_commit_time\":null,"
            "\"run_alive\":false,\"tables\":[{\"table\":\"public.\\\"line\\nbreak\\\"\","
            "\"insert\":1,\"update\":0,\"delete\":0,\"truncate\":0}],"
            "\"apply_batch\":{\"count\":0,\"sum_seconds\":0,\"last_seconds\":0}}");
}

TEST(MonitorRender, TheInitialCopyInStatusTextAndMetrics) {
  SyncStatus s = Streaming();
  SyncStatus::Copy copy;
  copy.snapshot = "00000003-0000001B-1";
  copy.stream_starts_at = "lsn=0/1B1FCF70";
  copy.tables = {{"public.big", 4, 4, 1200000, 290000000}, {"public.\"q\"", 2, 1, 10, 300}};
  s.copy = copy;
  json::Writer w;
  w.StartObject();
  WriteCopyMember(w, *s.copy);
  w.EndObject();
  EXPECT_EQ(w.str(),
            "{\"copy\":{\"finished\":false,\"snapshot\":\"00000003-0000001B-1\","
            "\"stream_starts_at\":\"lsn=0/1B1FCF70\",\"rows\":1200010,\"bytes\":290000300,"
            "\"tables_remaining\":1,\"tables\":[{\"table\":\"public.big\",\"rows\":1200000,"
            "\"bytes\":290000000,\"parts\":4,\"parts_done\":4},{\"table\":\"public.\\\"q\\\"\","
            "\"rows\":10,\"bytes\":300,\"parts\":2,\"parts_done\":1}]}}");
  EXPECT_EQ(CopyText(*s.copy),
            "initial copy          not finished (committed so far): 1 of 2 tables, 1200010 rows, "
            "290.0 MB; stream from lsn=0/1B1FCF70\n");
  const std::string metrics = MetricsText(s);
  EXPECT_NE(metrics.find("stagesync_copy_rows_total{table=\"public.big\"} 1200000\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("stagesync_copy_bytes_total{table=\"public.\\\"q\\\"\"} 300\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\nstagesync_copy_tables_remaining 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nstagesync_copy_finished 0\n"), std::string::npos);
  EXPECT_NE(StatusText(s).find("initial copy          not finished"), std::string::npos);
  EXPECT_EQ(MetricsText(Streaming()).find("stagesync_copy"), std::string::npos);
}

}  // namespace
}  // namespace stagesync::monitor
