// The Debezium encoder's records other than data: transaction metadata (BEGIN and END on
// <prefix>.transaction) and heartbeats.
#include "debezium_encoder.h"
#include "debezium_json.h"
#include "stagesync/topics.h"

namespace stagesync::debezium {

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
