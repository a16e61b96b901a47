// librdkafka plumbing: mock cluster, consumer, dead-letter producer.
#include "stagesync/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <regex>

#include "kafka_common.h"
#include "stagesync/log.h"

namespace stagesync::kafka {

Status SetAll(rd_kafka_conf_t* conf,
              const std::vector<std::pair<std::string, std::string>>& settings) {
  char err[512];
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Status::Usage("kafka setting " + k + "=" + v + ": " + err);
    }
  }
  return Status::Ok();
}

struct MockCluster::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

Status MockCluster::Start(int brokers, std::unique_ptr<MockCluster>* out) {
  std::unique_ptr<MockCluster> m(new MockCluster());
  m->impl_ = std::make_unique<Impl>();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  // A handle needs some bootstrap setting; it never connects (it only hosts the mock).
  rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  // The mock cluster lives inside a client handle; this one never produces.
  m->impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!m->impl_->rk) return Status::Error(std::string("cannot create a Kafka handle: ") + err);
  m->impl_->cluster = rd_kafka_mock_cluster_new(m->impl_->rk, brokers);
  if (!m->impl_->cluster) return Status::Error("cannot start librdkafka's mock cluster");
  *out = std::move(m);
  return Status::Ok();
}

MockCluster::~MockCluster() = default;

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

Status MockCluster::SetBrokerDown(int broker_id, bool down) {
  rd_kafka_resp_err_t e = down ? rd_kafka_mock_broker_set_down(impl_->cluster, broker_id)
                               : rd_kafka_mock_broker_set_up(impl_->cluster, broker_id);
  if (e)
    return Status::Error(std::string("mock broker ") + std::to_string(broker_id) + ": " +
                         rd_kafka_err2str(e));
  return Status::Ok();
}

Status MockCluster::CreateTopic(const std::string& topic, int partitions) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 3);
  if (e) return Status::Error("mock topic " + topic + ": " + rd_kafka_err2str(e));
  return Status::Ok();
}

struct Consumer::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_t* dlq = nullptr;  // producer for dead letters, made on first use
  StoredOffset stored;
  std::string brokers;
  ~Impl() {
    if (rk) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
    if (dlq) {
      rd_kafka_flush(dlq, 5000);
      rd_kafka_destroy(dlq);
    }
  }
};

namespace {
// On assignment, start each partition where the target's bookkeeping says.
void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
               void* opaque) {
  auto* impl = static_cast<Consumer::StoredOffset*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::string taken;
    for (int i = 0; i < parts->cnt; ++i) {
      // Offset 0, not "the beginning": a partition whose first records are gone must fail
      // (auto.offset.reset = error), not start quietly at whatever the broker still has.
      auto off = (*impl)(parts->elems[i].topic, parts->elems[i].partition);
      parts->elems[i].offset = off ? *off : 0;
      taken += std::string(i ? ", " : "") + parts->elems[i].topic + "/" +
               std::to_string(parts->elems[i].partition) + " at " +
               std::to_string(parts->elems[i].offset);
    }
    // Which process applies which partition, and from where: what a DBA asks first when a
    // group of applies seems stuck.
    LOG_INFO("kafka: assigned " << parts->cnt << " partition(s)" << (parts->cnt ? ": " : "")
                                << taken);
    rd_kafka_assign(rk, parts);
  } else {
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
      LOG_WARN("kafka: rebalance failed: " << rd_kafka_err2str(err));
    LOG_INFO("kafka: partitions revoked for a rebalance");
    rd_kafka_assign(rk, nullptr);
  }
}
}  // namespace

