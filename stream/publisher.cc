// capture -> Kafka: change events to Debezium records, acknowledged per whole transaction.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include "kafka_common.h"
#include "stagesync/kafka.h"
#include "stagesync/log.h"

namespace stagesync::kafka {
namespace {

// A source transaction in flight: confirmed when every record is acknowledged and the
// commit has been seen.
struct Inflight {
  uint64_t seq = 0;
  Lsn end_lsn = 0;
  TimestampUs commit_time = 0;
  uint64_t outstanding = 0;
  bool committed = false;
};

}  // namespace

struct Publisher::Impl {
  Config config;
  rd_kafka_t* rk = nullptr;
  std::unique_ptr<debezium::Encoder> encoder;
  PublishProgress progress;
  std::mutex mutex;  // guards inflight and failure (delivery reports run inside rd_kafka_poll)
  std::deque<Inflight> inflight;
  std::string failure;
  uint64_t next_seq = 1;
  uint64_t current_seq = 0;  // the in-flight entry of the transaction being read
  // Current transaction.
  TxnBegin begin;
  bool in_txn = false, began = false;
  uint64_t total_order = 0;
  std::map<std::string, uint64_t> per_table;
  TimestampUs last_heartbeat = 0;

  ~Impl() {
    if (rk) rd_kafka_destroy(rk);
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    uint64_t seq = reinterpret_cast<uintptr_t>(m->_private);
    std::lock_guard lock(self->mutex);
    if (m->err) {
      if (self->failure.empty()) {
        self->failure = std::string("Kafka did not take a record for ") +
                        rd_kafka_topic_name(m->rkt) + ": " + rd_kafka_err2str(m->err);
      }
      return;
    }
    for (auto& t : self->inflight) {
      if (t.seq == seq) {
        --t.outstanding;
        break;
      }
    }
    self->ConfirmLocked();
  }

  void ConfirmLocked() {
    while (!inflight.empty() && inflight.front().committed && inflight.front().outstanding == 0) {
      if (inflight.front().end_lsn > progress.confirmed) {  // heartbeats carry no position
        progress.confirmed = inflight.front().end_lsn;
        progress.confirmed_commit_time = inflight.front().commit_time;
        progress.transactions_confirmed++;
      }
      inflight.pop_front();
    }
    progress.pending_since = inflight.empty() ? 0 : inflight.front().commit_time;
  }

