// The MySQL/MariaDB binlog stream, whose parts share this state: the session and event loop
// (mysql_capture.cc), transaction framing (mysql_capture_transactions.cc), table maps and
// rows (mysql_capture_rows.cc).
#pragma once

#include <cppconn/connection.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "binlog_connection.h"
#include "binlog_decoder.h"
#include "stagesync/capture.h"

namespace stagesync::capture {

// The common event header's length, and the event types the stream reads.
constexpr size_t kHeaderLen = 19;
constexpr uint8_t kQueryEvent = 2, kRotateEvent = 4, kFormatDescription = 15, kXidEvent = 16,
                  kTableMapEvent = 19, kHeartbeatEvent = 27, kMysqlGtid = 33,
                  kMysqlAnonymousGtid = 34, kMariaGtid = 162;

// A source table's shape as its latest table map gave it.
struct KnownTable {
  std::string signature;
  RelationPtr relation;
};

// Reads one binlog dump into source transactions on `queue`. It keeps references to what it
// is given: they must outlive it. Not thread-safe.
class BinlogStream {
 public:
  BinlogStream(const Config& config, EventQueue& queue, const std::function<Lsn()>& durable,
               const std::atomic<bool>& stop, CaptureProgress* progress)
      : config_(config), queue_(queue), durable_(durable), stop_(stop), progress_(progress) {}

  // Records what the consumer has durably taken, on the source (MySQL has no slot), at most
  // every second or when `force`d.
  void RecordConfirmed(bool force);

  Status Run(Lsn start);

 private:
  Status Connect(Lsn start);
  Status Loop();
  Status Handle(const MARIADB_RPL_EVENT& ev);
  size_t PostHeaderLen(uint8_t type) const {
    return type - 1u < post_header_.size() ? static_cast<uint8_t>(post_header_[type - 1]) : 8;
  }
  Status OnGroupStart(const MARIADB_RPL_EVENT& ev, uint8_t type, std::string_view body,
                      uint32_t begin);
  Status OnQuery(const MARIADB_RPL_EVENT& ev, std::string_view body, uint32_t begin, uint32_t end);
  void EnsureBegun();
  Status OnCommit(uint32_t begin, uint32_t end);
  Status OnTableMap(std::string_view body);
  // A unique key over NOT NULL columns, for a table without a primary key.
  std::vector<int> UniqueKey(const binlog::TableMap& map);
  Status OnRows(const MARIADB_RPL_EVENT& ev, uint8_t type, std::string_view body, uint32_t begin);
  void FlushPending();

  const Config& config_;
  EventQueue& queue_;
  const std::function<Lsn()>& durable_;
  const std::atomic<bool>& stop_;
  Lsn confirmed_ = 0;
  std::chrono::steady_clock::time_point last_confirm_;
  CaptureProgress* progress_;
  std::unique_ptr<sql::Connection> sql_;  // holds the stream lock; catalog lookups
  BinlogConnection binlog_;
  std::map<uint32_t, binlog::Charset> charsets_;
  std::string any_file_;  // a binlog file name, for its base name
  uint32_t file_sequence_ = 0;
  size_t checksum_len_ = 4;
  std::string post_header_;
  std::map<uint64_t, std::pair<binlog::TableMap, RelationPtr>> maps_;  // by table id
  std::map<std::string, KnownTable> tables_;                           // by db.table
  uint32_t relation_ids_ = 0;
  bool in_group_ = false, begun_ = false, standalone_ = false;
  Lsn group_start_ = 0;
  TimestampUs group_time_ = 0;
  uint32_t xid_ = 0;
  uint32_t group_server_id_ = 0, group_thread_ = 0;
  std::string gtid_;
  EventBatch pending_;
};

}  // namespace stagesync::capture
