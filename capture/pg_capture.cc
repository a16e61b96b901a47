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

void PutU64(std::string& buf, uint64_t v) {
  for (int i = 7; i >= 0; --i) buf += static_cast<char>((v >> (i * 8)) & 0xff);
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
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

  // Tables matching source.tables that are not in the publication (created after setup, or
  // selected by a config changed since): pgoutput sends nothing of theirs, so capture must
  // stop rather than let their rows go missing. A failed look only waits for the next one.
  Status CheckPublished() {
    auto now = Clock::now();
    if (now < next_publication_check_) return Status::Ok();
    next_publication_check_ = now + std::chrono::seconds(5);
    std::vector<std::string> missing;
    try {
      if (!catalog_) catalog_ = pg::Connect(config_.source, "stagesync-capture");
      pqxx::read_transaction tx(*catalog_);
      auto rows = tx.exec_params(
          "SELECT n.nspname, c.relname FROM pg_class c "
          "JOIN pg_namespace n ON n.oid = c.relnamespace "
          "CROSS JOIN pg_publication p "
          "WHERE p.pubname = $1 AND NOT p.puballtables "
          "  AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
          "  AND n.nspname NOT IN ('pg_catalog', 'information_schema', $2) "
          "  AND n.nspname !~ '^pg_(toast|temp)' "
          "  AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r "
          "                  WHERE r.prpubid = p.oid AND r.prrelid = c.oid) "
          "  AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace s "
          "                  WHERE s.pnpubid = p.oid AND s.pnnspid = c.relnamespace) "
          "ORDER BY 1, 2",
          config_.source.publication, std::string(kSourceSchema));
      for (const auto& r : rows) {
        std::string qualified = r[0].as<std::string>() + "." + r[1].as<std::string>();
        if (Selected(config_, qualified)) missing.push_back(qualified);
      }
    } catch (const std::exception& e) {
      catalog_.reset();
      LOG_WARN("capture: cannot check publication " << config_.source.publication
                                                    << " for new tables: " << pg::Describe(e));
      return Status::Ok();
    }
    if (missing.empty()) return Status::Ok();
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::Error(
        "source table" + std::string(missing.size() > 1 ? "s " : " ") + list +
        " match source.tables but are not in publication " + config_.source.publication +
        " (created after setup?), so their changes are not captured: run `stagesync setup` "
        "again (it adds them to the publication), copy their rows to the target (e.g. pg_dump "
        "--data-only -t TABLE | psql), then start again; or list them in source.exclude");
  }

  Status Loop() {
    while (!stop_.load()) {
      if (Status s = CheckPublished(); !s.ok()) return s;
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
        if (err.empty()) err = ConnError(conn_.get());
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        // A server shutting down or restarting ends COPY without an error of its own.
        if (err.empty()) err = "the server closed it without an error (restarting or stopping?)";
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
      DropUnselected(before);
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

  // The slot may hold changes of tables the config no longer selects (source.exclude
  // changed after setup): they are left out here, as the config now says.
  void DropUnselected(size_t from) {
    auto wanted = [&](const RelationPtr& rel) {
      return IsHeartbeat(*rel) || Selected(config_, rel->QualifiedName());
    };
    size_t kept = from;
    for (size_t i = from; i < pending_.size(); ++i) {
      if (auto* row = std::get_if<RowChange>(&pending_[i]); row && !wanted(row->relation)) {
        continue;
      }
      if (auto* t = std::get_if<TruncateChange>(&pending_[i])) {
        std::erase_if(t->relations, [&](const RelationPtr& rel) { return !wanted(rel); });
        if (t->relations.empty()) continue;
      }
      if (kept != i) pending_[kept] = std::move(pending_[i]);
      ++kept;
    }
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(kept), pending_.end());
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
  std::unique_ptr<pqxx::connection> catalog_;
  Clock::time_point next_publication_check_;

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
  // The slot may still hold transactions the target has (it is confirmed a little behind):
  // the first Begin at or past `applied` is the oldest change not yet applied.
  constexpr int kPeekRows = 20000;
  try {
    auto conn = pg::Connect(config.source, "stagesync-status");
    pqxx::work tx(*conn);
    tx.exec0("SET LOCAL statement_timeout = " + std::to_string(timeout.count()));
    auto rows = tx.exec_params(
        "SELECT substr(data, 1, 17) FROM pg_logical_slot_peek_binary_changes($1, NULL, $3, "
        "'proto_version', '1', 'publication_names', $2)",
        config.source.slot, pg::QuoteIdent(config.source.publication), kPeekRows);
    for (const auto& row : rows) {
      pqxx::binarystring data(row[0]);
      if (data.size() < 17 || data.data()[0] != 'B') continue;
      auto u64 = [&](size_t at) {
        uint64_t v = 0;
        for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(data.data()[at + i]);
        return v;
      };
      if (Lsn final_lsn = u64(1); final_lsn < applied) continue;
      *commit_time = static_cast<int64_t>(u64(9)) + kPgEpochOffsetUs;
      return Status::Ok();
    }
    // Fewer rows than asked for: the peek reached the end of the WAL, so nothing is pending.
    // Otherwise the pending change lies beyond what was looked at: not known.
    if (rows.size() >= static_cast<size_t>(kPeekRows)) {
      return Status::Error("the oldest change not applied lies beyond the first " +
                           std::to_string(kPeekRows) + " messages slot " + config.source.slot +
                           " holds");
    }
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

std::string ConnError(PGconn* conn) {
  std::string msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

}  // namespace stagesync::capture
