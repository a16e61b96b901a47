// The restart schedule and the restart loop, without servers: a fake life stands in for the
// pipeline.
#include "supervise.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "stagesync/run.h"

namespace stagesync::run {
namespace {

using std::chrono::seconds;

TEST(Backoff, doubles_from_one_second_up_to_thirty) {
  Backoff backoff;
  std::vector<long> waits;
  for (int i = 0; i < 7; ++i) waits.push_back(backoff.Next(/*was_up=*/false).count());
  EXPECT_EQ(waits, (std::vector<long>{1, 2, 4, 8, 16, 30, 30}));
}

TEST(Backoff, starts_afresh_after_a_life_that_got_up) {
  Backoff backoff;
  for (int i = 0; i < 5; ++i) backoff.Next(false);  // 1 2 4 8 16: an outage
  EXPECT_EQ(backoff.Next(/*was_up=*/true), seconds(1));
  EXPECT_EQ(backoff.Next(false), seconds(2));
  EXPECT_EQ(backoff.Next(true), seconds(1));
  EXPECT_EQ(backoff.Next(true), seconds(1));
}

TEST(RunWithRetries, a_failure_that_is_not_transient_ends_it_at_once) {
  std::atomic<bool> stop{false};
  int lives = 0;
  Status s = RunWithRetries("test", stop, [&](const std::atomic<bool>&, std::atomic<bool>& up) {
    ++lives;
    up = true;
    return Status::Usage("table public.t has no key");
  });
  EXPECT_EQ(lives, 1);
  EXPECT_EQ(s.exit_code(), kExitUsage);
  EXPECT_EQ(s.message(), "table public.t has no key");
}

TEST(RunWithRetries, a_stop_wins_over_the_failure_it_caused) {
  std::atomic<bool> stop{false};
  Status s = RunWithRetries("test", stop, [&](const std::atomic<bool>&, std::atomic<bool>&) {
    stop = true;
    return Status::Error("connection closed");
  });
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(RunWithRetries, a_stop_cuts_the_wait_before_a_restart_short) {
  std::atomic<bool> stop{false};
  int lives = 0;
  std::thread stopper;
  auto started = std::chrono::steady_clock::now();
  Status s = RunWithRetries("test", stop, [&](const std::atomic<bool>&, std::atomic<bool>&) {
    ++lives;
    stopper = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      stop = true;
    });
    return Status::Transient("server closed the connection");
  });
  stopper.join();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(lives, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
}

TEST(RunWithRetries, restarts_after_a_transient_failure) {
  std::atomic<bool> stop{false};
  int lives = 0;
  Status s = RunWithRetries("test", stop, [&](const std::atomic<bool>&, std::atomic<bool>& up) {
    if (++lives == 1) return Status::Transient("server closed the connection");
    up = true;
    return Status::Error("relation public.t does not exist");
  });
  EXPECT_EQ(lives, 2);
  EXPECT_EQ(s.message(), "relation public.t does not exist");
}

TEST(StopSignals, sigterm_sets_the_flag_instead_of_ending_the_process) {
  std::atomic<bool> stop{false};
  {
    StopSignals signals(stop);
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    for (int i = 0; i < 100 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_TRUE(stop);
}

TEST(LiveState, streaming_within_two_heartbeats_else_catching_up) {
  Config config;
  config.monitor.heartbeat_interval = std::chrono::seconds(1);
  EXPECT_EQ(LiveState(config, 0), "streaming");
  EXPECT_EQ(LiveState(config, 2.0), "streaming");
  EXPECT_EQ(LiveState(config, 2.1), "catching_up");
  config.monitor.heartbeat_interval = std::chrono::milliseconds(100);
  EXPECT_EQ(LiveState(config, 1.0), "streaming");  // never under a second
  EXPECT_EQ(LiveState(config, 1.1), "catching_up");
}

}  // namespace
}  // namespace stagesync::run