  // Sends one record counted against the in-flight entry `seq`.
  Status Produce(const debezium::KafkaRecord& r, bool fixed_partition, uint64_t seq) {
    {
      std::lock_guard lock(mutex);
      if (!failure.empty()) return Status::Error(failure);
      for (auto& t : inflight) {
        if (t.seq == seq) t.outstanding++;
      }
    }
    rd_kafka_headers_t* headers = nullptr;
    if (!r.headers.empty()) {
      headers = rd_kafka_headers_new(r.headers.size());
      for (const auto& [k, v] : r.headers)
        rd_kafka_header_add(headers, k.c_str(), -1, v.data(), static_cast<ssize_t>(v.size()));
    }
    const void* key = r.key ? r.key->data() : nullptr;
    size_t key_len = r.key ? r.key->size() : 0;
    void* value = r.value ? const_cast<char*>(r.value->data()) : nullptr;
    size_t value_len = r.value ? r.value->size() : 0;
    int32_t partition = fixed_partition ? 0 : RD_KAFKA_PARTITION_UA;
    void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(seq));
    while (true) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(r.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, key_len),
          RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Kafka is slow or away: wait here (bounded memory); capture stops reading meanwhile.
        rd_kafka_poll(rk, 100);
        continue;
      }
      if (headers) rd_kafka_headers_destroy(headers);
      return Status::Error("producing to " + r.topic + ": " + rd_kafka_err2str(e));
    }
    progress.records_sent++;
    rd_kafka_poll(rk, 0);
    return Status::Ok();
  }

  Status OnEvent(ChangeEvent& ev) {
    if (auto* b = std::get_if<TxnBegin>(&ev)) {
      begin = *b;
      in_txn = true;
      began = false;
      total_order = 0;
      per_table.clear();
      std::lock_guard lock(mutex);
      current_seq = next_seq++;
      inflight.push_back(Inflight{current_seq, 0, b->commit_time, 0, false});
      if (!progress.pending_since) progress.pending_since = b->commit_time;
      return Status::Ok();
    }
    if (auto* c = std::get_if<TxnCommit>(&ev)) {
      if (began) {
        if (Status s = Produce(encoder->EncodeTransaction(false, begin, c->end_lsn, per_table),
                               false, current_seq);
            !s.ok())
          return s;
      }
      encoder->SetLastCommit(c->commit_lsn);
      in_txn = false;
      std::lock_guard lock(mutex);
      for (auto& t : inflight) {
        if (t.seq == current_seq) {
          t.end_lsn = c->end_lsn;
          t.committed = true;
        }
      }
      ConfirmLocked();
      return Status::Ok();
    }
    if (auto* row = std::get_if<RowChange>(&ev)) {
      if (IsHeartbeat(*row->relation)) return Status::Ok();
      if (!began) {
        began = true;
        if (Status s = Produce(encoder->EncodeTransaction(true, begin, 0, {}), false, current_seq);
            !s.ok())
          return s;
      }
      std::string table = row->relation->QualifiedName();
      uint64_t& in_table = per_table[table];
      std::vector<debezium::KafkaRecord> records;
      if (Status s = encoder->EncodeRow(*row, {&begin, total_order + 1, in_table + 1}, &records);
          !s.ok()) {
        return s;
      }
      bool keyless = row->relation->replica_identity == 'f';
      for (const auto& r : records) {
        if (r.value) {
          ++total_order;
          ++in_table;
        }
        if (Status s = Produce(r, keyless, current_seq); !s.ok()) return s;
      }
      return Status::Ok();
    }
    if (auto* t = std::get_if<TruncateChange>(&ev)) {
      std::vector<debezium::KafkaRecord> records;
      if (Status s = encoder->EncodeTruncate(*t, {&begin, total_order + 1, 1}, &records); !s.ok())
        return s;
      for (const auto& r : records) {
        ++total_order;
        if (Status s = Produce(r, true, current_seq); !s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  Status Run(EventQueue& queue) {
    while (true) {
      auto batch = queue.Pop(std::chrono::milliseconds(100));
      rd_kafka_poll(rk, 0);
      {
        std::lock_guard lock(mutex);
        if (!failure.empty()) return Status::Transient(failure);
      }
      TimestampUs now = NowUs();
      // Between transactions only: a heartbeat is its own (position-less) entry in flight.
      if (!in_txn && now - last_heartbeat >= std::chrono::duration_cast<std::chrono::microseconds>(
                                                 config.monitor.heartbeat_interval)
                                                 .count()) {
        last_heartbeat = now;
        uint64_t seq;
        {
          std::lock_guard lock(mutex);
          seq = next_seq++;
          inflight.push_back(Inflight{seq, 0, 0, 0, true});  // carries no position
        }
        if (Status s = Produce(encoder->EncodeHeartbeat(now), true, seq); !s.ok()) return s;
      }
      if (!batch) {
        if (queue.closed_and_empty()) break;
        continue;
      }
      for (auto& ev : *batch) {
        if (Status s = OnEvent(ev); !s.ok()) return s;
      }
    }
    // Stopping: give Kafka time to confirm what was sent; unconfirmed records are re-sent
    // after a restart (the slot was not acknowledged past them).
    rd_kafka_flush(rk, 30000);
    std::lock_guard lock(mutex);
    if (!failure.empty()) return Status::Transient(failure);
    return Status::Ok();
  }
};

Status Publisher::Open(const Config& config, std::unique_ptr<Publisher>* out) {
  std::unique_ptr<Publisher> p(new Publisher());
  p->impl_ = std::make_unique<Impl>();
  Impl& impl = *p->impl_;
  impl.config = config;
  debezium::EncoderOptions eo;
  eo.topic_prefix = config.stream.topic_prefix;
  eo.database = config.source.DatabaseName();
  eo.source_kind = config.source.kind;
  eo.schemas_enable = config.stream.schemas_enable;
  eo.decimal_mode = config.stream.decimal_handling_mode;
  impl.encoder = std::make_unique<debezium::Encoder>(eo);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Idempotent, all replicas, keyed partitions compatible with Java clients; memory bounded.
  if (Status s = SetAll(conf, {{"bootstrap.servers", config.stream.brokers},
                               {"enable.idempotence", "true"},
                               {"acks", "all"},
                               {"partitioner", "murmur2_random"},
                               {"linger.ms", "5"},
                               {"message.timeout.ms", "0"},
                               {"queue.buffering.max.messages", "200000"},
                               {"queue.buffering.max.kbytes", "65536"},
                               {"log_level", "3"}});
      !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  rd_kafka_conf_set_opaque(conf, &impl);
  rd_kafka_conf_set_dr_msg_cb(conf, Impl::OnDelivery);
  char err[512];
  impl.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!impl.rk) return Status::Usage(std::string("kafka producer: ") + err);
  *out = std::move(p);
  return Status::Ok();
}

Publisher::~Publisher() = default;
Status Publisher::Run(EventQueue& queue) {
  return impl_->Run(queue);
}
PublishProgress& Publisher::progress() {
  return impl_->progress;
}

}  // namespace stagesync::kafka