Status Consumer::Open(const Config& config, const std::string& group_id,
                      const std::string& topic_regex, StoredOffset stored_offset,
                      std::unique_ptr<Consumer>* out) {
  std::unique_ptr<Consumer> c(new Consumer());
  c->impl_ = std::make_unique<Impl>();
  c->impl_->stored = std::move(stored_offset);
  c->impl_->brokers = config.stream.brokers;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = SetAll(conf, {{"bootstrap.servers", config.stream.brokers},
                               {"group.id", group_id},
                               {"enable.auto.commit", "false"},
                               {"enable.auto.offset.store", "false"},
                               {"auto.offset.reset", "error"},
                               // A restarted apply takes its partitions back within seconds.
                               {"session.timeout.ms", "6000"},
                               {"heartbeat.interval.ms", "1000"},
                               {"topic.metadata.refresh.interval.ms", "2000"},
                               {"allow.auto.create.topics", "true"},
                               {"log_level", "3"}});
      !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  rd_kafka_conf_set_opaque(conf, &c->impl_->stored);
  rd_kafka_conf_set_rebalance_cb(conf, Rebalance);
  char err[512];
  c->impl_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!c->impl_->rk) return Status::Usage(std::string("kafka consumer: ") + err);
  rd_kafka_poll_set_consumer(c->impl_->rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic_regex.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(c->impl_->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e)
    return Status::Error(std::string("kafka subscribe ") + topic_regex + ": " +
                         rd_kafka_err2str(e));
  *out = std::move(c);
  return Status::Ok();
}

Consumer::~Consumer() = default;

Status Consumer::Poll(size_t max, Duration timeout, std::vector<Message>* out) {
  out->clear();
  int wait = static_cast<int>(timeout.count());
  while (out->size() < max) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, wait);
    if (!m) break;
    wait = 0;
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      // The offset to read next is no longer (or not yet) in the partition.
      std::string topic = rd_kafka_topic_name(m->rkt);
      int32_t partition = m->partition;
      std::string why = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      // Where this partition was to be read from: the caller's stored position.
      std::optional<int64_t> stored = impl_->stored ? impl_->stored(topic, partition) : 0;
      int64_t wanted = stored.value_or(0);
      int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(impl_->rk, topic.c_str(), partition, &low, &high,
                                           10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Error("kafka consumer: " + topic + "/" + std::to_string(partition) +
                             ": the offset to read next is out of range (" + why + ")");
      }
      return OffsetGap(topic, partition, wanted, low, high);
    }
    if (m->err) {
      std::string why = rd_kafka_message_errstr(m);
      bool benign = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                    m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
                    m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
      rd_kafka_message_destroy(m);
      if (benign) continue;
      return Status::Transient("kafka consumer: " + why);
    }
    Message msg;
    msg.topic = rd_kafka_topic_name(m->rkt);
    msg.partition = m->partition;
    msg.offset = m->offset;
    if (m->key) msg.key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) msg.value.emplace(static_cast<const char*>(m->payload), m->len);
    rd_kafka_message_destroy(m);
    out->push_back(std::move(msg));
  }
  return Status::Ok();
}

Status Consumer::LowWatermark(const std::string& topic, int32_t partition, int64_t* low,
                              int64_t* high) {
  rd_kafka_resp_err_t e =
      rd_kafka_query_watermark_offsets(impl_->rk, topic.c_str(), partition, low, high, 10000);
  if (e)
    return Status::Transient("kafka: the start of " + topic + "/" + std::to_string(partition) +
                             ": " + rd_kafka_err2str(e));
  return Status::Ok();
}

Status OffsetGap(const std::string& topic, int32_t partition, int64_t next, int64_t low,
                 int64_t high) {
  std::string where = topic + "/" + std::to_string(partition);
  if (next > high) {
    return Status::Error(where + ": apply's next offset " + std::to_string(next) +
                         " is past the partition's end (" + std::to_string(high) +
                         "): the topic was recreated or truncated, so apply's stored positions "
                         "no longer describe it; re-copy the tables on " +
                         topic + " to the target and reset apply's position for it");
  }
  if (next >= low) {
    return Status::Transient(where + ": the broker reported offset " + std::to_string(next) +
                             " out of range, but it holds " + std::to_string(low) + ".." +
                             std::to_string(high) + " now");
  }
  return Status::Error(
      where + ": records at offsets " + std::to_string(next) + ".." + std::to_string(low - 1) +
      " are gone from Kafka before apply read them (the partition now starts at " +
      std::to_string(low) +
      "; retention or the broker's size limit removed them), so the target lacks those changes "
      "and apply will not skip them: re-copy the tables on " +
      topic +
      " to the target, then delete this partition's row from stagesync.kafka_offsets on the "
      "target (or raise the topic's retention before the next sync)");
}

