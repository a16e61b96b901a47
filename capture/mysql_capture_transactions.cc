// The MySQL binlog stream's transaction framing: GTID events start a group, query events
// begin, commit or truncate, and the changes between become one source transaction.
#include "binlog_query.h"
#include "mysql_capture.h"
#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {

namespace {

using binlog::ClassifyQuery;
using binlog::QueryKind;

}  // namespace

Status BinlogStream::OnGroupStart(const MARIADB_RPL_EVENT& ev, uint8_t type, std::string_view body,
                                  uint32_t begin) {
  in_group_ = true;
  begun_ = false;
  group_start_ = mysql::PositionFrom(file_sequence_, begin);
  group_time_ = static_cast<TimestampUs>(ev.timestamp) * 1000000;
  group_server_id_ = ev.server_id;
  group_thread_ = 0;
  gtid_.clear();
  if (type == kMariaGtid && body.size() >= 13) {
    uint64_t seq = 0;
    uint32_t domain = 0;
    for (int i = 7; i >= 0; --i) seq = (seq << 8) | static_cast<uint8_t>(body[i]);
    for (int i = 11; i >= 8; --i) domain = (domain << 8) | static_cast<uint8_t>(body[i]);
    xid_ = static_cast<uint32_t>(seq);
    gtid_ = std::to_string(domain) + "-" + std::to_string(ev.server_id) + "-" + std::to_string(seq);
    standalone_ = static_cast<uint8_t>(body[12]) & 1;
  } else {
    standalone_ = false;
  }
  return Status::Ok();
}

Status BinlogStream::OnQuery(const MARIADB_RPL_EVENT& ev, std::string_view body, uint32_t begin,
                             uint32_t end) {
  // thread id (4), exec time (4), db length (1), error code (2), status vars length (2),
  // status vars, db, NUL, statement.
  if (body.size() < 13) return Status::Error("binlog: short query event");
  size_t db_len = static_cast<uint8_t>(body[8]);
  size_t vars_len = static_cast<uint8_t>(body[11]) | static_cast<uint8_t>(body[12]) << 8;
  size_t at = 13 + vars_len;
  if (body.size() < at + db_len + 1) return Status::Error("binlog: short query event");
  std::string db(body.substr(at, db_len));
  std::string_view statement = body.substr(at + db_len + 1);
  binlog::TruncatedTable table;
  switch (ClassifyQuery(statement, &table)) {
    case QueryKind::kBegin:
      group_thread_ = static_cast<uint8_t>(body[0]) | static_cast<uint8_t>(body[1]) << 8 |
                      static_cast<uint8_t>(body[2]) << 16 |
                      static_cast<uint32_t>(static_cast<uint8_t>(body[3])) << 24;
      return Status::Ok();
    case QueryKind::kCommit:
      return OnCommit(begin, end);
    case QueryKind::kWithinTransaction:
      return Status::Ok();
    case QueryKind::kTruncate: {
      const std::string schema = table.schema.empty() ? db : table.schema;
      const std::string& name = table.table;
      if (name.empty()) {
        LOG_WARN("capture: a TRUNCATE at "
                 << mysql::FormatPosition(any_file_, mysql::PositionFrom(file_sequence_, begin))
                 << " names no table stagesync can read, so the target keeps its rows: "
                 << statement.substr(0, 200));
      }
      if (Selected(config_, schema + "." + name)) {
        TruncateChange t;
        auto known = tables_.find(schema + "." + name);
        if (known != tables_.end()) {
          t.relations.push_back(known->second.relation);
        } else {
          auto rel = std::make_shared<SourceRelation>();
          rel->id = ++relation_ids_;
          rel->schema = schema;
          rel->name = name;
          t.relations.push_back(rel);
        }
        t.lsn = mysql::PositionFrom(file_sequence_, begin);
        EnsureBegun();
        pending_.push_back(std::move(t));
      }
      return OnCommit(begin, end);
    }
    case QueryKind::kOther:
      // DDL commits implicitly; the table maps that follow carry the new shape.
      (void)ev;
      return OnCommit(begin, end);
  }
  return Status::Ok();
}

void BinlogStream::EnsureBegun() {
  if (begun_) return;
  begun_ = true;
  TxnBegin b;
  b.xid = xid_;
  b.final_lsn = group_start_;
  b.commit_time = group_time_;
  b.binlog_file = any_file_;
  b.gtid = gtid_;
  b.server_id = group_server_id_;
  b.thread = group_thread_;
  pending_.emplace_back(std::in_place_type<TxnBegin>, std::move(b));
  progress_->last_received_commit_time = group_time_;
}

Status BinlogStream::OnCommit(uint32_t begin, uint32_t end) {
  if (begun_) {
    TxnCommit c;
    c.commit_lsn = mysql::PositionFrom(file_sequence_, begin);
    c.end_lsn = mysql::PositionFrom(file_sequence_, end);
    c.commit_time = group_time_;
    pending_.emplace_back(std::in_place_type<TxnCommit>, c);
    FlushPending();
  }
  in_group_ = begun_ = false;
  return Status::Ok();
}

}  // namespace stagesync::capture
