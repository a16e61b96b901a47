#include "status_derivation.h"

#include <gtest/gtest.h>

namespace stagesync::monitor {
namespace {

constexpr TimestampUs kSecond = 1'000'000;
constexpr TimestampUs kTargetNow = 1'700'000'000 * kSecond;

Config PgConfig() {
  Config c;
  c.source.kind = Engine::kPostgres;
  c.source.slot = "orders_sync";
  c.monitor.heartbeat_interval = std::chrono::seconds(1);
  return c;
}

Config MysqlConfig() {
  Config c = PgConfig();
  c.source.kind = Engine::kMysql;
  return c;
}

// A run that is up, reported a second ago, with everything applied.
StreamReads Streaming() {
  StreamReads r;
  r.applied.found = true;
  r.applied.lsn = 0x16B374D848;
  r.applied.commit_time = kTargetNow - 2 * kSecond;
  r.applied.events_applied = 1234;
  r.applied.transactions_applied = 56;
  r.applied.live_at = kTargetNow - kSecond;
  r.applied.live_lag_seconds = 0.25;
  r.applied.live_state = "streaming";
  r.applied.target_now = kTargetNow;
  r.source.current = r.applied.lsn;
  r.source.slot_exists = true;
  r.source.slot_confirmed = r.applied.lsn;
  r.source.slot_active = true;
  r.source.source_now = kTargetNow;
  return r;
}

StreamReads RunDown() {
  StreamReads r = Streaming();
  r.source.slot_active = false;
  r.applied.live_at = kTargetNow - 600 * kSecond;
  return r;
}

TEST(DeriveStreamStatus, StreamingAndCaughtUpIsZeroLagWhateverTheLastSample) {
  StreamReads r = Streaming();
  r.applied.live_lag_seconds = 3.5;
  r.applied.live_state = "catching_up";
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "streaming");
  EXPECT_TRUE(d.status.run_alive);
  ASSERT_TRUE(d.status.lag_seconds);
  EXPECT_EQ(*d.status.lag_seconds, 0.0);
  ASSERT_TRUE(d.status.source_bytes_behind);
  EXPECT_EQ(*d.status.source_bytes_behind, 0);
  EXPECT_FALSE(d.lag_needs_peek);
  EXPECT_TRUE(d.status.error.empty());
}

TEST(DeriveStreamStatus, PositionsAndCountersComeFromTheBookkeeping) {
  StreamReads r = Streaming();
  r.source.current = r.applied.lsn + 4096;
  SyncStatus st = DeriveStreamStatus(PgConfig(), r).status;
  EXPECT_EQ(st.slot, "orders_sync");
  EXPECT_EQ(st.applied_position, "16/B374D848");
  EXPECT_EQ(st.source_position, "16/B374E848");
  EXPECT_EQ(st.events_applied, 1234u);
  EXPECT_EQ(st.transactions_applied, 56u);
  EXPECT_EQ(st.applied_commit_time, kTargetNow - 2 * kSecond);
}

TEST(DeriveStreamStatus, BehindWhileStreamingTakesTheRunsLagAndState) {
  StreamReads r = Streaming();
  r.source.current = r.applied.lsn + 5000;
  r.applied.live_lag_seconds = 7.5;
  r.applied.live_state = "catching_up";
  SyncStatus st = DeriveStreamStatus(PgConfig(), r).status;
  EXPECT_EQ(st.state, "catching_up");
  EXPECT_EQ(st.lag_seconds, 7.5);
  EXPECT_EQ(st.source_bytes_behind, 5000);
}

TEST(DeriveStreamStatus, ARunThatNamedNoStateYetIsStreaming) {
  StreamReads r = Streaming();
  r.source.current = r.applied.lsn + 10;
  r.applied.live_state.clear();
  r.applied.live_lag_seconds.reset();
  SyncStatus st = DeriveStreamStatus(PgConfig(), r).status;
  EXPECT_EQ(st.state, "streaming");
  EXPECT_EQ(st.lag_seconds, 0.0);
}

// The slot confirmed past the last applied transaction: what lies between did not concern
// us (other tables, heartbeats already acknowledged) and is not "behind".
TEST(DeriveStreamStatus, BytesBehindCountFromTheFurtherOfAppliedAndConfirmed) {
  StreamReads r = Streaming();
  r.applied.lsn = 1000;
  r.source.slot_confirmed = 1500;
  r.source.current = 2000;
  EXPECT_EQ(DeriveStreamStatus(PgConfig(), r).status.source_bytes_behind, 500);
  r.source.slot_confirmed = 200;  // behind applied (acknowledged lazily): applied counts
  EXPECT_EQ(DeriveStreamStatus(PgConfig(), r).status.source_bytes_behind, 1000);
  r.source.current = 500;  // not past applied: nothing behind, never negative
  EXPECT_EQ(DeriveStreamStatus(PgConfig(), r).status.source_bytes_behind, 0);
}

TEST(DeriveStreamStatus, NoSourcePositionLeavesBytesBehindUnknownAndTheSampleStands) {
  StreamReads r = Streaming();
  r.source.current = 0;
  r.applied.live_lag_seconds = 1.5;
  r.applied.live_state = "catching_up";
  SyncStatus st = DeriveStreamStatus(PgConfig(), r).status;
  EXPECT_FALSE(st.source_bytes_behind);
  EXPECT_EQ(st.source_position, "");
  EXPECT_EQ(st.state, "catching_up");
  EXPECT_EQ(st.lag_seconds, 1.5);
}

TEST(DeriveStreamStatus, NothingAppliedYet) {
  StreamReads r = RunDown();
  r.applied.lsn = 0;
  r.applied.commit_time.reset();
  r.source.slot_confirmed = 0;
  r.source.current = 0x2000;
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "idle");
  EXPECT_EQ(d.status.applied_position, "0/0");
  EXPECT_EQ(d.status.source_bytes_behind, 0x2000);
  EXPECT_FALSE(d.status.applied_commit_time);
  EXPECT_TRUE(d.lag_needs_peek);
  // MySQL names no position for 0.
  d = DeriveStreamStatus(MysqlConfig(), r);
  EXPECT_EQ(d.status.applied_position, "");
}

