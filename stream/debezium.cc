// The Debezium encoder's data records: row changes (with the key's tombstones) and truncates,
// and the per-relation schemas they carry; debezium_metadata.cc writes the other records.
#include "stagesync/debezium.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "debezium_encoder.h"
#include "debezium_json.h"
#include "stagesync/topics.h"

namespace stagesync::debezium {

std::shared_ptr<Encoder::Impl::Shape> Encoder::Impl::ShapeFor(const RelationPtr& relation,
                                                              const std::string& topic) {
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

void Encoder::Impl::WriteTransactionBlockSchema(JsonWriter& w) {
  StructSchema(
      w,
      [&] {
        SimpleField(w, "string", false, "id");
        SimpleField(w, "int64", false, "total_order");
        SimpleField(w, "int64", false, "data_collection_order");
      },
      true, "event.block", 1, "transaction");
}

Status Encoder::Impl::Value(const Shape& shape, const SourceRelation& rel, const Tuple* before,
                            const Tuple* after, char op, Lsn lsn, const TxnPosition& txn,
                            std::string* out, uint32_t binlog_row) {
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

std::optional<std::string> Encoder::Impl::KeyJson(const Shape& shape, const SourceRelation& rel,
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

void Encoder::SetLastCommit(Lsn commit_lsn) {
  impl_->last_commit = commit_lsn;
}

}  // namespace stagesync::debezium
