// Source-side checks and preparation for MySQL/MariaDB: binlog settings, grants, table keys,
// the heartbeat table and the recorded start position; and where the binlog stands now.
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <chrono>
#include <map>
#include <set>

#include "binlog_connection.h"
#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {
namespace {

using mysql::QualifiedIdent;
using mysql::QuoteIdent;
using mysql::QuoteLiteral;

using mysql::Exec;
using mysql::Query;

std::map<std::string, std::string> GlobalVariables(sql::Connection& conn) {
  std::map<std::string, std::string> out;
  for (auto& row :
       Query(conn,
             "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', "
             "'binlog_row_image', 'binlog_row_metadata', 'log_bin_compress', "
             "'server_id', 'binlog_expire_logs_seconds', 'expire_logs_days', "
             "'binlog_checksum', 'version', 'gtid_mode', 'gtid_current_pos')")) {
    out[AsciiLower(row[0])] = row[1];
  }
  return out;
}

Status SourceError(const std::string& what, const std::exception& e) {
  if (auto* s = dynamic_cast<const sql::SQLException*>(&e); s && mysql::IsConnectionLost(*s)) {
    return Status::Transient(what + ": " + mysql::Describe(e));
  }
  return Status::Error(what + ": " + mysql::Describe(e));
}

const char* const kStartTable = "stream_start";

}  // namespace

