// The envelope's `source` block, as Debezium's PostgreSQL or MySQL connector writes it.
#include "debezium_source.h"

#include "debezium_json.h"

namespace stagesync::debezium {

void WriteSourceSchema(JsonWriter& w, const EncoderOptions& options) {
  const bool mysql = options.source_kind == Engine::kMysql;
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
  if (mysql) {
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
  w.String(mysql ? "io.debezium.connector.mysql.Source"
                 : "io.debezium.connector.postgresql.Source");
  Key(w, "field");
  w.String("source");
  w.EndObject();
}

void WriteSource(JsonWriter& w, const EncoderOptions& options, const SourceRelation& rel,
                 const TxnPosition& txn, Lsn lsn, uint32_t row, Lsn last_commit) {
  const bool mysql = options.source_kind == Engine::kMysql;
  TimestampUs commit = txn.begin ? txn.begin->commit_time : NowUs();
  w.StartObject();
  Key(w, "version");
  w.String(kVersion);
  Key(w, "connector");
  w.String(mysql ? "mysql" : "postgresql");
  Key(w, "name");
  Str(w, options.topic_prefix);
  Key(w, "ts_ms");
  w.Int64(commit / 1000);
  Key(w, "snapshot");
  w.String("false");
  Key(w, "db");
  Str(w, mysql ? rel.schema : options.database);
  Key(w, "sequence");
  if (mysql) {
    w.Null();
  } else {
    Str(w, Sequence(last_commit, lsn));
  }
  Key(w, "ts_us");
  w.Int64(commit);
  Key(w, "ts_ns");
  w.Int64(commit * 1000);
  if (mysql) {
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
std::string TransactionId(const EncoderOptions& options, const TxnPosition& txn) {
  const bool mysql = options.source_kind == Engine::kMysql;
  if (mysql) {
    if (txn.begin && !txn.begin->gtid.empty()) return txn.begin->gtid;
    return "file=" + (txn.begin ? txn.begin->binlog_file : std::string()) +
           ",pos=" + std::to_string(txn.begin ? txn.begin->final_lsn & 0xffffffffu : 0);
  }
  return std::to_string(txn.begin ? txn.begin->xid : 0) + ":" +
         std::to_string(txn.begin ? txn.begin->final_lsn : 0);
}

}  // namespace stagesync::debezium
