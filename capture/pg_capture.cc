// The PostgreSQL replication stream: START_REPLICATION with pgoutput, keepalives answered,
// the slot acknowledged only up to what the consumer has durably committed.
#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pgoutput_decoder.h"
#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/pg.h"

namespace stagesync::capture {
namespace {

using Clock = std::chrono::steady_clock;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

void PutU64(std::string& buf, uint64_t v) {
  for (int i = 7; i >= 0; --i) buf += static_cast<char>((v >> (i * 8)) & 0xff);
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string ConnError(PGconn* conn) {
  std::string msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

class ReplicationStream {
 public:
  ReplicationStream(const Config& config, EventQueue& queue,
                    const std::function<Lsn()>& durable_position, const std::atomic<bool>& stop,
                    CaptureProgress* progress)
      : config_(config),
        queue_(queue),
        durable_position_(durable_position),
        stop_(stop),
        progress_(progress) {}

  Status Run(Lsn start) {
    Status result = Connect();
    if (result.ok()) result = Start(start);
    if (result.ok()) result = Loop();
    // Hand over what was decoded; apply commits complete transactions only.
    FlushPending(/*block=*/true);
    queue_.Close();
    return result;
  }

  // Called after the consumer has stopped, to report the final durable position.
  void FinalAcknowledge() {
    if (!conn_) return;
    SendStatus(/*force=*/true, /*reply=*/false);
    PQflush(conn_.get());
  }

 private:
  Status Connect() {
    std::string conninfo = config_.source.ConnectionString();
    const char* keys[] = {"dbname", "replication", "options", "application_name", nullptr};
    const char* values[] = {conninfo.c_str(), "database", pg::kSessionOptions, "stagesync",
                            nullptr};
    conn_.reset(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return Status::Transient("cannot open a replication connection to " +
                               config_.source.RedactedDsn() + ": " + ConnError(conn_.get()));
    }
    return Status::Ok();
  }

  Status Start(Lsn start) {
    char* slot =
        PQescapeIdentifier(conn_.get(), config_.source.slot.c_str(), config_.source.slot.size());
    std::string pub_ident = pg::QuoteIdent(config_.source.publication);
    char* pubs = PQescapeLiteral(conn_.get(), pub_ident.c_str(), pub_ident.size());
    std::string cmd = std::string("START_REPLICATION SLOT ") + slot + " LOGICAL " +
                      FormatLsn(start) + " (proto_version '1', publication_names " + pubs +
                      ", messages 'true')";
    PQfreemem(slot);
    PQfreemem(pubs);
    // A `status` peeking at the idle slot holds it for a moment: retry that promptly.
    for (int attempt = 0;; ++attempt) {
      PGresult* res = PQexec(conn_.get(), cmd.c_str());
      bool ok = PQresultStatus(res) == PGRES_COPY_BOTH;
      std::string err = ok ? "" : ConnError(conn_.get());
      PQclear(res);
      if (ok) break;
      bool busy = err.find("is active for PID") != std::string::npos;
      if (!busy || attempt >= 100 || stop_.load()) {
        return Status::Transient("START_REPLICATION on slot " + config_.source.slot +
                                 " failed: " + err);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    LOG_INFO("capture: streaming slot " << config_.source.slot << " from "
                                        << (start ? FormatLsn(start) : "its confirmed position"));
    last_status_ = Clock::now();
    return Status::Ok();
  }

  Status Loop() {
    while (!stop_.load()) {
      char* buf = nullptr;
      int len = PQgetCopyData(conn_.get(), &buf, /*async=*/1);
      if (len > 0) {
        Status s = Handle(buf, static_cast<size_t>(len));
        PQfreemem(buf);
        if (!s.ok()) return s;
        if (pending_.size() >= 512) FlushPending(false);
        MaybeSendStatus();
        continue;
      }
      if (len == -1) {
        PGresult* res = PQgetResult(conn_.get());
        std::string err = res ? PQresultErrorMessage(res) : "";
        PQclear(res);
        return Status::Transient("source ended the replication stream: " + err);
      }
      if (len == -2)
        return Status::Transient("replication stream broke: " + ConnError(conn_.get()));
      // No complete message buffered: hand over what we have, then wait on the socket.
      FlushPending(false);
      MaybeSendStatus();
      pollfd pfd{PQsocket(conn_.get()), POLLIN, 0};
      poll(&pfd, 1, 100);
      if (!PQconsumeInput(conn_.get())) {
        return Status::Transient("replication connection lost: " + ConnError(conn_.get()));
      }
    }
    return Status::Ok();
  }

  Status Handle(const char* buf, size_t len) {
    progress_->messages++;
    if (buf[0] == 'w' && len >= 25) {
      Lsn data_start = GetU64(buf + 1);
      Lsn wal_end = GetU64(buf + 9);
      size_t before = pending_.size();
      Status s = decoder_.Decode(std::string_view(buf + 25, len - 25), data_start, &pending_);
      if (!s.ok()) return s;
      if (data_start > received_) received_ = data_start;
      progress_->received = received_;
      if (wal_end > progress_->server_wal_end) progress_->server_wal_end = wal_end;
      for (size_t i = before; i < pending_.size(); ++i) {
        if (const auto* c = std::get_if<TxnCommit>(&pending_[i])) {
          last_commit_end_ = c->end_lsn;
          progress_->last_received_commit_time = c->commit_time;
          if (c->end_lsn > received_) received_ = c->end_lsn;
        }
      }
      return Status::Ok();
    }
    if (buf[0] == 'k' && len >= 18) {
      Lsn wal_end = GetU64(buf + 1);
      bool reply = buf[17] != 0;
      if (wal_end > progress_->server_wal_end) progress_->server_wal_end = wal_end;
      // Between transactions, everything before wal_end that concerns us has been sent.
      if (!decoder_.in_transaction() && wal_end > idle_end_) idle_end_ = wal_end;
      if (reply) SendStatus(/*force=*/true, /*reply=*/false);
      return Status::Ok();
    }
    return Status::Error("unexpected replication message type '" + std::string(1, buf[0]) + "'");
  }

  void FlushPending(bool block) {
    while (!pending_.empty()) {
      if (queue_.Push(pending_, std::chrono::milliseconds(100))) return;
      // Consumer is behind: keep answering the server while we wait (backpressure).
      MaybeSendStatus();
      if (!block && stop_.load()) block = true;
    }
  }

  Lsn AcknowledgeablePosition() {
    Lsn durable = durable_position_();
    Lsn ack = durable;
    // Everything we decoded is committed downstream and we are between transactions: the
    // stretch up to the last keepalive held nothing for us, so the slot may move past it.
    if (durable >= last_commit_end_ && pending_.empty() && !decoder_.in_transaction() &&
        queue_.empty()) {
      ack = std::max(ack, idle_end_);
    }
    return std::max(ack, acked_);
  }

  void MaybeSendStatus() {
    auto now = Clock::now();
    if (now - last_status_ < std::chrono::milliseconds(500)) return;
    Lsn ack = AcknowledgeablePosition();
    if (ack != acked_ || now - last_status_ > std::chrono::seconds(10)) SendStatus(true, false);
  }

  void SendStatus(bool force, bool reply) {
    Lsn ack = AcknowledgeablePosition();
    std::string msg = "r";
    Lsn write = std::max(received_, ack);
    PutU64(msg, write);
    PutU64(msg, ack);
    PutU64(msg, ack);
    PutU64(msg, static_cast<uint64_t>(NowUs() - kPgEpochOffsetUs));
    msg += static_cast<char>(reply ? 1 : 0);
    if (PQputCopyData(conn_.get(), msg.data(), static_cast<int>(msg.size())) <= 0 ||
        PQflush(conn_.get()) < 0) {
      LOG_WARN("capture: could not send standby status: " << ConnError(conn_.get()));
      return;
    }
    acked_ = ack;
    progress_->acknowledged = ack;
    last_status_ = Clock::now();
    (void)force;
  }

  const Config& config_;
  EventQueue& queue_;
  const std::function<Lsn()>& durable_position_;
  const std::atomic<bool>& stop_;
  CaptureProgress* progress_;
  PgConn conn_;
  PgoutputDecoder decoder_;
  EventBatch pending_;
  Lsn received_ = 0;
  Lsn last_commit_end_ = 0;
  Lsn idle_end_ = 0;
  Lsn acked_ = 0;
  Clock::time_point last_status_;

 public:
  // Consumer-side hook: wait for the queue to drain before the final acknowledgement.
  EventQueue& queue() { return queue_; }
};

}  // namespace

Status RunPostgresCapture(const Config& config, Lsn start, EventQueue& queue,
                          const std::function<Lsn()>& durable_position,
                          const std::function<void()>& await_consumer,
                          const std::atomic<bool>& stop, CaptureProgress* progress) {
  ReplicationStream stream(config, queue, durable_position, stop, progress);
  Status s = stream.Run(start);
  await_consumer();
  stream.FinalAcknowledge();
  return s;
}

Status PeekPostgresOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                       std::optional<TimestampUs>* commit_time) {
  commit_time->reset();
  try {
    auto conn = pg::Connect(config.source, "stagesync-status");
    pqxx::work tx(*conn);
    tx.exec0("SET LOCAL statement_timeout = " + std::to_string(timeout.count()));
    // upto_nchanges = 1 stops after the first decoded transaction; its Begin carries the
    // commit time. Transactions at or before `applied` are already in the target.
    auto rows = tx.exec_params(
        "SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, 1, 'proto_version', '1', "
        "'publication_names', $2) WHERE get_byte(data, 0) = 66 LIMIT 1",
        config.source.slot, pg::QuoteIdent(config.source.publication));
    if (rows.empty()) return Status::Ok();
    pqxx::binarystring data(rows[0][0]);
    if (data.size() < 17) return Status::Error("short Begin message from the slot");
    auto u64 = [&](size_t at) {
      uint64_t v = 0;
      for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(data.data()[at + i]);
      return v;
    };
    Lsn final_lsn = u64(1);
    if (final_lsn < applied) return Status::Ok();
    *commit_time = static_cast<int64_t>(u64(9)) + kPgEpochOffsetUs;
  } catch (const std::exception& e) {
    return Status::Error("peeking slot " + config.source.slot + ": " + pg::Describe(e));
  }
  return Status::Ok();
}

HeartbeatBeat PostgresHeartbeat(const Config& config) {
  std::shared_ptr<pqxx::connection> conn = pg::Connect(config.source, "stagesync-heartbeat");
  const std::string sql = "INSERT INTO " + pg::QualifiedIdent(kSourceSchema, kHeartbeatTable) +
                          " VALUES (1, clock_timestamp()) ON CONFLICT (id) DO UPDATE SET ts = "
                          "excluded.ts";
  return [conn, sql] {
    try {
      pqxx::nontransaction tx(*conn);
      tx.exec0(sql);
    } catch (const std::exception& e) {
      throw std::runtime_error(pg::Describe(e));
    }
  };
}

}  // namespace stagesync::capture
