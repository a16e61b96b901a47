#include "stagesync/debezium.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <unordered_map>

#include "debezium_json.h"
#include "debezium_source.h"
#include "debezium_types.h"
#include "stagesync/topics.h"

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

  std::shared_ptr<Shape> ShapeFor(const RelationPtr& relation, const std::string& topic) {
    auto it = shapes.find(relation->id);
    if (it != shapes.end() && it->second.relation == relation) return it->second.shape;
    const SourceRelation& rel = *relation;
    auto s = std::make_shared<Shape>();
    for (size_t i = 0; i < rel.columns.size(); ++i) {
      s->types.push_back(
          TypeForPostgres(rel.columns[i].type_oid, rel.columns[i].type_modifier, types));
      // With REPLICA IDENTITY FULL every column is flagged: no key, as for Debezium's keyless
      // tables.
      if (rel.columns[i].part_of_key && rel.replica_identity != 'f')
        s->key.push_back(static_cast<int>(i));
    }
    rapidjson::StringBuffer kb;
    JsonWriter kw(kb);
    kw.StartObject();
    Key(kw, "type");
    kw.String("struct");
    Key(kw, "fields");
    kw.StartArray();
    for (int k : s->key) WriteFieldSchema(kw, s->types[k], false, rel.columns[k].name);
    kw.EndArray();
    Key(kw, "optional");
    kw.Bool(false);
    Key(kw, "name");
    Str(kw, topic + ".Key");
    kw.EndObject();
    s->key_schema.assign(kb.GetString(), kb.GetSize());

    auto row_struct = [&](JsonWriter& w, const char* field) {
      w.StartObject();
      Key(w, "type");
      w.String("struct");
      Key(w, "fields");
      w.StartArray();
      for (size_t i = 0; i < rel.columns.size(); ++i) {
        bool is_key = std::find(s->key.begin(), s->key.end(), static_cast<int>(i)) != s->key.end();
        WriteFieldSchema(w, s->types[i], !is_key, rel.columns[i].name);
      }
      w.EndArray();
      Key(w, "optional");
      w.Bool(true);
      Key(w, "name");
      Str(w, topic + ".Value");
      Key(w, "field");
      w.String(field);
      w.EndObject();
    };
    rapidjson::StringBuffer vb;
    JsonWriter w(vb);
    w.StartObject();
    Key(w, "type");
    w.String("struct");
    Key(w, "fields");
    w.StartArray();
    row_struct(w, "before");
    row_struct(w, "after");
    WriteSourceSchema(w, options);
    SimpleField(w, "string", false, "op");
    SimpleField(w, "int64", true, "ts_ms");
    SimpleField(w, "int64", true, "ts_us");
    SimpleField(w, "int64", true, "ts_ns");
    WriteTransactionBlockSchema(w);
    w.EndArray();
    Key(w, "optional");
    w.Bool(false);
    Key(w, "name");
    Str(w, topic + ".Envelope");
    Key(w, "version");
    w.Int(2);
    w.EndObject();
    s->value_schema.assign(vb.GetString(), vb.GetSize());
    shapes[rel.id] = CachedShape{relation, s};
    return s;
  }

  static void WriteTransactionBlockSchema(JsonWriter& w) {
    StructSchema(
        w,
        [&] {
          SimpleField(w, "string", false, "id");
          SimpleField(w, "int64", false, "total_order");
          SimpleField(w, "int64", false, "data_collection_order");
        },
        true, "event.block", 1, "transaction");
  }

  std::string TxnId(const TxnPosition& txn) const { return TransactionId(options, txn); }

  Status Value(const Shape& shape, const SourceRelation& rel, const Tuple* before,
               const Tuple* after, char op, Lsn lsn, const TxnPosition& txn, std::string* out,
               uint32_t binlog_row = 0) {
    Status status;
    auto row = [&](JsonWriter& w, const Tuple* t) {
      if (!t || t->empty()) {
        w.Null();
        return;
      }
      w.StartObject();
      for (size_t i = 0; i < rel.columns.size(); ++i) {
        Str(w, rel.columns[i].name);
        if (Status s = WriteValue(w, shape.types[i], (*t)[i]); !s.ok() && status.ok()) {
          status = Status::Error(rel.QualifiedName() + "." + rel.columns[i].name +
                                 " at lsn=" + FormatLsn(lsn) + ": " + s.message());
          w.Null();
        }
      }
      w.EndObject();
    };
    TimestampUs now = NowUs();
    *out = Envelope(
        options.schemas_enable,
        [&](JsonWriter& w) {
          w.RawValue(shape.value_schema.data(), shape.value_schema.size(), rapidjson::kObjectType);
        },
        [&](JsonWriter& w) {
          w.StartObject();
          Key(w, "before");
          row(w, before);
          Key(w, "after");
          row(w, after);
          Key(w, "source");
          WriteSource(w, options, rel, txn, lsn, binlog_row, last_commit);
          Key(w, "op");
          w.String(&op, 1);
          Key(w, "ts_ms");
          w.Int64(now / 1000);
          Key(w, "ts_us");
          w.Int64(now);
          Key(w, "ts_ns");
          w.Int64(now * 1000);
          Key(w, "transaction");
          if (txn.begin) {
            w.StartObject();
            Key(w, "id");
            Str(w, TxnId(txn));
            Key(w, "total_order");
            w.Int64(static_cast<int64_t>(txn.total_order));
            Key(w, "data_collection_order");
            w.Int64(static_cast<int64_t>(txn.data_collection_order));
            w.EndObject();
          } else {
            w.Null();
          }
          w.EndObject();
        });
    return status;
  }

  std::optional<std::string> KeyJson(const Shape& shape, const SourceRelation& rel,
                                     const Tuple& t) {
    if (shape.key.empty()) return std::nullopt;
    return Envelope(
        options.schemas_enable,
        [&](JsonWriter& w) {
          w.RawValue(shape.key_schema.data(), shape.key_schema.size(), rapidjson::kObjectType);
        },
        [&](JsonWriter& w) {
          w.StartObject();
          for (int k : shape.key) {
            Str(w, rel.columns[k].name);
            WriteValue(w, shape.types[k], t[k]);
          }
          w.EndObject();
        });
  }
};

