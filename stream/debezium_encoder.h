// The Debezium encoder's state (Encoder::Impl): each relation's cached shape and schema JSON,
// shared by the data records (debezium.cc) and the transaction and heartbeat records.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "debezium_source.h"
#include "debezium_types.h"
#include "stagesync/debezium.h"

namespace stagesync::debezium {

struct Encoder::Impl {
  EncoderOptions options;
  TypeOptions types;
  // Per relation (shape): column types and the cached schema JSON.
  struct Shape {
    std::vector<FieldType> types;
    std::vector<int> key;
    std::string key_schema, value_schema;
  };
  // The newest shape per relation id, with the relation it was built from. The entry shares
  // ownership of that relation, so while it exists no other relation can be allocated at its
  // address: comparing pointers is an identity check. A re-sent relation (a new object, maybe
  // a new shape) never matches and replaces the entry, which keeps one entry per table.
  struct CachedShape {
    RelationPtr relation;
    std::shared_ptr<Shape> shape;
  };
  std::unordered_map<uint32_t, CachedShape> shapes;
  Lsn last_commit = 0;

  // The shape of `relation`, built (and cached) on its first event; `topic` names its schemas.
  std::shared_ptr<Shape> ShapeFor(const RelationPtr& relation, const std::string& topic);

  static void WriteTransactionBlockSchema(JsonWriter& w);

  std::string TxnId(const TxnPosition& txn) const { return TransactionId(options, txn); }

  // The data event's value JSON into `out`; fails, naming the column and position, on a value
  // its column's type cannot hold.
  Status Value(const Shape& shape, const SourceRelation& rel, const Tuple* before,
               const Tuple* after, char op, Lsn lsn, const TxnPosition& txn, std::string* out,
               uint32_t binlog_row = 0);

  // The key JSON of tuple `t`; nullopt for a table without a key.
  std::optional<std::string> KeyJson(const Shape& shape, const SourceRelation& rel, const Tuple& t);
};

}  // namespace stagesync::debezium
