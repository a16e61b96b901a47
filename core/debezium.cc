#include "stagesync/debezium.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <unordered_map>

#include "debezium_types.h"

namespace stagesync::debezium {
namespace {

constexpr const char* kVersion = "2.6.2.Final";  // the Debezium layout we follow

std::string Sequence(Lsn last_commit, Lsn lsn) {
  return std::string("[") + (last_commit ? "\"" + std::to_string(last_commit) + "\"" : "null") +
         ",\"" + std::to_string(lsn) + "\"]";
}

void Key(JsonWriter& w, const char* k) {
  w.Key(k);
}
void Str(JsonWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Writes {"schema": ..., "payload": ...} or just the payload, as schemas.enable says.
template <typename SchemaFn, typename PayloadFn>
std::string Envelope(bool schemas, SchemaFn schema, PayloadFn payload) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  if (schemas) {
    w.StartObject();
    Key(w, "schema");
    schema(w);
    Key(w, "payload");
    payload(w);
    w.EndObject();
  } else {
    payload(w);
  }
  return std::string(buf.GetString(), buf.GetSize());
}

void SimpleField(JsonWriter& w, const char* type, bool optional, const char* field) {
  w.StartObject();
  Key(w, "type");
  w.String(type);
  Key(w, "optional");
  w.Bool(optional);
  Key(w, "field");
  w.String(field);
  w.EndObject();
}

// {"type":"struct","fields":[...],"optional":..,"name":..,["version":..],["field":..]}
template <typename FieldsFn>
void StructSchema(JsonWriter& w, FieldsFn fields, bool optional, const char* name, int version,
                  const char* field = nullptr) {
  w.StartObject();
  Key(w, "type");
  w.String("struct");
  Key(w, "fields");
  w.StartArray();
  fields();
  w.EndArray();
  Key(w, "optional");
  w.Bool(optional);
  Key(w, "name");
  w.String(name);
  if (version) {
    Key(w, "version");
    w.Int(version);
  }
  if (field) {
    Key(w, "field");
    w.String(field);
  }
  w.EndObject();
}

// A payload object of string members.
void StringObject(JsonWriter& w,
                  std::initializer_list<std::pair<const char*, std::string>> members) {
  w.StartObject();
  for (const auto& [k, v] : members) {
    Key(w, k);
    Str(w, v);
  }
  w.EndObject();
}

}  // namespace

struct Encoder::Impl {
  EncoderOptions options;
  TypeOptions types;
  // Per relation (shape): column types and the cached schema JSON.
  struct Shape {
    std::vector<FieldType> types;
    std::vector<int> key;
    std::string key_schema, value_schema;
  };
  std::unordered_map<const SourceRelation*, std::shared_ptr<Shape>> shapes;
  Lsn last_commit = 0;

  std::shared_ptr<Shape> ShapeFor(const SourceRelation& rel, const std::string& topic) {
    auto it = shapes.find(&rel);
    if (it != shapes.end()) return it->second;
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
    WriteSourceSchema(w);
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
    shapes.emplace(&rel, s);
    return s;
  }

  bool Mysql() const { return options.source_kind == "mysql"; }