Status CheckMysqlSource(const Config& config, SourceCheck* check) {
  try {
    auto conn = mysql::Connect(config.source);
    auto vars = GlobalVariables(*conn);
    auto& problems = check->problems;
    auto want = [&](const char* name, const std::string& value, const std::string& fix) {
      if (AsciiLower(vars[name]) != AsciiLower(value)) {
        problems.push_back(std::string(name) + " is " +
                           (vars[name].empty() ? "unset" : "'" + vars[name] + "'") + ", needs '" +
                           value + "': " + fix);
      }
    };
    want("log_bin", "ON",
         "start the server with log_bin (in my.cnf: log_bin = mysql-bin) and restart it");
    want("binlog_format", "ROW",
         "SET GLOBAL binlog_format = 'ROW', and binlog_format = ROW in my.cnf");
    want("binlog_row_image", "FULL",
         "SET GLOBAL binlog_row_image = 'FULL', and binlog_row_image = FULL in my.cnf");
    if (vars.count("binlog_row_metadata")) {
      want("binlog_row_metadata", "FULL",
           "SET GLOBAL binlog_row_metadata = 'FULL', and binlog_row_metadata = FULL in my.cnf "
           "(stagesync reads column names, signedness and charsets from it, so renamed and "
           "added columns are followed exactly)");
    } else {
      problems.push_back(
          "the server has no binlog_row_metadata (MariaDB 10.5+ or MySQL 8.0.1+ "
          "needed): upgrade the source server");
    }
    if (vars.count("log_bin_compress") && AsciiLower(vars["log_bin_compress"]) == "on") {
      problems.push_back(
          "log_bin_compress is ON: SET GLOBAL log_bin_compress = OFF (stagesync "
          "reads uncompressed row events)");
    }
    if (vars["server_id"] == std::to_string(config.source.server_id)) {
      problems.push_back("source.server_id = " + std::to_string(config.source.server_id) +
                         " is the source server's own server_id: pick another number");
    }
    long long expire = std::atoll(vars["binlog_expire_logs_seconds"].c_str());
    if (expire == 0) expire = std::atoll(vars["expire_logs_days"].c_str()) * 86400;
    if (expire > 0 && expire < 3600) {
      problems.push_back("binlog_expire_logs_seconds = " + std::to_string(expire) +
                         ": binlogs are purged before a stopped capture could resume; SET GLOBAL "
                         "binlog_expire_logs_seconds = 604800 (a week)");
    } else if (expire > 0 && expire < 86400) {
      check->warnings.push_back("binlogs are kept only " + std::to_string(expire) +
                                " s: a capture stopped longer than that cannot resume");
    }

    std::string grants;
    for (auto& row : Query(*conn, "SHOW GRANTS FOR CURRENT_USER()")) grants += row[0] + "\n";
    const std::string upper = [&] {
      std::string u = grants;
      for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    }();
    bool all = upper.find("GRANT ALL PRIVILEGES ON *.*") != std::string::npos;
    bool slave = all || upper.find("REPLICATION SLAVE") != std::string::npos;
    bool client = all || upper.find("REPLICATION CLIENT") != std::string::npos ||
                  upper.find("BINLOG MONITOR") != std::string::npos;
    if (!slave || !client) {
      auto who = Query(*conn, "SELECT CURRENT_USER()");
      std::string user = who.empty() ? "the user" : who[0][0];
      auto at = user.rfind('@');
      std::string quoted = at == std::string::npos ? QuoteLiteral(user)
                                                   : QuoteLiteral(user.substr(0, at)) + "@" +
                                                         QuoteLiteral(user.substr(at + 1));
      problems.push_back("user " + user + " lacks replication rights: GRANT REPLICATION SLAVE, " +
                         (vars["version"].find("MariaDB") != std::string::npos
                              ? "BINLOG MONITOR"
                              : "REPLICATION CLIENT") +
                         " ON *.* TO " + quoted);
    }

    // Tables and their keys: a primary key, or a unique key over NOT NULL columns.
    auto columns = Query(*conn,
                         "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, IS_NULLABLE FROM "
                         "information_schema.COLUMNS WHERE TABLE_SCHEMA NOT IN ('mysql', "
                         "'information_schema', 'performance_schema', 'sys', 'stagesync') "
                         "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION");
    auto base = Query(*conn,
                      "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE FROM information_schema.TABLES "
                      "WHERE TABLE_TYPE = 'BASE TABLE'");
    std::map<std::string, std::string> engines;
    for (auto& row : base) engines[row[0] + "." + row[1]] = row[2];
    auto keys = Query(*conn,
                      "SELECT s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, "
                      "SUM(c.IS_NULLABLE = 'YES') FROM information_schema.STATISTICS s JOIN "
                      "information_schema.COLUMNS c USING (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME) "
                      "WHERE s.NON_UNIQUE = 0 GROUP BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME");
    std::set<std::string> keyed;
    for (auto& row : keys) {
      if (row[3] == "0") keyed.insert(row[0] + "." + row[1]);
    }
    std::map<std::string, SourceTable> tables;
    for (auto& row : columns) {
      std::string qualified = row[0] + "." + row[1];
      if (!engines.count(qualified) || !Selected(config, qualified)) continue;
      auto& t = tables[qualified];
      t.schema = row[0];
      t.name = row[1];
      t.columns.push_back(row[2]);
    }
    for (auto& [qualified, t] : tables) {
      if (!keyed.count(qualified)) {
        problems.push_back("table " + qualified +
                           " has neither a primary key nor a unique key over NOT NULL columns, "
                           "so its rows cannot be located on the target: ALTER TABLE " +
                           QualifiedIdent(t.schema, t.name) + " ADD PRIMARY KEY (...)");
      }
      const std::string engine = AsciiLower(engines[qualified]);
      if (engine != "innodb") {
        check->warnings.push_back("table " + qualified + " uses " + engines[qualified] +
                                  ", which has no transactions: its changes are captured as "
                                  "they are written, one statement at a time");
      }
      check->tables.push_back(std::move(t));
    }
    if (check->tables.empty()) {
      problems.push_back(
          "source.tables selects no table on the source (MySQL globs are "
          "database.table, e.g. tables = [\"shop.*\"])");
    }
  } catch (const std::exception& e) {
    return SourceError("source " + config.source.RedactedDsn(), e);
  }
  return Status::Ok();
}

