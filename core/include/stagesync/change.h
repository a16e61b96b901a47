// The change model every stage agrees on: transactions of row changes, each carrying its
// source position. Values travel in PostgreSQL text format, which is exact for every type.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stagesync {

// The database engines a source or target can be (source.kind, target.kind).
enum class Engine : uint8_t { kPostgres, kMysql };

// A PostgreSQL WAL position. Ordered; 0 means "none".
using Lsn = uint64_t;
std::string FormatLsn(Lsn lsn);                      // "16/B374D848"
std::optional<Lsn> ParseLsn(std::string_view text);  // inverse of FormatLsn
// A position for messages: PostgreSQL "lsn=16/B374D848"; MySQL sources keep the binlog file's
// sequence number in the high half ("binlog.000003:1234", the file's base name as last seen
// through SetBinlogBaseName, "binlog" until then).
std::string DescribePosition(Engine source, Lsn lsn);
// The source's binlog base name ("binlog", "mysql-bin"), from any of its file names.
void SetBinlogBaseName(std::string_view any_file_name);

// Microseconds since the Unix epoch.
using TimestampUs = int64_t;
TimestampUs NowUs();

struct SourceColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool part_of_key = false;  // in the replica identity
};

// A selected table as a catalog describes it: name and columns in attribute order.
struct TableShape {
  std::string schema;
  std::string name;
  std::vector<std::string> columns;
  std::string QualifiedName() const { return schema + "." + name; }
};

// A source table's shape as the source described it. Replaced, never mutated, when the
// source announces a schema change, so holders of an old pointer keep a consistent view.
struct SourceRelation {
  uint32_t id = 0;
  std::string schema;
  std::string name;
  char replica_identity = 'd';  // d default(pk), n nothing, f full, i index
  std::vector<SourceColumn> columns;
  std::string QualifiedName() const { return schema + "." + name; }
};
using RelationPtr = std::shared_ptr<const SourceRelation>;

// stagesync's own schema on the source, and its heartbeat table there: capture writes it so
// positions move on an idle source, and the cutover writes its marker through it. Its rows
// move positions only; they are never published or applied as data.
inline constexpr const char* kSourceSchema = "stagesync";
inline constexpr const char* kHeartbeatTable = "heartbeat";
inline bool IsHeartbeat(const SourceRelation& rel) {
  return rel.schema == kSourceSchema && rel.name == kHeartbeatTable;
}

struct Value {
  enum class Kind : uint8_t { kNull, kText, kUnchanged };  // kUnchanged: TOAST not sent
  Kind kind = Kind::kNull;
  std::string text;

  static Value Null() { return Value{}; }
  static Value Unchanged() { return Value{Kind::kUnchanged, {}}; }
  static Value Text(std::string t) { return Value{Kind::kText, std::move(t)}; }
  bool is_null() const { return kind == Kind::kNull; }
  bool is_unchanged() const { return kind == Kind::kUnchanged; }
  bool operator==(const Value&) const = default;
};
using Tuple = std::vector<Value>;  // one entry per relation column, in relation order

enum class RowOp : uint8_t { kInsert, kUpdate, kDelete };

struct RowChange {
  RowOp op = RowOp::kInsert;
  RelationPtr relation;
  Lsn lsn = 0;      // position of this change in the source WAL
  Tuple old_tuple;  // update/delete: replica identity (key columns) or full old row; may be empty
  bool old_is_key_only = true;
  Tuple new_tuple;   // insert/update
  uint32_t row = 0;  // MySQL: index of the row in its binlog rows event
};

// An update's columns the source left out because they did not change (TOAST values
// pgoutput marks 'u', columns a MySQL minimal row image omits) take their value from the old
// row the change carries, when it carries one (REPLICA IDENTITY FULL flattens toasted values
// into it). Only real values are taken: a NULL in a key-only old row means "not sent", and an
// unchanged TOAST value is never NULL. Nothing is ever invented.
void FillUnchangedFromOld(RowChange& change);

struct TruncateChange {
  std::vector<RelationPtr> relations;
  bool cascade = false;
  bool restart_identity = false;
  Lsn lsn = 0;
};

struct TxnBegin {
  uint32_t xid = 0;
  Lsn final_lsn = 0;  // start of the commit record (MySQL: of the transaction's first event)
  TimestampUs commit_time = 0;
  // MySQL/MariaDB sources: where the transaction is in the binlog, for Debezium's source block.
  std::string binlog_file;  // "binlog.000003"
  std::string gtid;         // "0-1-42" (MariaDB) when the server writes GTIDs
  uint32_t server_id = 0;
  uint32_t thread = 0;  // 0: unknown
};

struct TxnCommit {
  Lsn commit_lsn = 0;  // start of the commit record
  Lsn end_lsn = 0;     // end of the commit record: the transaction's position once applied
  TimestampUs commit_time = 0;
};

// A logical decoding message (pg_logical_emit_message), used for cutover markers.
struct SourceMessage {
  bool transactional = false;
  Lsn lsn = 0;
  std::string prefix;
  std::string content;
};

using ChangeEvent = std::variant<TxnBegin, RowChange, TruncateChange, TxnCommit, SourceMessage>;

// Rough in-memory size of an event, for bounding queues.
size_t ApproximateSize(const ChangeEvent& event);

}  // namespace stagesync
