// The MySQL/MariaDB binlog stream: a binlog dump as a replica with our server_id, events
// decoded by binlog_decoder and grouped into source transactions for the queue.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <map>
#include <thread>

#include "binlog_connection.h"
#include "binlog_decoder.h"
#include "binlog_query.h"
#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {

namespace {

using binlog::Charset;
using binlog::ClassifyQuery;
using binlog::QueryKind;
using binlog::RowsEvent;
using binlog::RowsKind;
using binlog::TableMap;

constexpr size_t kHeaderLen = 19;
constexpr uint8_t kQueryEvent = 2, kRotateEvent = 4, kFormatDescription = 15, kXidEvent = 16,
                  kTableMapEvent = 19, kHeartbeatEvent = 27, kMysqlGtid = 33,
                  kMysqlAnonymousGtid = 34, kMariaGtid = 162;

// A source table's shape as its latest table map gave it.
struct KnownTable {
  std::string signature;
  RelationPtr relation;
};

class BinlogStream {
 public:
  BinlogStream(const Config& config, EventQueue& queue, const std::function<Lsn()>& durable,
               const std::atomic<bool>& stop, CaptureProgress* progress)
      : config_(config), queue_(queue), durable_(durable), stop_(stop), progress_(progress) {}

  // Records what the consumer has durably taken, on the source (MySQL has no slot), at most
  // every second or when `force`d.
  void RecordConfirmed(bool force) {
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

  Status Run(Lsn start) {
    Status result = Connect(start);
    if (result.ok()) result = Loop();
    FlushPending();
    queue_.Close();
    return result;
  }

 private:
  Status Connect(Lsn start) {
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
        std::string cs = AsciiLower(collations->getString(2).asStdString());
        Charset c = cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" || cs == "ascii"
                        ? Charset::kUtf8
                    : cs == "latin1" ? Charset::kLatin1
                    : cs == "binary" ? Charset::kBinary
                                     : Charset::kUnsupported;
        charsets_[collations->getUInt(1)] = c;
      }
      std::unique_ptr<sql::ResultSet> master(st->executeQuery("SHOW MASTER STATUS"));
      if (!master->next()) return Status::Usage("source: binary logging is off (log_bin)");
      any_file_ = master->getString(1).asStdString();
      SetBinlogBaseName(any_file_);
      std::unique_ptr<sql::ResultSet> checksum(st->executeQuery("SELECT @@global.binlog_checksum"));
      if (checksum->next()) checksum_len_ = AsciiLower(checksum->getString(1)) == "crc32" ? 4 : 0;
    } catch (const sql::SQLException& e) {
      return Status::Transient("source " + config_.source.RedactedDsn() + ": " +
                               mysql::Describe(e));
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

  Status Loop() {
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

  Status Handle(const MARIADB_RPL_EVENT& ev) {
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

  size_t PostHeaderLen(uint8_t type) const {
    return type - 1u < post_header_.size() ? static_cast<uint8_t>(post_header_[type - 1]) : 8;
  }

  Status OnGroupStart(const MARIADB_RPL_EVENT& ev, uint8_t type, std::string_view body,
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
      gtid_ =
          std::to_string(domain) + "-" + std::to_string(ev.server_id) + "-" + std::to_string(seq);
      standalone_ = static_cast<uint8_t>(body[12]) & 1;
    } else {
      standalone_ = false;
    }
    return Status::Ok();
  }

  Status OnQuery(const MARIADB_RPL_EVENT& ev, std::string_view body, uint32_t begin, uint32_t end) {
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

  void EnsureBegun() {
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

  Status OnCommit(uint32_t begin, uint32_t end) {
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

  Status OnTableMap(std::string_view body) {
    TableMap map;
    if (Status s = binlog::ParseTableMap(body, PostHeaderLen(kTableMapEvent), &map); !s.ok())
      return s;
    const std::string qualified = map.database + "." + map.table;
    bool heartbeat = map.database == kSourceSchema && map.table == kHeartbeatTable;
    if (!heartbeat && !Selected(config_, qualified)) {
      maps_.erase(map.table_id);
      return Status::Ok();
    }
    if (!map.has_names()) {
      return Status::Error("binlog: the table map of " + qualified +
                           " has no column names: SET GLOBAL binlog_row_metadata = 'FULL'");
    }
    std::string signature(map.types.begin(), map.types.end());
    for (size_t i = 0; i < map.names.size(); ++i) {
      signature += "|" + map.names[i] + ":" + std::to_string(map.meta[i]) + ":" +
                   std::to_string(map.collations[i]) + (map.is_unsigned[i] ? "u" : "");
    }
    for (int k : map.primary_key) signature += "#" + std::to_string(k);
    auto& known = tables_[qualified];
    if (known.signature != signature) {
      auto rel = std::make_shared<SourceRelation>();
      rel->id = ++relation_ids_;
      rel->schema = map.database;
      rel->name = map.table;
      std::vector<int> key = map.primary_key;
      if (key.empty()) key = UniqueKey(map);
      rel->replica_identity = key.empty() ? 'f' : 'd';
      for (size_t i = 0; i < map.names.size(); ++i) {
        SourceColumn c;
        c.name = map.names[i];
        c.type_oid = binlog::PostgresTypeFor(map, i);
        c.type_modifier = binlog::PostgresTypmodFor(map, i);
        c.part_of_key = std::find(key.begin(), key.end(), static_cast<int>(i)) != key.end();
        rel->columns.push_back(std::move(c));
      }
      if (!known.signature.empty()) {
        LOG_INFO("capture: " << qualified << " changed shape on the source; now "
                             << rel->columns.size() << " columns");
      }
      known.signature = std::move(signature);
      known.relation = std::move(rel);
    }
    maps_[map.table_id] = {std::move(map), known.relation};
    return Status::Ok();
  }

  // A unique key over NOT NULL columns, for a table without a primary key.
  std::vector<int> UniqueKey(const TableMap& map) {
    std::vector<int> key;
    try {
      std::unique_ptr<sql::PreparedStatement> st(sql_->prepareStatement(
          "SELECT s.INDEX_NAME, s.COLUMN_NAME FROM information_schema.STATISTICS s WHERE "
          "s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 AND NOT EXISTS (SELECT 1 "
          "FROM information_schema.STATISTICS n JOIN information_schema.COLUMNS c USING "
          "(TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME) WHERE n.TABLE_SCHEMA = s.TABLE_SCHEMA AND "
          "n.TABLE_NAME = s.TABLE_NAME AND n.INDEX_NAME = s.INDEX_NAME AND c.IS_NULLABLE = "
          "'YES') ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX"));
      st->setString(1, map.database);
      st->setString(2, map.table);
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
      std::string index;
      while (rs->next()) {
        std::string name = rs->getString(1).asStdString();
        if (!index.empty() && name != index) break;
        index = name;
        std::string column = rs->getString(2).asStdString();
        int i = FindName(map.names, column,
                         [](const std::string& n) -> const std::string& { return n; });
        if (i >= 0) key.push_back(i);
      }
    } catch (const sql::SQLException& e) {
      LOG_WARN("capture: reading the unique keys of " << map.database << "." << map.table << ": "
                                                      << mysql::Describe(e));
    }
    return key;
  }

  Status OnRows(const MARIADB_RPL_EVENT& ev, uint8_t type, std::string_view body, uint32_t begin) {
    RowsEvent rows;
    if (Status s = binlog::ParseRowsEvent(type, body, PostHeaderLen(type), &rows); !s.ok())
      return s;
    auto it = maps_.find(rows.table_id);
    if (it == maps_.end()) return Status::Ok();  // a table we do not capture
    const auto& [map, relation] = it->second;
    if (!in_group_) {
      // No GTID event before it (an old server without GTIDs): the group starts here.
      in_group_ = true;
      group_start_ = mysql::PositionFrom(file_sequence_, begin);
      group_time_ = static_cast<TimestampUs>(ev.timestamp) * 1000000;
      group_server_id_ = ev.server_id;
    }
    EnsureBegun();
    const Lsn lsn = mysql::PositionFrom(file_sequence_, begin);
    auto lookup = [this](uint32_t id) {
      auto c = charsets_.find(id);
      return c == charsets_.end() ? Charset::kUnsupported : c->second;
    };
    std::string_view data = rows.rows;
    for (uint32_t row = 0; !data.empty(); ++row) {
      RowChange c;
      c.relation = relation;
      c.lsn = lsn;
      c.row = row;
      c.old_is_key_only = false;
      Status s;
      switch (rows.kind) {
        case RowsKind::kWrite:
          c.op = RowOp::kInsert;
          s = binlog::DecodeRow(map, rows.present, lookup, &data, &c.new_tuple);
          break;
        case RowsKind::kUpdate:
          c.op = RowOp::kUpdate;
          s = binlog::DecodeRow(map, rows.present, lookup, &data, &c.old_tuple);
          if (s.ok()) s = binlog::DecodeRow(map, rows.present_after, lookup, &data, &c.new_tuple);
          break;
        case RowsKind::kDelete:
          c.op = RowOp::kDelete;
          s = binlog::DecodeRow(map, rows.present, lookup, &data, &c.old_tuple);
          break;
      }
      if (!s.ok()) {
        return Status::Error(s.message() + " at " + mysql::FormatPosition(any_file_, lsn));
      }
      pending_.push_back(std::move(c));
    }
    return Status::Ok();
  }

  void FlushPending() {
    while (!pending_.empty()) {
      if (queue_.Push(pending_, std::chrono::milliseconds(100))) return;
    }
  }

  const Config& config_;
  EventQueue& queue_;
  const std::function<Lsn()>& durable_;
  const std::atomic<bool>& stop_;
  Lsn confirmed_ = 0;
  std::chrono::steady_clock::time_point last_confirm_;
  CaptureProgress* progress_;
  std::unique_ptr<sql::Connection> sql_;  // holds the stream lock; catalog lookups
  BinlogConnection binlog_;
  std::map<uint32_t, Charset> charsets_;
  std::string any_file_;  // a binlog file name, for its base name
  uint32_t file_sequence_ = 0;
  size_t checksum_len_ = 4;
  std::string post_header_;
  std::map<uint64_t, std::pair<TableMap, RelationPtr>> maps_;  // by table id
  std::map<std::string, KnownTable> tables_;                   // by db.table
  uint32_t relation_ids_ = 0;
  bool in_group_ = false, begun_ = false, standalone_ = false;
  Lsn group_start_ = 0;
  TimestampUs group_time_ = 0;
  uint32_t xid_ = 0;
  uint32_t group_server_id_ = 0, group_thread_ = 0;
  std::string gtid_;
  EventBatch pending_;
};

}  // namespace

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
