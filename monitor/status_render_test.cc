// The status as `status --json`, the text of `status` and the core of /status give it, from
// values: each state, what is unknown, an error to escape, the last cutover, Kafka's lag.
#include <gtest/gtest.h>

#include "stagesync/monitor.h"
#include "test_statuses.h"

namespace stagesync::monitor {
namespace {

using testing::Idle;
using testing::Streaming;
using testing::WithKafka;

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

}  // namespace
}  // namespace stagesync::monitor