Status Consumer::DeadLetter(const Message& m, const std::string& topic, const std::string& reason) {
  if (!impl_->dlq) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (Status s = SetAll(conf, {{"bootstrap.servers", impl_->brokers},
                                 {"enable.idempotence", "true"},
                                 {"acks", "all"}});
        !s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    char err[512];
    impl_->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!impl_->dlq) return Status::Error(std::string("dead-letter producer: ") + err);
  }
  rd_kafka_headers_t* h = rd_kafka_headers_new(4);
  std::string partition = std::to_string(m.partition), offset = std::to_string(m.offset);
  rd_kafka_header_add(h, "stagesync.error", -1, reason.data(), static_cast<ssize_t>(reason.size()));
  rd_kafka_header_add(h, "stagesync.topic", -1, m.topic.data(),
                      static_cast<ssize_t>(m.topic.size()));
  rd_kafka_header_add(h, "stagesync.partition", -1, partition.data(),
                      static_cast<ssize_t>(partition.size()));
  rd_kafka_header_add(h, "stagesync.offset", -1, offset.data(),
                      static_cast<ssize_t>(offset.size()));
  const void* key = m.key ? m.key->data() : nullptr;
  size_t key_len = m.key ? m.key->size() : 0;
  void* value = m.value ? const_cast<char*>(m.value->data()) : nullptr;
  size_t value_len = m.value ? m.value->size() : 0;
  rd_kafka_resp_err_t e =
      rd_kafka_producev(impl_->dlq, RD_KAFKA_V_TOPIC(topic.c_str()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                        RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
  if (e) {
    rd_kafka_headers_destroy(h);
    return Status::Error(std::string("dead-letter produce: ") + rd_kafka_err2str(e));
  }
  // The dead letter must be durable before the offset that skips it is committed.
  if (rd_kafka_flush(impl_->dlq, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Transient("dead-letter topic " + topic + " did not confirm in 30 s");
  }
  return Status::Ok();
}

}  // namespace stagesync::kafka

namespace stagesync::kafka {

Status PartitionEnds(const Config& config, const std::string& topic_regex,
                     std::vector<PartitionEnd>* out) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = SetAll(conf, {{"bootstrap.servers", config.stream.brokers}, {"log_level", "3"}});
      !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) return Status::Error(std::string("cannot create a Kafka handle: ") + err);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, nullptr, &md, 5000);
  Status result;
  if (e) {
    result = Status::Error("Kafka at " + config.stream.brokers +
                           ": cannot read the topic list: " + rd_kafka_err2str(e));
  } else {
    std::regex wanted(topic_regex);
    for (int t = 0; t < md->topic_cnt && result.ok(); ++t) {
      const auto& topic = md->topics[t];
      if (topic.err || !std::regex_match(topic.topic, wanted)) continue;
      for (int p = 0; p < topic.partition_cnt; ++p) {
        int64_t low = 0, high = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic.topic, topic.partitions[p].id, &low, &high,
                                             5000);
        if (e) {
          result =
              Status::Error(std::string("Kafka: the end of ") + topic.topic + "/" +
                            std::to_string(topic.partitions[p].id) + ": " + rd_kafka_err2str(e));
          break;
        }
        out->push_back(PartitionEnd{topic.topic, topic.partitions[p].id, high});
      }
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(rk);
  return result;
}

}  // namespace stagesync::kafka