Encoder::Encoder(EncoderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->types.decimal = impl_->options.decimal_mode == "string"   ? DecimalMode::kString
                         : impl_->options.decimal_mode == "double" ? DecimalMode::kDouble
                                                                   : DecimalMode::kPrecise;
  impl_->types.interval =
      impl_->options.interval_mode == "string" ? IntervalMode::kString : IntervalMode::kNumeric;
}
Encoder::~Encoder() = default;

std::string Encoder::TopicFor(const SourceRelation& rel) const {
  return topics::TableTopic(impl_->options.topic_prefix, rel.schema, rel.name);
}

Status Encoder::EncodeRow(const RowChange& c, const TxnPosition& txn,
                          std::vector<KafkaRecord>* out) {
  const SourceRelation& rel = *c.relation;
  const std::string topic = TopicFor(rel);
  auto shape = impl_->ShapeFor(c.relation, topic);
  auto key_of = [&](const Tuple& t) { return impl_->KeyJson(*shape, rel, t); };
  const Tuple* before = c.old_tuple.empty() ? nullptr : &c.old_tuple;
  bool moves_key = false;
  if (c.op == RowOp::kUpdate && before) {
    for (int k : shape->key)
      moves_key |= !(c.new_tuple[k].is_unchanged() || c.new_tuple[k] == (*before)[k]);
  }
  TxnPosition position = txn;  // each data record has its own place in the transaction
  auto emit = [&](char op, const Tuple* b, const Tuple* a, const Tuple& key_source) -> Status {
    KafkaRecord r;
    r.topic = topic;
    r.key = key_of(key_source);
    std::string value;
    if (Status s = impl_->Value(*shape, rel, b, a, op, c.lsn, position, &value, c.row); !s.ok())
      return s;
    position.total_order++;
    position.data_collection_order++;
    r.value = std::move(value);
    out->push_back(std::move(r));
    return Status::Ok();
  };
  auto tombstone = [&](const Tuple& key_source) {
    if (shape->key.empty()) return;  // nothing to compact without a key
    KafkaRecord t;
    t.topic = topic;
    t.key = key_of(key_source);
    out->push_back(std::move(t));
  };
  switch (c.op) {
    case RowOp::kInsert:
      return emit('c', nullptr, &c.new_tuple, c.new_tuple);
    case RowOp::kUpdate:
      if (moves_key) {
        // As Debezium: delete under the old key, tombstone, create under the new key.
        if (Status s = emit('d', before, nullptr, *before); !s.ok()) return s;
        auto new_key = key_of(c.new_tuple);
        if (new_key) out->back().headers.emplace_back("__debezium.newkey", *new_key);
        tombstone(*before);
        if (Status s = emit('c', nullptr, &c.new_tuple, c.new_tuple); !s.ok()) return s;
        auto old_key = key_of(*before);
        if (old_key) out->back().headers.emplace_back("__debezium.oldkey", *old_key);
        return Status::Ok();
      }
      return emit('u', before, &c.new_tuple, c.new_tuple);
    case RowOp::kDelete:
      if (Status s = emit('d', before, nullptr, c.old_tuple); !s.ok()) return s;
      tombstone(c.old_tuple);
      return Status::Ok();
  }
  return Status::Ok();
}

