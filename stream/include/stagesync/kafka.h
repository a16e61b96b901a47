// stream: the Kafka transport between capture and apply, plus librdkafka's mock cluster
// (a real Kafka protocol endpoint on loopback) for tests, the demo and trials.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/debezium.h"
#include "stagesync/event_queue.h"
#include "stagesync/status.h"

namespace stagesync::kafka {

// librdkafka's mock cluster with `brokers` brokers on loopback.
class MockCluster {
 public:
  static Status Start(int brokers, std::unique_ptr<MockCluster>* out);
  ~MockCluster();
  std::string bootstrap_servers() const;
  Status SetBrokerDown(int broker_id, bool down);
  Status CreateTopic(const std::string& topic, int partitions);

 private:
  MockCluster() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Live figures of a running publisher.
struct PublishProgress {
  std::atomic<Lsn> confirmed{0};  // end LSN of the last transaction Kafka confirmed whole
  std::atomic<TimestampUs> confirmed_commit_time{0};
  std::atomic<TimestampUs> pending_since{0};
  std::atomic<uint64_t> records_sent{0};
  std::atomic<uint64_t> transactions_confirmed{0};
};

// capture -> Kafka: turns change events into Debezium records (idempotent producer,
// acks=all, keyed so a row's changes stay in one partition). A transaction counts as
// confirmed only when Kafka has acknowledged every one of its records and all before it.
class Publisher {
 public:
  static Status Open(const Config& config, std::unique_ptr<Publisher>* out);
  ~Publisher();
  // Publishes until the queue is closed and drained (then flushes), or a delivery fails.
  Status Run(EventQueue& queue);
  PublishProgress& progress();

 private:
  Publisher() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The end (high watermark) of every partition of the topics matching `topic_regex` (ECMAScript),
// for consumer lag. Topics that do not exist yet are simply absent.
struct PartitionEnd {
  std::string topic;
  int32_t partition = 0;
  int64_t high = 0;
};
Status PartitionEnds(const Config& config, const std::string& topic_regex,
                     std::vector<PartitionEnd>* out);

// One consumed record.
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: tombstone
};

// The error for records apply must read next (from `next`) that the partition no longer holds
// (it starts at `low`) or never held (it ends at `high`): never skipped, always a stop.
Status OffsetGap(const std::string& topic, int32_t partition, int64_t next, int64_t low,
                 int64_t high);

// apply <- Kafka: a consumer in group `group_id` on the topics matching `topic_regex`.
// Offsets are never committed to Kafka: the caller stores them in the target with the data
// and hands them back through `stored_offset` when partitions are assigned.
class Consumer {
 public:
  using StoredOffset =
      std::function<std::optional<int64_t>(const std::string& topic, int32_t partition)>;
  static Status Open(const Config& config, const std::string& group_id,
                     const std::string& topic_regex, StoredOffset stored_offset,
                     std::unique_ptr<Consumer>* out);
  ~Consumer();
  // Up to `max` records, waiting at most `timeout` for the first.
  Status Poll(size_t max, Duration timeout, std::vector<Message>* out);
  // The partition's first and next offsets as the broker holds them now.
  Status LowWatermark(const std::string& topic, int32_t partition, int64_t* low, int64_t* high);
  // Sends a record to a dead-letter topic with the reason in its headers; waits for the ack.
  Status DeadLetter(const Message& m, const std::string& topic, const std::string& reason);

 private:
  Consumer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stagesync::kafka
