// The status views layered over the stream's: the Kafka transport's, the cutover's, and the
// live lag and state a running pipeline reports.
#include <gtest/gtest.h>

#include "status_derivation.h"

namespace stagesync::monitor {
namespace {

constexpr TimestampUs kSecond = 1'000'000;
constexpr TimestampUs kNow = 1'700'000'000 * kSecond;

Config KafkaConfig() {
  Config c;
  c.stream.transport = Transport::kKafka;
  c.monitor.heartbeat_interval = std::chrono::seconds(1);
  return c;
}

// What the stream view says while apply (from Kafka) is up.
SyncStatus ApplyUp() {
  SyncStatus st;
  st.state = "streaming";
  st.run_alive = true;
  st.lag_seconds = 0.0;
  st.applied_commit_time = kNow - 4 * kSecond;
  return st;
}

KafkaReads CaptureUp(double capture_lag, std::vector<SyncStatus::KafkaLag> lags) {
  KafkaReads r;
  r.kafka_lag = std::move(lags);
  r.capture = capture::CaptureLive{capture_lag, 1.0};
  r.now = kNow;
  return r;
}

TEST(DeriveKafkaStatus, BothUpAndNothingInKafkaIsCapturesLag) {
  SyncStatus st = ApplyUp();
  DeriveKafkaStatus(KafkaConfig(), CaptureUp(0.5, {{"s.public.t", 0, 0}}), &st);
  EXPECT_EQ(st.state, "streaming");
  EXPECT_TRUE(st.run_alive);
  EXPECT_EQ(st.lag_seconds, 0.5);
  ASSERT_TRUE(st.kafka_lag);
  ASSERT_EQ(st.kafka_lag->size(), 1u);
  EXPECT_EQ((*st.kafka_lag)[0].topic, "s.public.t");
}

// Records wait in Kafka: the last applied commit's age bounds the lag from above.
TEST(DeriveKafkaStatus, RecordsWaitingMakeTheLastAppliedCommitsAgeTheLag) {
  SyncStatus st = ApplyUp();
  DeriveKafkaStatus(KafkaConfig(), CaptureUp(0.5, {{"a", 0, 0}, {"a", 1, 12}}), &st);
  EXPECT_EQ(st.lag_seconds, 4.0);
  EXPECT_EQ(st.state, "catching_up");
  // Capture's own lag wins when it is more.
  st = ApplyUp();
  DeriveKafkaStatus(KafkaConfig(), CaptureUp(9.0, {{"a", 1, 12}}), &st);
  EXPECT_EQ(st.lag_seconds, 9.0);
  // Nothing applied yet: no commit to age, capture's lag stands.
  st = ApplyUp();
  st.applied_commit_time.reset();
  DeriveKafkaStatus(KafkaConfig(), CaptureUp(0.5, {{"a", 1, 12}}), &st);
  EXPECT_EQ(st.lag_seconds, 0.5);
  EXPECT_EQ(st.state, "streaming");
}

TEST(DeriveKafkaStatus, CaptureNeverReportedOrStaleIsIdleWithUnknownLag) {
  SyncStatus st = ApplyUp();
  KafkaReads r = CaptureUp(0.5, {});
  r.capture.reset();
  DeriveKafkaStatus(KafkaConfig(), r, &st);
  EXPECT_EQ(st.state, "idle");
  EXPECT_FALSE(st.run_alive);
  EXPECT_FALSE(st.lag_seconds);
  st = ApplyUp();
  r = CaptureUp(0.5, {});
  r.capture->age_seconds = 5.001;  // fresh: within 5 s (3 heartbeats of 1 s, at least 5 s)
  DeriveKafkaStatus(KafkaConfig(), r, &st);
  EXPECT_EQ(st.state, "idle");
  st = ApplyUp();
  r.capture->age_seconds = 5.0;
  DeriveKafkaStatus(KafkaConfig(), r, &st);
  EXPECT_EQ(st.state, "streaming");
}

// Apply is down: the stream view's idle stands, and its peeked lag is no Kafka lag.
TEST(DeriveKafkaStatus, ApplyDownIsIdleWhateverCaptureSays) {
  SyncStatus st;
  st.state = "idle";
  st.lag_seconds = 3.0;  // peeked from the slot
  DeriveKafkaStatus(KafkaConfig(), CaptureUp(0.5, {{"a", 0, 3}}), &st);
  EXPECT_EQ(st.state, "idle");
  EXPECT_FALSE(st.run_alive);
  EXPECT_FALSE(st.lag_seconds);
  ASSERT_TRUE(st.kafka_lag);  // what Kafka holds is still told
  EXPECT_EQ((*st.kafka_lag)[0].lag, 3);
}

TEST(DeriveKafkaStatus, BrokersNotAskedLeaveTheLagUnknown) {
  SyncStatus st = ApplyUp();
  KafkaReads r = CaptureUp(0.5, {});
  r.kafka_lag.reset();
  DeriveKafkaStatus(KafkaConfig(), r, &st);
  EXPECT_FALSE(st.lag_seconds);
  EXPECT_FALSE(st.kafka_lag);
  EXPECT_EQ(st.state, "streaming");
  EXPECT_TRUE(st.run_alive);
}

TEST(ApplyCutoverState, FencedAndDoneAreWhereTheSyncStands) {
  SyncStatus st;
  st.state = "catching_up";
  ApplyCutoverState("fenced", &st);
  EXPECT_EQ(st.state, "fenced");
  st.state = "streaming";
  ApplyCutoverState("done", &st);
  EXPECT_EQ(st.state, "cutover_done");
  // While fenced an error shows as fenced, its message kept.
  st.state = "error";
  st.error = "source: timeout";
  ApplyCutoverState("fenced", &st);
  EXPECT_EQ(st.state, "fenced");
  EXPECT_EQ(st.error, "source: timeout");
}

TEST(ApplyCutoverState, OtherCutoverStatesLeaveTheSyncsState) {
  for (const char* cutover : {"", "failed", "running", "FENCED", "Done"}) {
    SyncStatus st;
    st.state = "streaming";
    ApplyCutoverState(cutover, &st);
    EXPECT_EQ(st.state, "streaming") << cutover;
  }
}

}  // namespace
}  // namespace stagesync::monitor