Status Encoder::EncodeTruncate(const TruncateChange& t, const TxnPosition& txn,
                               std::vector<KafkaRecord>* out) {
  for (const auto& rel : t.relations) {
    auto shape = impl_->ShapeFor(rel, TopicFor(*rel));
    KafkaRecord r;
    r.topic = TopicFor(*rel);
    std::string value;
    if (Status s = impl_->Value(*shape, *rel, nullptr, nullptr, 't', t.lsn, txn, &value); !s.ok())
      return s;
    r.value = std::move(value);
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

KafkaRecord Encoder::EncodeTransaction(bool begin, const TxnBegin& txn, Lsn lsn,
                                       const std::map<std::string, uint64_t>& counts) {
  KafkaRecord r;
  r.topic = topics::TransactionTopic(impl_->options.topic_prefix);
  const std::string id = impl_->TxnId(TxnPosition{&txn, 0, 0});
  const bool schemas = impl_->options.schemas_enable;
  r.key = Envelope(
      schemas,
      [](JsonWriter& w) {
        StructSchema(
            w, [&] { SimpleField(w, "string", false, "id"); }, false,
            "io.debezium.connector.common.TransactionMetadataKey", 1);
      },
      [&](JsonWriter& w) {
        StringObject(w, {{"id", id}});
      });
  uint64_t total = 0;
  for (const auto& [table, n] : counts) total += n;
  r.value = Envelope(
      schemas,
      [](JsonWriter& w) {
        StructSchema(
            w,
            [&] {
              SimpleField(w, "string", false, "status");
              SimpleField(w, "string", false, "id");
              SimpleField(w, "int64", true, "event_count");
              w.StartObject();
              Key(w, "type");
              w.String("array");
              Key(w, "items");
              StructSchema(
                  w,
                  [&] {
                    SimpleField(w, "string", false, "data_collection");
                    SimpleField(w, "int64", false, "event_count");
                  },
                  true, "event.collection", 1);
              Key(w, "optional");
              w.Bool(true);
              Key(w, "field");
              w.String("data_collections");
              w.EndObject();
              SimpleField(w, "int64", false, "ts_ms");
            },
            false, "io.debezium.connector.common.TransactionMetadataValue", 1);
      },
      [&](JsonWriter& w) {
        w.StartObject();
        Key(w, "status");
        w.String(begin ? "BEGIN" : "END");
        Key(w, "id");
        Str(w, id);
        Key(w, "event_count");
        if (begin) {
          w.Null();
        } else {
          w.Int64(static_cast<int64_t>(total));
        }
        Key(w, "data_collections");
        if (begin) {
          w.Null();
        } else {
          w.StartArray();
          for (const auto& [table, n] : counts) {
            w.StartObject();
            Key(w, "data_collection");
            Str(w, table);
            Key(w, "event_count");
            w.Int64(static_cast<int64_t>(n));
            w.EndObject();
          }
          w.EndArray();
        }
        Key(w, "ts_ms");
        w.Int64(txn.commit_time / 1000);
        w.EndObject();
      });
  (void)lsn;
  return r;
}

void Encoder::SetLastCommit(Lsn commit_lsn) {
  impl_->last_commit = commit_lsn;
}

KafkaRecord Encoder::EncodeHeartbeat(TimestampUs now) {
  KafkaRecord r;
  r.topic = topics::HeartbeatTopic(impl_->options.topic_prefix);
  const bool schemas = impl_->options.schemas_enable;
  r.key = Envelope(
      schemas,
      [](JsonWriter& w) {
        StructSchema(
            w, [&] { SimpleField(w, "string", false, "serverName"); }, false,
            "io.debezium.connector.common.ServerNameKey", 1);
      },
      [&](JsonWriter& w) {
        StringObject(w, {{"serverName", impl_->options.topic_prefix}});
      });
  r.value = Envelope(
      schemas,
      [](JsonWriter& w) {
        StructSchema(
            w, [&] { SimpleField(w, "int64", false, "ts_ms"); }, false,
            "io.debezium.connector.common.Heartbeat", 1);
      },
      [&](JsonWriter& w) {
        w.StartObject();
        Key(w, "ts_ms");
        w.Int64(now / 1000);
        w.EndObject();
      });
  return r;
}

}  // namespace stagesync::debezium