TEST(DeriveStreamStatus, RunDownIsIdleAndThePeekTellsTheLag) {
  StreamDerivation d = DeriveStreamStatus(PgConfig(), RunDown());
  EXPECT_EQ(d.status.state, "idle");
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_FALSE(d.status.lag_seconds);  // unknown until peeked
  EXPECT_TRUE(d.lag_needs_peek);
  EXPECT_TRUE(d.status.error.empty());
}

// The live row is fresh but nothing holds the slot: the run died since it last wrote.
TEST(DeriveStreamStatus, AFreshLiveRowWithoutTheSlotHeldIsNotAlive) {
  StreamReads r = Streaming();
  r.source.slot_active = false;
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_EQ(d.status.state, "idle");
  EXPECT_TRUE(d.lag_needs_peek);
}

// Something streams the slot (a run that hangs, `capture` of another host) but its live row
// is stale: idle, and the slot cannot be peeked while it is held.
TEST(DeriveStreamStatus, AStaleLiveRowWithTheSlotHeldIsIdleWithUnknownLag) {
  StreamReads r = Streaming();
  r.applied.live_at = kTargetNow - 60 * kSecond;
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_EQ(d.status.state, "idle");
  EXPECT_FALSE(d.status.lag_seconds);
  EXPECT_FALSE(d.lag_needs_peek);
  r.applied.live_at.reset();  // never reported
  d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "idle");
  EXPECT_FALSE(d.lag_needs_peek);
}

// Fresh means reported within 3 heartbeats, and never less than 5 s.
TEST(DeriveStreamStatus, FreshnessIsThreeHeartbeatsAtLeastFiveSeconds) {
  StreamReads r = Streaming();
  r.applied.live_at = kTargetNow - 5 * kSecond;
  EXPECT_TRUE(DeriveStreamStatus(PgConfig(), r).status.run_alive);
  r.applied.live_at = kTargetNow - 5 * kSecond - 1;
  EXPECT_FALSE(DeriveStreamStatus(PgConfig(), r).status.run_alive);
  Config slow = PgConfig();
  slow.monitor.heartbeat_interval = std::chrono::seconds(3);
  r.applied.live_at = kTargetNow - 9 * kSecond;
  EXPECT_TRUE(DeriveStreamStatus(slow, r).status.run_alive);
  r.applied.live_at = kTargetNow - 9 * kSecond - 1;
  EXPECT_FALSE(DeriveStreamStatus(slow, r).status.run_alive);
}

TEST(DeriveStreamStatus, ARunThatStoppedOnAnErrorSaysWhy) {
  StreamReads r = RunDown();
  r.applied.live_state = "error";
  r.applied.last_error = "public.orders key (id)=(7): duplicate key";
  r.source.current = r.applied.lsn + 300;
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "error");
  EXPECT_EQ(d.status.error, "stopped on an error: public.orders key (id)=(7): duplicate key");
  EXPECT_FALSE(d.status.run_alive);
  // What is behind is still told, as when idle.
  EXPECT_EQ(d.status.source_bytes_behind, 300);
  EXPECT_EQ(d.status.applied_position, "16/B374D848");
  EXPECT_TRUE(d.lag_needs_peek);
}

