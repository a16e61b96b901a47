// Decoding Debezium records (from stagesync or from real Debezium, schemas on or off).
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include "debezium_types.h"
#include "stagesync/debezium.h"
#include "stagesync/mysql.h"

namespace stagesync::debezium {
namespace {

using rapidjson::Value;  // JSON values; our row values are stagesync::Value

const Value* Member(const Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string StringOf(const Value* v) {
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : "";
}

bool Int64Of(const Value* v, int64_t* out) {
  if (!v) return false;
  if (v->IsInt64()) return *out = v->GetInt64(), true;
  if (v->IsUint64()) return *out = static_cast<int64_t>(v->GetUint64()), true;
  return false;
}

// Splits a JsonConverter message into (schema or null, payload).
Status Parse(std::string_view json, const char* what, rapidjson::Document* doc,
             const Value** schema, const Value** payload) {
  doc->Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
  if (doc->HasParseError()) {
    return Status::Error(std::string(what) + " is not valid JSON: " +
                         rapidjson::GetParseError_En(doc->GetParseError()) + " at offset " +
                         std::to_string(doc->GetErrorOffset()));
  }
  *schema = nullptr;
  *payload = doc;
  if (doc->IsObject() && doc->HasMember("payload") && doc->HasMember("schema")) {
    *schema = &(*doc)["schema"];
    *payload = &(*doc)["payload"];
    if ((*schema)->IsNull()) *schema = nullptr;
  }
  return Status::Ok();
}

// No table has more columns than this (MySQL's limit; PostgreSQL's is 1600): a record
// with more fields is malformed, and is rejected before it costs anything.
constexpr size_t kMaxFields = 4096;

// Field schemas of a struct schema, by field name.
std::vector<std::pair<std::string, const Value*>> StructFields(const Value* schema) {
  std::vector<std::pair<std::string, const Value*>> out;
  const Value* fields = schema ? Member(*schema, "fields") : nullptr;
  if (!fields || !fields->IsArray()) return out;
  for (const auto& f : fields->GetArray()) out.emplace_back(StringOf(Member(f, "field")), &f);
  return out;
}

const Value* FieldSchema(const std::vector<std::pair<std::string, const Value*>>& fields,
                         const std::string& name) {
  for (const auto& [n, s] : fields) {
    if (n == name) return s;
  }
  return nullptr;
}

Status ReadRow(const Value& row, const std::vector<std::pair<std::string, const Value*>>& fields,
               const DecodedRecord& rec, const ColumnTypeLookup& lookup,
               std::vector<std::string>* columns, Tuple* out) {
  if (!row.IsObject()) return Status::Error("row image is not an object");
  if (row.MemberCount() > kMaxFields || fields.size() > kMaxFields) {
    return Status::Error("row image has " +
                         std::to_string(std::max<size_t>(row.MemberCount(), fields.size())) +
                         " fields; no table has more than " + std::to_string(kMaxFields));
  }
  std::unordered_map<std::string_view, const Value*> schema_of;
  for (const auto& [n, f] : fields) schema_of.emplace(n, f);
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < columns->size(); ++i) index.emplace((*columns)[i], i);
  auto slot = [&](const std::string& name) -> stagesync::Value& {
    auto [it, added] = index.emplace(name, columns->size());
    if (added) columns->push_back(name);
    if (out->size() < columns->size()) out->resize(columns->size(), stagesync::Value::Unchanged());
    return (*out)[it->second];
  };
  std::unordered_set<std::string> present;
  for (const auto& m : row.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    FieldType type;
    if (auto fs = schema_of.find(name); fs != schema_of.end()) {
      type = TypeFromSchema(*fs->second);
    } else if (auto t = lookup ? lookup(rec.schema, rec.table, name) : std::nullopt) {
      type = TypeForPostgresName(*t);
    } else if (!fields.empty()) {
      return Status::Error("field " + name + " has no schema");
    } else {
      // Schemaless and the target has no such column: keep the JSON text (mapping decides).
      type = TypeForPostgresName("text");
    }
    stagesync::Value v;
    if (Status s = ReadValue(m.value, type, &v); !s.ok()) {
      return Status::Error("field " + name + ": " + s.message());
    }
    slot(name) = std::move(v);
    present.insert(std::move(name));
  }
  // With a schema, a field it lists but the payload leaves out is what JsonConverter reads
  // for it: the field's default, else null (a NOT NULL target column then refuses it, named).
  // Only the unavailable-value placeholder, or a field no schema speaks of, is "unchanged".
  for (const auto& [name, schema] : fields) {
    if (present.count(name)) continue;
    stagesync::Value v = stagesync::Value::Null();
    if (const Value* def = Member(*schema, "default"); def && !def->IsNull()) {
      if (Status s = ReadValue(*def, TypeFromSchema(*schema), &v); !s.ok())
        return Status::Error("field " + name + ": its schema default: " + s.message());
    }
    slot(name) = std::move(v);
  }
  return Status::Ok();
}

}  // namespace

Status DecodeRecord(std::optional<std::string_view> key_json,
                    std::optional<std::string_view> value_json, const ColumnTypeLookup& lookup,
                    DecodedRecord* rec) {
  *rec = DecodedRecord{};
  // Key: which columns identify the row.
  rapidjson::Document key_doc;
  const Value* key_schema = nullptr;
  const Value* key_payload = nullptr;
  if (key_json && !key_json->empty()) {
    if (Status s = Parse(*key_json, "key", &key_doc, &key_schema, &key_payload); !s.ok()) return s;
  }
  rapidjson::Document doc;
  const Value* schema = nullptr;
  const Value* payload = nullptr;
  bool tombstone = !value_json;
  if (!tombstone) {
    // A tombstone is a null value; an empty one is something else that lost its content.
    if (value_json->empty())
      return Status::Error("value is empty (a tombstone has a null value, not an empty one)");
    if (Status s = Parse(*value_json, "value", &doc, &schema, &payload); !s.ok()) return s;
    tombstone = payload->IsNull();  // legacy {"schema":null,"payload":null}
  }
  if (tombstone) {
    rec->kind = DecodedRecord::Kind::kTombstone;
  } else {
    if (!payload->IsObject()) return Status::Error("value payload is not an object");
    const Value* op = Member(*payload, "op");
    if (!op || !op->IsString() || op->GetStringLength() != 1) {
      // Only Debezium's transaction metadata ({status, id, ...}) and heartbeats ({ts_ms})
      // carry no op; a change envelope without one is malformed, whatever else it holds.
      bool envelope = op || Member(*payload, "source") || Member(*payload, "before") ||
                      Member(*payload, "after");
      bool metadata = Member(*payload, "status") && Member(*payload, "id");
      bool heartbeat = payload->MemberCount() == 1 && Member(*payload, "ts_ms");
      if (!envelope && (metadata || heartbeat)) {
        rec->kind = DecodedRecord::Kind::kOther;
        return Status::Ok();
      }
      return Status::Error("value has no \"op\" (c, r, u, d, t or m)");
    }
    rec->op = op->GetString()[0];
    const Value* source = Member(*payload, "source");
    if (!source || !source->IsObject()) return Status::Error("value has no \"source\" block");
    rec->connector = StringOf(Member(*source, "connector"));
    rec->table = StringOf(Member(*source, "table"));
    rec->schema = StringOf(Member(*source, "schema"));
    if (rec->schema.empty()) rec->schema = StringOf(Member(*source, "db"));  // MySQL: database
    int64_t n = 0;
    if (Int64Of(Member(*source, "lsn"), &n)) rec->lsn = static_cast<Lsn>(n);
    if (Int64Of(Member(*source, "txId"), &n)) rec->tx_id = n;
    // sequence: "[\"<last commit lsn>\",\"<lsn>\"]" (either may be null)
    std::string seq = StringOf(Member(*source, "sequence"));
    if (seq.size() > 2 && seq[1] == '"')
      rec->last_commit_lsn = std::strtoull(seq.c_str() + 2, nullptr, 10);
    if (const Value* txn = Member(*payload, "transaction"); txn && txn->IsObject()) {
      Int64Of(Member(*txn, "total_order"), &rec->total_order);
      std::string id = StringOf(Member(*txn, "id"));
      if (auto colon = id.find(':'); colon != std::string::npos) {
        rec->txn_commit_lsn = std::strtoull(id.c_str() + colon + 1, nullptr, 10);
      }
    }
    if (Int64Of(Member(*source, "ts_ms"), &n)) rec->source_time = n * 1000;
    if (Int64Of(Member(*source, "ts_us"), &n)) rec->source_time = n;
    rec->binlog_file = StringOf(Member(*source, "file"));
    if (Int64Of(Member(*source, "pos"), &n)) rec->binlog_pos = n;
    if (Int64Of(Member(*source, "row"), &n)) rec->binlog_row = n;
    if (rec->lsn == 0 && !rec->binlog_file.empty() && rec->binlog_pos > 0) {
      // MySQL: binlog order is commit order (transactions are never interleaved), so the
      // event's file and position, then the row in it, order records for deduplication.
      rec->lsn = mysql::PositionFrom(mysql::FileSequence(rec->binlog_file),
                                     static_cast<uint32_t>(rec->binlog_pos));
      rec->txn_commit_lsn = rec->lsn;
      rec->total_order = rec->binlog_row;
    }
    switch (rec->op) {
      case 'c':
      case 'r':
      case 'u':
      case 'd':
        rec->kind = DecodedRecord::Kind::kRow;
        break;
      case 't':
        rec->kind = DecodedRecord::Kind::kTruncate;
        return Status::Ok();
      case 'm':
        rec->kind = DecodedRecord::Kind::kMessage;
        return Status::Ok();
      default:
        return Status::Error(std::string("unknown op \"") + rec->op + "\"");
    }
    if (rec->table.empty()) return Status::Error("source block names no table");
    auto envelope_fields = StructFields(schema);
    for (const char* part : {"before", "after"}) {
      const Value* row = Member(*payload, part);
      if (!row || row->IsNull()) continue;
      auto fields = StructFields(FieldSchema(envelope_fields, part));
      Tuple t;
      t.resize(rec->columns.size(), stagesync::Value::Unchanged());
      if (Status s = ReadRow(*row, fields, *rec, lookup, &rec->columns, &t); !s.ok()) {
        return Status::Error(std::string(part) + "." + s.message());
      }
      (std::string(part) == "before" ? rec->before : rec->after) = std::move(t);
    }
    // Columns first seen in `after` widen `before` too.
    for (auto* t : {&rec->before, &rec->after}) {
      if (*t) (*t)->resize(rec->columns.size(), stagesync::Value::Unchanged());
    }
    if ((rec->op == 'c' || rec->op == 'r' || rec->op == 'u') && !rec->after) {
      return Status::Error(std::string("op \"") + rec->op + "\" without an \"after\" image");
    }
  }
  if (key_payload && key_payload->IsObject()) {
    if (key_payload->MemberCount() > kMaxFields)
      return Status::Error("key has " + std::to_string(key_payload->MemberCount()) +
                           " fields; no table has more than " + std::to_string(kMaxFields));
    auto fields = StructFields(key_schema);
    if (fields.size() > kMaxFields)
      return Status::Error("key schema has " + std::to_string(fields.size()) +
                           " fields; no table has more than " + std::to_string(kMaxFields));
    for (const auto& m : key_payload->GetObject()) {
      std::string name(m.name.GetString(), m.name.GetStringLength());
      FieldType type;
      if (const Value* fs = FieldSchema(fields, name)) {
        type = TypeFromSchema(*fs);
      } else if (auto t = lookup ? lookup(rec->schema, rec->table, name) : std::nullopt) {
        type = TypeForPostgresName(*t);
      } else {
        type = TypeForPostgresName("text");
      }
      stagesync::Value v;
      if (Status s = ReadValue(m.value, type, &v); !s.ok())
        return Status::Error("key field " + name + ": " + s.message());
      rec->key_columns.push_back(name);
      rec->key.push_back(std::move(v));
    }
  }
  if (rec->kind == DecodedRecord::Kind::kRow && rec->op == 'd' && !rec->before &&
      rec->key.empty()) {
    return Status::Error(
        "delete with neither a \"before\" image nor a key: the row cannot be identified");
  }
  return Status::Ok();
}

}  // namespace stagesync::debezium