Status PrepareMysqlSource(const Config& config, const SourceCheck&,
                          std::vector<std::string>* notes) {
  try {
    auto conn = mysql::Connect(config.source);
    Exec(*conn, std::string("CREATE DATABASE IF NOT EXISTS ") + QuoteIdent(kSourceSchema));
    Exec(*conn, "CREATE TABLE IF NOT EXISTS " + QualifiedIdent(kSourceSchema, kHeartbeatTable) +
                    " (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL) ENGINE=InnoDB");
    Exec(*conn, "INSERT IGNORE INTO " + QualifiedIdent(kSourceSchema, kHeartbeatTable) +
                    " VALUES (1, UTC_TIMESTAMP(6))");
    Exec(*conn, "CREATE TABLE IF NOT EXISTS " + QualifiedIdent(kSourceSchema, kCaptureLiveTable) +
                    " (stream VARCHAR(64) PRIMARY KEY, lag_seconds DOUBLE NOT NULL, live_at "
                    "DATETIME(6) NOT NULL) ENGINE=InnoDB");
    Exec(*conn, "CREATE TABLE IF NOT EXISTS " + QualifiedIdent(kSourceSchema, kStartTable) +
                    " (stream VARCHAR(64) PRIMARY KEY, file VARCHAR(255) NOT NULL, pos BIGINT "
                    "NOT NULL, gtid TEXT, created_at DATETIME(6) NOT NULL, confirmed BIGINT "
                    "UNSIGNED NOT NULL DEFAULT 0) ENGINE=InnoDB");
    auto have = Query(*conn, "SELECT file, pos FROM " + QualifiedIdent(kSourceSchema, kStartTable) +
                                 " WHERE stream = " + QuoteLiteral(config.source.slot));
    if (have.empty()) {
      // The binlog end after the setup tables exist: changes committed from here on reach
      // the target.
      auto master = Query(*conn, "SHOW MASTER STATUS");
      if (master.empty())
        return Status::Usage("source: SHOW MASTER STATUS is empty: enable log_bin");
      std::string gtid;
      try {
        auto g = Query(*conn, "SELECT @@global.gtid_binlog_pos");
        if (!g.empty()) gtid = g[0][0];
      } catch (const sql::SQLException&) {
        // MySQL: no gtid_binlog_pos; file:pos is what is used.
      }
      Exec(*conn, "INSERT INTO " + QualifiedIdent(kSourceSchema, kStartTable) +
                      " (stream, file, pos, gtid, created_at) VALUES (" +
                      QuoteLiteral(config.source.slot) + ", " + QuoteLiteral(master[0][0]) + ", " +
                      master[0][1] + ", " + QuoteLiteral(gtid) + ", UTC_TIMESTAMP(6))");
      notes->push_back("recorded start position " + master[0][0] + ":" + master[0][1] +
                       (gtid.empty() ? "" : " (GTID " + gtid + ")") +
                       ": changes committed from here on will reach the target");
    }
  } catch (const std::exception& e) {
    return SourceError("source setup failed", e);
  }
  return Status::Ok();
}

Status TeardownMysqlSource(const Config& config, std::vector<std::string>* notes) {
  try {
    auto conn = mysql::Connect(config.source);
    auto used = Query(*conn, "SELECT IS_USED_LOCK(" + QuoteLiteral(MysqlStreamLock(config)) + ")");
    if (!used.empty() && !used[0][0].empty()) {
      return Status::Usage("stream " + config.source.slot + " is being captured (connection " +
                           used[0][0] + "): stop `stagesync run` first");
    }
    Exec(*conn, std::string("DROP DATABASE IF EXISTS ") + QuoteIdent(kSourceSchema));
    notes->push_back(std::string("dropped database ") + kSourceSchema +
                     " (heartbeat and start position) on the source");
  } catch (const std::exception& e) {
    return SourceError("source teardown failed", e);
  }
  return Status::Ok();
}

