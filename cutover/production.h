// Production's side of the cutover: fencing its writes, writing the marker that proves the
// drain, and reading its sequences. One implementation per source engine.
#pragma once

#include <cppconn/connection.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"

namespace stagesync::cutover {

// A source counter that the target must not fall behind: a PostgreSQL sequence (owned by a
// column, or free-standing) or a MySQL table's AUTO_INCREMENT.
struct SourceCounter {
  std::string schema, name;           // the sequence; MySQL: the table
  std::string table, column;          // the owning table and column ("" for a free sequence)
  std::optional<int64_t> last_value;  // the last value handed out (nullopt: none yet)
};

class Production {
 public:
  // Connects (throws with a message naming the source).
  static std::unique_ptr<Production> Open(const Config& config);
  virtual ~Production() = default;

  // What would stop the fence or the marker from working (privileges), one line each.
  virtual std::vector<std::string> CheckPrivileges() = 0;
  // Makes production read-only for applications and ends their sessions (all but ours, or
  // only those of cutover.fence_roles); returns what was done. Throws on failure.
  virtual std::string Fence() = 0;
  // Restores the setting Fence() changed. Throws on failure.
  virtual std::string Unfence() = 0;
  // Writes the marker through the source; returns the position at or after which the applied
  // position proves that everything committed before it is in the target.
  virtual Lsn WriteMarker() = 0;
  // The counters of the selected tables (and free sequences in their schemas).
  virtual std::vector<SourceCounter> Counters(const std::vector<TableShape>& tables) = 0;
};

// MySQL's AUTO_INCREMENT columns in `schemas` and each table's next value, in one catalog
// query (information_schema is slow table by table, and this runs while production is fenced).
struct AutoIncrement {
  std::string schema, table, column;
  int64_t next = 0;
};
std::vector<AutoIncrement> MysqlAutoIncrements(sql::Connection& conn,
                                               const std::set<std::string>& schemas);

// Runs `command` with /bin/sh, its output on our stderr; returns its exit status (127 if it
// could not start). `env` adds variables (NAME=value).
int RunShell(const std::string& command, const std::vector<std::string>& env);

}  // namespace stagesync::cutover
