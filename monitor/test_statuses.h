// Statuses the render tests share: an idle stream that has applied a little, the same one
// streaming, and streaming through Kafka with a lag on some partitions.
#pragma once

#include "stagesync/monitor.h"

namespace stagesync::monitor::testing {

// What `status` says about a stream that has applied a little and is idle.
inline SyncStatus Idle() {
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

inline SyncStatus Streaming() {
  SyncStatus s = Idle();
  s.state = "streaming";
  s.run_alive = true;
  s.lag_seconds = 0.0123456;
  s.source_bytes_behind = 0;
  s.events_applied = 18446744073709551615ull;
  s.transactions_applied = 1234567890123ull;
  return s;
}

inline SyncStatus WithKafka() {
  SyncStatus s = Streaming();
  s.applied_position = "mysql-bin.000001:4";
  s.source_position = "mysql-bin.000002:1004";
  s.kafka_lag = std::vector<SyncStatus::KafkaLag>{{"stagesync.public.t", 0, 0},
                                                  {"stagesync.public.t", 1, 17},
                                                  {"stagesync.shop.\"odd\"", 2, 3}};
  return s;
}

}  // namespace stagesync::monitor::testing
