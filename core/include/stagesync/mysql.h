// MySQL/MariaDB helpers every stage needs: the dsn, identifier quoting, SQL connections
// (mysql-connector-cpp) with pinned session settings, and binlog positions as Lsn values.
#pragma once

#include <cppconn/connection.h>
#include <cppconn/exception.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::mysql {

// mysql://user[:password]@host[:port][/database][?password=...]
struct Endpoint {
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string user = "root";
  std::string password;
  std::string database;
};
Status ParseDsn(const EndpointConfig& config, Endpoint* out);

std::string QuoteIdent(std::string_view ident);   // `a``b`
std::string QuoteLiteral(std::string_view text);  // 'it''s', backslashes doubled
std::string QualifiedIdent(std::string_view db, std::string_view table);

// Every stagesync SQL session holds the named lock kSessionLockPrefix + CONNECTION_ID().
inline constexpr const char* kSessionLockPrefix = "stagesync:session:";

// Opens a SQL connection: utf8mb4, time_zone '+00:00', sql_mode without NO_ZERO_DATE
// surprises; marked as stagesync's by the session lock above. Throws sql::SQLException with a
// message naming the endpoint (no password).
// `local_infile`: the client may send files for LOAD DATA LOCAL (copy's bulk load only: a
// server may ask for any file the client can read).
std::unique_ptr<sql::Connection> Connect(const EndpointConfig& config, bool local_infile = false);

// Every value as text ("" for NULL, which the callers here never need to tell apart).
using Rows = std::vector<std::vector<std::string>>;
Rows Query(sql::Connection& conn, const std::string& sql);
void Exec(sql::Connection& conn, const std::string& sql);

// One line for the user from a connector or std exception.
std::string Describe(const std::exception& e);
// Whether a connector error means the connection is gone (worth retrying).
bool IsConnectionLost(const sql::SQLException& e);

// A binlog position as an ordered Lsn: the file's sequence number in the high 32 bits, the
// offset in the low 32 (binlog files never exceed 4 GiB).
Lsn PositionFrom(uint32_t file_sequence, uint32_t offset);
// "binlog.000042" -> 42; 0 if the name has no numeric extension.
uint32_t FileSequence(std::string_view file_name);
// "binlog.000042" + Lsn -> "binlog.000042:1234" with the file sequence the Lsn holds.
std::string FileName(std::string_view any_file_name, uint32_t sequence);
std::string FormatPosition(std::string_view any_file_name, Lsn position);

}  // namespace stagesync::mysql
