// Debezium-compatible JSON (Kafka Connect JsonConverter, schemas on or off): encodes our
// change events as Debezium's PostgreSQL connector does, and decodes records written by
// stagesync or by real Debezium back into exact PostgreSQL text values.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/status.h"

namespace stagesync::debezium {

struct EncoderOptions {
  std::string topic_prefix = "stagesync";
  std::string database;                    // source.db
  bool schemas_enable = true;              // JsonConverter schemas.enable
  std::string decimal_mode = "precise";    // precise | string | double
  std::string interval_mode = "numeric";   // numeric | string
  Engine source_kind = Engine::kPostgres;  // which connector's source block
};

// One Kafka record. A value of nullopt is a tombstone (Kafka null value).
struct KafkaRecord {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where an event sits in its source transaction (the envelope's `transaction` block).
struct TxnPosition {
  const TxnBegin* begin = nullptr;
  uint64_t total_order = 0;            // 1-based within the transaction
  uint64_t data_collection_order = 0;  // 1-based within the table
};

// Keeps each table's schema JSON for its newest relation (held shared, so a re-sent relation,
// whatever its address, gets a schema of its own). Not thread-safe.
class Encoder {
 public:
  explicit Encoder(EncoderOptions options);
  ~Encoder();
  // The data event for a row change; after a delete also its tombstone. A key change is
  // encoded as Debezium does: delete (old key) + tombstone + create (new key).
  Status EncodeRow(const RowChange& change, const TxnPosition& txn, std::vector<KafkaRecord>* out);
  // One `t` event per truncated table.
  Status EncodeTruncate(const TruncateChange& change, const TxnPosition& txn,
                        std::vector<KafkaRecord>* out);
  // BEGIN / END on <prefix>.transaction; `counts` is events per "schema.table" (END only).
  KafkaRecord EncodeTransaction(bool begin, const TxnBegin& txn, Lsn lsn,
                                const std::map<std::string, uint64_t>& counts);
  KafkaRecord EncodeHeartbeat(TimestampUs now);
  // The last commit before the next events (source.sequence[0], which orders events across
  // transactions; Debezium's consumers and ours deduplicate by it).
  void SetLastCommit(Lsn commit_lsn);
  std::string TopicFor(const SourceRelation& relation) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A decoded data record.
struct DecodedRecord {
  enum class Kind { kRow, kTombstone, kTruncate, kMessage, kOther };
  Kind kind = Kind::kOther;
  char op = 0;         // c r u d t m
  std::string schema;  // PG schema, or MySQL database
  std::string table;
  std::vector<std::string> columns;  // union of fields, in schema order
  std::optional<Tuple> before;       // by `columns`; absent fields are Value::Unchanged()
  std::optional<Tuple> after;
  std::vector<std::string> key_columns;
  Tuple key;
  // Source position: PostgreSQL lsn/txId, or MySQL file/pos/row; used to skip duplicates.
  Lsn lsn = 0;
  Lsn last_commit_lsn = 0;  // source.sequence[0]
  Lsn txn_commit_lsn = 0;   // the transaction's own commit LSN, from transaction.id "xid:lsn"
  int64_t total_order = 0;  // transaction.total_order, 0 when absent
  std::optional<int64_t> tx_id;
  std::string binlog_file;
  int64_t binlog_pos = 0;
  int64_t binlog_row = 0;
  TimestampUs source_time = 0;
  std::string connector;
};

// For records without schemas: the target column's type as format_type() spells it
// ("timestamp(3) without time zone"), if there is such a column.
using ColumnTypeLookup = std::function<std::optional<std::string>(
    const std::string& schema, const std::string& table, const std::string& column)>;

// Decodes a record (key and value JSON; value nullopt = tombstone). Errors name the field
// and why; nothing is guessed silently.
Status DecodeRecord(std::optional<std::string_view> key_json,
                    std::optional<std::string_view> value_json, const ColumnTypeLookup& lookup,
                    DecodedRecord* out);

}  // namespace stagesync::debezium
