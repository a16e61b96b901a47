// The MySQL/MariaDB binlog stream: a binlog dump as a replica with our server_id, events
// decoded by binlog_decoder and grouped into source transactions for the queue. Here: the
// session (connection, stream lock, confirmed position) and the event loop.
#include "mysql_capture.h"

#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {

namespace {

using binlog::Charset;
using binlog::RowsKind;

}  // namespace

void BinlogStream::RecordConfirmed(bool force) {
  auto now = std::chrono::steady_clock::now();
  // Only `capture` (to Kafka) resumes from here; `run` resumes from the target's applied
  // position, and writing it would only add binlog that status counts as behind.
  if (config_.stream.transport != Transport::kKafka) return;
  if (!sql_ || (!force && now - last_confirm_ < std::chrono::seconds(1))) return;
  last_confirm_ = now;
  Lsn durable = durable_();
  progress_->acknowledged = durable;
  if (durable <= confirmed_) return;
  try {
    WriteMysqlConfirmedPosition(*sql_, config_, durable);
    confirmed_ = durable;
  } catch (const sql::SQLException& e) {
    LOG_WARN("capture: recording the confirmed position: " << mysql::Describe(e));
  }
}

Status BinlogStream::Run(Lsn start) {
  Status result = Connect(start);
  if (result.ok()) result = Loop();
  FlushPending();
  queue_.Close();
  return result;
}

Status BinlogStream::Connect(Lsn start) {
  try {
    sql_ = mysql::Connect(config_.source);
    std::unique_ptr<sql::Statement> st(sql_->createStatement());
    std::unique_ptr<sql::ResultSet> lock(st->executeQuery(
        "SELECT GET_LOCK(" + mysql::QuoteLiteral(MysqlStreamLock(config_)) + ", 0)"));
    if (!lock->next() || lock->getInt(1) != 1) {
      return Status::Transient("stream " + config_.source.slot +
                               " is already being captured by another stagesync process");
    }
    std::unique_ptr<sql::ResultSet> collations(
        st->executeQuery("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS"));
    while (collations->next()) {
      charsets_[collations->getUInt(1)] =
          binlog::CharsetNamed(collations->getString(2).asStdString());
    }
    std::unique_ptr<sql::ResultSet> master(st->executeQuery("SHOW MASTER STATUS"));
    if (!master->next()) return Status::Usage("source: binary logging is off (log_bin)");
    any_file_ = master->getString(1).asStdString();
    SetBinlogBaseName(any_file_);
    std::unique_ptr<sql::ResultSet> checksum(st->executeQuery("SELECT @@global.binlog_checksum"));
    if (checksum->next()) checksum_len_ = AsciiLower(checksum->getString(1)) == "crc32" ? 4 : 0;
  } catch (const sql::SQLException& e) {
    return Status::Transient("source " + config_.source.RedactedDsn() + ": " + mysql::Describe(e));
  }
  if (start == 0) {
    std::string file;
    if (Status s = ReadMysqlStartPosition(config_, &start, &file); !s.ok()) return s;
  }
  file_sequence_ = static_cast<uint32_t>(start >> 32);
  std::string file = mysql::FileName(any_file_, file_sequence_);
  const uint32_t offset = static_cast<uint32_t>(start);
  if (Status s = binlog_.Open(config_.source, file, offset, config_.source.server_id,
                              /*blocking=*/true);
      !s.ok())
    return s;
  LOG_INFO("capture: reading the binlog of " << config_.source.RedactedDsn() << " from " << file
                                             << ":" << offset << " as server_id "
                                             << config_.source.server_id);
  return Status::Ok();
}

Status BinlogStream::Loop() {
  MARIADB_RPL_EVENT* ev = nullptr;
  while (!stop_.load()) {
    ev = binlog_.Fetch(ev);
    if (!ev) {
      if (stop_.load()) break;
      return binlog_.Error("reading the binlog");
    }
    Status s = Handle(*ev);
    if (!s.ok()) {
      mariadb_free_rpl_event(ev);
      return s;
    }
    if (pending_.size() >= 512) FlushPending();
    RecordConfirmed(false);
  }
  if (ev) mariadb_free_rpl_event(ev);
  return Status::Ok();
}

Status BinlogStream::Handle(const MARIADB_RPL_EVENT& ev) {
  progress_->messages++;
  const uint8_t type = static_cast<uint8_t>(ev.event_type);
  std::string_view raw(reinterpret_cast<const char*>(ev.raw_data) + ev.raw_data_ofs,
                       ev.raw_data_size - ev.raw_data_ofs);
  if (raw.size() < kHeaderLen) return Status::Error("binlog: short event");
  const size_t trailer = checksum_len_;
  if (raw.size() < kHeaderLen + trailer) return Status::Error("binlog: short event");
  std::string_view body = raw.substr(kHeaderLen, raw.size() - kHeaderLen - trailer);
  // Positions of events written in the current file; artificial events have none.
  const uint32_t end = ev.next_event_pos;
  const uint32_t begin = end >= ev.event_length ? end - ev.event_length : 0;
  if (end) {
    Lsn pos = mysql::PositionFrom(file_sequence_, end);
    if (pos > progress_->received) progress_->received = pos;
    if (pos > progress_->server_wal_end) progress_->server_wal_end = pos;
  }
  switch (type) {
    case kRotateEvent: {
      if (body.size() < 8) return Status::Error("binlog: short rotate event");
      std::string next(body.substr(8));
      file_sequence_ = mysql::FileSequence(next);
      any_file_ = next;
      return Status::Ok();
    }
    case kFormatDescription:
      // binlog version (2), server version (50), created (4), header length (1), then one
      // post-header length per event type, then the checksum algorithm (1).
      if (body.size() < 57) return Status::Error("binlog: short format description");
      post_header_ = std::string(body.substr(57, body.size() - 57));
      return Status::Ok();
    case kHeartbeatEvent:
      if (end)
        progress_->server_wal_end =
            std::max<Lsn>(progress_->server_wal_end, mysql::PositionFrom(file_sequence_, end));
      FlushPending();
      return Status::Ok();
    case kMariaGtid:
    case kMysqlGtid:
    case kMysqlAnonymousGtid:
      return OnGroupStart(ev, type, body, begin);
    case kQueryEvent:
      return OnQuery(ev, body, begin, end);
    case kXidEvent:
      return OnCommit(begin, end);
    case kTableMapEvent:
      return OnTableMap(body);
    default:
      break;
  }
  RowsKind kind;
  bool v2;
  if (binlog::IsRowsEvent(type, &kind, &v2)) return OnRows(ev, type, body, begin);
  if (type >= 166 && type <= 171) {
    return Status::Error(
        "binlog: compressed row events (log_bin_compress = ON) are not "
        "read by stagesync: SET GLOBAL log_bin_compress = OFF");
  }
  return Status::Ok();
}

void BinlogStream::FlushPending() {
  while (!pending_.empty()) {
    if (queue_.Push(pending_, std::chrono::milliseconds(100))) return;
  }
}

Status RunMysqlCapture(const Config& config, Lsn start, EventQueue& queue,
                       const std::function<Lsn()>& durable_position,
                       const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
                       CaptureProgress* progress) {
  BinlogStream stream(config, queue, durable_position, stop, progress);
  Status s = stream.Run(start);
  await_consumer();
  stream.RecordConfirmed(/*force=*/true);
  return s;
}

}  // namespace stagesync::capture