Status ReadMysqlSourcePosition(const Config& config, SourcePosition* out) {
  try {
    auto conn = mysql::Connect(config.source);
    auto master = Query(*conn, "SHOW MASTER STATUS");
    if (!master.empty()) {
      out->binlog_file = master[0][0];
      out->current = mysql::PositionFrom(mysql::FileSequence(master[0][0]),
                                         static_cast<uint32_t>(std::stoul(master[0][1])));
    }
    for (auto& row : Query(*conn, "SHOW BINARY LOGS")) {
      out->binlog_sizes.emplace_back(mysql::FileSequence(row[0]), std::stoull(row[1]));
    }
    auto now = Query(*conn, "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)");
    out->source_now = std::stoll(now[0][0]);
    try {
      auto start =
          Query(*conn, "SELECT file, pos FROM " + QualifiedIdent(kSourceSchema, kStartTable) +
                           " WHERE stream = " + QuoteLiteral(config.source.slot));
      out->slot_exists = !start.empty();
    } catch (const sql::SQLException&) {
      out->slot_exists = false;  // no stagesync database: setup has not run
    }
    auto used = Query(*conn, "SELECT IS_USED_LOCK(" + QuoteLiteral(MysqlStreamLock(config)) + ")");
    out->slot_active = !used.empty() && !used[0][0].empty();
  } catch (const std::exception& e) {
    return SourceError("source", e);
  }
  return Status::Ok();
}

// The start position setup recorded for this stream, as an Lsn; 0 if none.
Status ReadMysqlStartPosition(const Config& config, Lsn* out, std::string* file) {
  try {
    auto conn = mysql::Connect(config.source);
    auto start =
        Query(*conn, "SELECT file, pos FROM " + QualifiedIdent(kSourceSchema, kStartTable) +
                         " WHERE stream = " + QuoteLiteral(config.source.slot));
    if (start.empty()) {
      return Status::Usage("no start position recorded for stream " + config.source.slot +
                           " on the source: run `stagesync setup`");
    }
    *file = start[0][0];
    *out = mysql::PositionFrom(mysql::FileSequence(start[0][0]),
                               static_cast<uint32_t>(std::stoul(start[0][1])));
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() == 1146 || e.getErrorCode() == 1049) {
      return Status::Usage("the source has no stagesync database: run `stagesync setup`");
    }
    return SourceError("source", e);
  }
  return Status::Ok();
}

Status RecordMysqlStartPosition(const Config& config, const std::string& file, uint32_t offset) {
  try {
    auto conn = mysql::Connect(config.source);
    Exec(*conn, "UPDATE " + QualifiedIdent(kSourceSchema, kStartTable) +
                    " SET file = " + QuoteLiteral(file) + ", pos = " + std::to_string(offset) +
                    ", gtid = NULL, confirmed = 0, created_at = UTC_TIMESTAMP(6) WHERE stream = " +
                    QuoteLiteral(config.source.slot));
  } catch (const std::exception& e) {
    return SourceError("recording the copy's position as the stream's start on the source", e);
  }
  return Status::Ok();
}

Status ReadMysqlConfirmedPosition(const Config& config, Lsn* out) {
  *out = 0;
  try {
    auto conn = mysql::Connect(config.source);
    auto rows = Query(*conn, "SELECT confirmed FROM " + QualifiedIdent(kSourceSchema, kStartTable) +
                                 " WHERE stream = " + QuoteLiteral(config.source.slot));
    if (!rows.empty()) *out = std::stoull(rows[0][0]);
  } catch (const std::exception& e) {
    return SourceError("source", e);
  }
  return Status::Ok();
}

void WriteMysqlConfirmedPosition(sql::Connection& conn, const Config& config, Lsn position) {
  Exec(conn, "UPDATE " + QualifiedIdent(kSourceSchema, kStartTable) + " SET confirmed = " +
                 std::to_string(position) + " WHERE stream = " + QuoteLiteral(config.source.slot) +
                 " AND confirmed < " + std::to_string(position));
}