  void WriteSourceSchema(JsonWriter& w) const {
    w.StartObject();
    Key(w, "type");
    w.String("struct");
    Key(w, "fields");
    w.StartArray();
    SimpleField(w, "string", false, "version");
    SimpleField(w, "string", false, "connector");
    SimpleField(w, "string", false, "name");
    SimpleField(w, "int64", false, "ts_ms");
    w.StartObject();
    Key(w, "type");
    w.String("string");
    Key(w, "optional");
    w.Bool(true);
    Key(w, "name");
    w.String("io.debezium.data.Enum");
    Key(w, "version");
    w.Int(1);
    Key(w, "parameters");
    w.StartObject();
    Key(w, "allowed");
    w.String("true,last,false,incremental");
    w.EndObject();
    Key(w, "default");
    w.String("false");
    Key(w, "field");
    w.String("snapshot");
    w.EndObject();
    SimpleField(w, "string", false, "db");
    SimpleField(w, "string", true, "sequence");
    SimpleField(w, "int64", true, "ts_us");
    SimpleField(w, "int64", true, "ts_ns");
    if (Mysql()) {
      // Debezium 2.6's MySQL connector: the binlog coordinates of the row.
      SimpleField(w, "string", true, "table");
      SimpleField(w, "int64", false, "server_id");
      SimpleField(w, "string", true, "gtid");
      SimpleField(w, "string", false, "file");
      SimpleField(w, "int64", false, "pos");
      SimpleField(w, "int32", false, "row");
      SimpleField(w, "int64", true, "thread");
      SimpleField(w, "string", true, "query");
    } else {
      SimpleField(w, "string", false, "schema");
      SimpleField(w, "string", false, "table");
      SimpleField(w, "int64", true, "txId");
      SimpleField(w, "int64", true, "lsn");
      SimpleField(w, "int64", true, "xmin");
    }
    w.EndArray();
    Key(w, "optional");
    w.Bool(false);
    Key(w, "name");
    w.String(Mysql() ? "io.debezium.connector.mysql.Source"
                     : "io.debezium.connector.postgresql.Source");
    Key(w, "field");
    w.String("source");
    w.EndObject();
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

  void WriteSource(JsonWriter& w, const SourceRelation& rel, const TxnPosition& txn, Lsn lsn,
                   uint32_t row) {
    TimestampUs commit = txn.begin ? txn.begin->commit_time : NowUs();
    w.StartObject();
    Key(w, "version");
    w.String(kVersion);
    Key(w, "connector");
    w.String(Mysql() ? "mysql" : "postgresql");
    Key(w, "name");
    Str(w, options.topic_prefix);
    Key(w, "ts_ms");
    w.Int64(commit / 1000);
    Key(w, "snapshot");
    w.String("false");
    Key(w, "db");
    Str(w, Mysql() ? rel.schema : options.database);
    Key(w, "sequence");
    if (Mysql()) {
      w.Null();
    } else {
      Str(w, Sequence(last_commit, lsn));
    }
    Key(w, "ts_us");
    w.Int64(commit);
    Key(w, "ts_ns");
    w.Int64(commit * 1000);
    if (Mysql()) {
      const TxnBegin* b = txn.begin;
      Key(w, "table");
      Str(w, rel.name);
      Key(w, "server_id");
      w.Int64(b ? b->server_id : 0);
      Key(w, "gtid");
      if (b && !b->gtid.empty()) {
        Str(w, b->gtid);
      } else {
        w.Null();
      }
      Key(w, "file");
      Str(w, b ? b->binlog_file : "");
      Key(w, "pos");
      w.Int64(static_cast<int64_t>(lsn & 0xffffffffu));
      Key(w, "row");
      w.Int(static_cast<int>(row));
      Key(w, "thread");
      if (b && b->thread) {
        w.Int64(b->thread);
      } else {
        w.Null();
      }
      Key(w, "query");
      w.Null();
      w.EndObject();
      return;
    }
    Key(w, "schema");
    Str(w, rel.schema);
    Key(w, "table");
    Str(w, rel.name);
    Key(w, "txId");
    if (txn.begin) {
      w.Int64(txn.begin->xid);
    } else {
      w.Null();
    }
    Key(w, "lsn");
    w.Int64(static_cast<int64_t>(lsn));
    Key(w, "xmin");
    w.Null();
    w.EndObject();
  }

  // "<xid>:<commit LSN>": the commit LSN orders transactions for consumers and is the same
  // when a restart sends a transaction again.
  // MySQL: the GTID, or "file=…,pos=…" of the transaction's start, as Debezium writes it.
  std::string TxnId(const TxnPosition& txn) const {
    if (Mysql()) {
      if (txn.begin && !txn.begin->gtid.empty()) return txn.begin->gtid;
      return "file=" + (txn.begin ? txn.begin->binlog_file : std::string()) +
             ",pos=" + std::to_string(txn.begin ? txn.begin->final_lsn & 0xffffffffu : 0);
    }
    return std::to_string(txn.begin ? txn.begin->xid : 0) + ":" +
           std::to_string(txn.begin ? txn.begin->final_lsn : 0);
  }

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
          WriteSource(w, rel, txn, lsn, binlog_row);
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
  return impl_->options.topic_prefix + "." + rel.schema + "." + rel.name;
}

Status Encoder::EncodeRow(const RowChange& c, const TxnPosition& txn,
                          std::vector<KafkaRecord>* out) {
  const SourceRelation& rel = *c.relation;
  const std::string topic = TopicFor(rel);
  auto shape = impl_->ShapeFor(rel, topic);
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
    auto shape = impl_->ShapeFor(*rel, TopicFor(*rel));
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
  r.topic = impl_->options.topic_prefix + ".transaction";
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
  r.topic = "__debezium-heartbeat." + impl_->options.topic_prefix;
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