// A process that wrote "error" and still holds the slot (stopping) is not alive either.
TEST(DeriveStreamStatus, AnErrorLiveStateOverridesAFreshRun) {
  StreamReads r = Streaming();
  r.applied.live_state = "error";
  r.applied.last_error = "boom";
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "error");
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_FALSE(d.status.lag_seconds);
  EXPECT_FALSE(d.lag_needs_peek);
}

TEST(DeriveStreamStatus, TheTargetCannotBeReadIsAnErrorWithNothingElse) {
  StreamReads r = Streaming();
  r.applied_read = Status::Error("target: connection refused");
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "error");
  EXPECT_EQ(d.status.error, "target: connection refused");
  EXPECT_EQ(d.status.slot, "orders_sync");
  EXPECT_EQ(d.status.applied_position, "");
  EXPECT_FALSE(d.status.source_bytes_behind);
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_FALSE(d.lag_needs_peek);
}

TEST(DeriveStreamStatus, TheSourceCannotBeReadStillShowsWhatIsApplied) {
  StreamReads r = Streaming();
  r.source_read = Status::Error("source: timeout");
  r.source.current = 0;
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "error");
  EXPECT_EQ(d.status.error, "source: timeout");
  EXPECT_EQ(d.status.applied_position, "16/B374D848");
  EXPECT_EQ(d.status.events_applied, 1234u);
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_FALSE(d.lag_needs_peek);
}

TEST(DeriveStreamStatus, NoBookkeepingTellsToRunSetupOverASourceError) {
  StreamReads r = Streaming();
  r.applied = {};
  r.source_read = Status::Error("source: timeout");
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "error");
  EXPECT_EQ(d.status.error,
            "the target has no bookkeeping for stream orders_sync: run `stagesync setup`");
  EXPECT_EQ(d.status.applied_position, "");
  EXPECT_FALSE(d.lag_needs_peek);
}

TEST(DeriveStreamStatus, AMissingSlotOrStartPositionTellsToRunSetup) {
  StreamReads r = Streaming();
  r.source.slot_exists = false;
  StreamDerivation d = DeriveStreamStatus(PgConfig(), r);
  EXPECT_EQ(d.status.state, "error");
  EXPECT_EQ(d.status.error, "slot orders_sync does not exist on the source: run `stagesync setup`");
  EXPECT_FALSE(d.status.run_alive);
  EXPECT_EQ(d.status.source_bytes_behind, 0);  // positions are still told
  d = DeriveStreamStatus(MysqlConfig(), r);
  EXPECT_EQ(d.status.error,
            "stream orders_sync has no start position on the source: run `stagesync setup`");
}

TEST(DeriveStreamStatus, MysqlPositionsAreBinlogFileAndOffset) {
  StreamReads r = Streaming();
  r.applied.lsn = (Lsn{3} << 32) | 1234;
  r.source.binlog_file = "mysql-bin.000005";
  r.source.current = (Lsn{5} << 32) | 400;
  r.source.slot_confirmed = 0;
  r.source.binlog_sizes = {{3, 10'000}, {4, 50'000}, {5, 400}};
  SyncStatus st = DeriveStreamStatus(MysqlConfig(), r).status;
  EXPECT_EQ(st.applied_position, "mysql-bin.000003:1234");
  EXPECT_EQ(st.source_position, "mysql-bin.000005:400");
  // The rest of file 3, all of file 4, file 5 up to the position.
  EXPECT_EQ(st.source_bytes_behind, (10'000 - 1234) + 50'000 + 400);
  EXPECT_EQ(st.state, "streaming");  // the run's sample: behind, but it says streaming
  EXPECT_EQ(st.lag_seconds, 0.25);
}

TEST(LagFromOldestPending, TheOldestHeldTransactionsAgeOrZero) {
  EXPECT_EQ(LagFromOldestPending(kTargetNow, std::nullopt), 0.0);
  EXPECT_DOUBLE_EQ(LagFromOldestPending(kTargetNow, kTargetNow - 2'500'000), 2.5);
  // A commit stamped ahead of the source's clock is no negative lag.
  EXPECT_EQ(LagFromOldestPending(kTargetNow, kTargetNow + kSecond), 0.0);
}

}  // namespace
}  // namespace stagesync::monitor