Status PeekMysqlOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                    std::optional<TimestampUs>* commit_time) {
  commit_time->reset();
  Lsn start = applied;
  std::string any_file;
  if (start == 0) {
    if (Status s = ReadMysqlStartPosition(config, &start, &any_file); !s.ok()) return s;
  }
  size_t checksum_len = 4;
  try {
    auto conn = mysql::Connect(config.source);
    auto master = Query(*conn, "SHOW MASTER STATUS");
    if (master.empty()) return Status::Error("source: binary logging is off");
    any_file = master[0][0];
    auto checksum = Query(*conn, "SELECT @@global.binlog_checksum");
    checksum_len = !checksum.empty() && AsciiLower(checksum[0][0]) == "crc32" ? 4 : 0;
  } catch (const std::exception& e) {
    return SourceError("source", e);
  }
  // A non-blocking dump (server_id 0, like mysqlbinlog) from the applied position: the first
  // transaction touching a selected table (or the heartbeat) is the oldest unapplied one.
  BinlogConnection binlog;
  if (Status s = binlog.Open(config.source, mysql::FileName(any_file, start >> 32),
                             static_cast<uint32_t>(start), 0, /*blocking=*/false);
      !s.ok())
    return s;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  TimestampUs group_time = 0;
  MARIADB_RPL_EVENT* ev = nullptr;
  Status result;
  while ((ev = binlog.Fetch(ev)) != nullptr) {
    if (std::chrono::steady_clock::now() > deadline) {
      result = Status::Error("source: no answer from the binlog within the timeout");
      break;
    }
    const uint8_t type = static_cast<uint8_t>(ev->event_type);
    if (type == 162 || type == 33 || type == 34) {  // a transaction's GTID event
      group_time = static_cast<TimestampUs>(ev->timestamp) * 1000000;
      continue;
    }
    if (type != 19) continue;  // TABLE_MAP: table id (6), flags (2), db, table
    std::string_view raw(reinterpret_cast<const char*>(ev->raw_data) + ev->raw_data_ofs,
                         ev->raw_data_size - ev->raw_data_ofs);
    if (raw.size() < 19 + checksum_len + 10) continue;
    std::string_view body = raw.substr(19, raw.size() - 19 - checksum_len);
    size_t db_len = static_cast<uint8_t>(body[8]);
    if (body.size() < 11 + db_len) continue;
    std::string db(body.substr(9, db_len));
    size_t table_len = static_cast<uint8_t>(body[10 + db_len]);
    std::string table(body.substr(11 + db_len, std::min(table_len, body.size() - 11 - db_len)));
    if (Selected(config, db + "." + table) || (db == kSourceSchema && table == kHeartbeatTable)) {
      *commit_time = group_time ? group_time : static_cast<TimestampUs>(ev->timestamp) * 1000000;
      break;
    }
  }
  if (ev) mariadb_free_rpl_event(ev);
  if (result.ok() && !*commit_time && binlog.failed()) result = binlog.Error("reading the binlog");
  return result;
}

HeartbeatBeat MysqlHeartbeat(const Config& config) {
  std::shared_ptr<sql::Connection> conn;
  try {
    conn = mysql::Connect(config.source);
  } catch (const std::exception& e) {
    throw std::runtime_error(mysql::Describe(e));
  }
  const std::string sql = "INSERT INTO " + QualifiedIdent(kSourceSchema, kHeartbeatTable) +
                          " VALUES (1, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE ts = VALUES(ts)";
  return [conn, sql] {
    try {
      Exec(*conn, sql);
    } catch (const std::exception& e) {
      throw std::runtime_error(mysql::Describe(e));
    }
  };
}

}  // namespace stagesync::capture
