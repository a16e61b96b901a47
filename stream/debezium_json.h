// JSON writing shared by the Debezium encoder's parts: the JsonConverter envelope and the
// Kafka Connect schema shapes.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <utility>

#include "debezium_types.h"
#include "stagesync/change.h"

namespace stagesync::debezium {

inline constexpr const char* kVersion = "2.6.2.Final";  // the Debezium layout we follow

inline std::string Sequence(Lsn last_commit, Lsn lsn) {
  return std::string("[") + (last_commit ? "\"" + std::to_string(last_commit) + "\"" : "null") +
         ",\"" + std::to_string(lsn) + "\"]";
}

inline void Key(JsonWriter& w, const char* k) {
  w.Key(k);
}
inline void Str(JsonWriter& w, const std::string& s) {
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

inline void SimpleField(JsonWriter& w, const char* type, bool optional, const char* field) {
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
inline void StringObject(JsonWriter& w,
                         std::initializer_list<std::pair<const char*, std::string>> members) {
  w.StartObject();
  for (const auto& [k, v] : members) {
    Key(w, k);
    Str(w, v);
  }
  w.EndObject();
}

}  // namespace stagesync::debezium
