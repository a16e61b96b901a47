// Kafka Connect JsonConverter field schemas: the field type a schema names, and the schema
// written for a field type.
#include <cstdlib>

#include "debezium_type_builders.h"
#include "debezium_types.h"

namespace stagesync::debezium {

using Kind = FieldType::Kind;

FieldType TypeFromSchema(const rapidjson::Value& schema) {
  auto str = [&](const char* k) -> std::string {
    auto it = schema.FindMember(k);
    return it != schema.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
  };
  auto param = [&](const char* k) -> int {
    auto it = schema.FindMember("parameters");
    if (it == schema.MemberEnd() || !it->value.IsObject()) return 0;
    auto p = it->value.FindMember(k);
    return p != it->value.MemberEnd() && p->value.IsString() ? std::atoi(p->value.GetString()) : 0;
  };
  const std::string type = str("type"), name = str("name");
  if (name == "org.apache.kafka.connect.data.Decimal") {
    FieldType t = Simple(Kind::kDecimal);
    t.scale = param("scale");
    t.precision = param("connect.decimal.precision");
    return t;
  }
  if (name == "io.debezium.data.VariableScaleDecimal") return Simple(Kind::kVariableDecimal);
  if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date")
    return Simple(Kind::kDate);
  if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time")
    return Simple(Kind::kTime);
  if (name == "io.debezium.time.MicroTime") return Simple(Kind::kMicroTime);
  if (name == "io.debezium.time.NanoTime") return Simple(Kind::kNanoTime);
  if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp") {
    return Simple(Kind::kTimestamp);
  }
  if (name == "io.debezium.time.MicroTimestamp") return Simple(Kind::kMicroTimestamp);
  if (name == "io.debezium.time.NanoTimestamp") return Simple(Kind::kNanoTimestamp);
  if (name == "io.debezium.time.ZonedTimestamp") return Simple(Kind::kZonedTimestamp);
  if (name == "io.debezium.time.ZonedTime") return Simple(Kind::kZonedTime);
  if (name == "io.debezium.time.MicroDuration") return Simple(Kind::kMicroDuration);
  if (name == "io.debezium.time.Interval") return Simple(Kind::kInterval);
  if (name == "io.debezium.data.Json") return Simple(Kind::kJson);
  if (name == "io.debezium.data.Uuid") return Simple(Kind::kUuid);
  if (name == "io.debezium.data.Xml") return Simple(Kind::kXml);
  if (name == "io.debezium.data.Enum" || name == "io.debezium.data.EnumSet")
    return Simple(Kind::kEnum);
  if (name == "io.debezium.data.Bits") {
    FieldType t = Simple(Kind::kBits);
    t.length = param("length");
    return t;
  }
  if (name == "io.debezium.data.geometry.Point") return Simple(Kind::kPoint);
  if (type == "boolean") return Simple(Kind::kBoolean);
  if (type == "int8" || type == "int16") return Simple(Kind::kInt16);
  if (type == "int32") return Simple(Kind::kInt32);
  if (type == "int64") return Simple(Kind::kInt64);
  if (type == "float") return Simple(Kind::kFloat);
  if (type == "double") return Simple(Kind::kDouble);
  if (type == "bytes") return Simple(Kind::kBytes);
  if (type == "array") {
    auto items = schema.FindMember("items");
    return ArrayOf(items != schema.MemberEnd() ? TypeFromSchema(items->value)
                                               : Simple(Kind::kString));
  }
  return Simple(Kind::kString);
}

void WriteFieldSchema(JsonWriter& w, const FieldType& t, bool optional, const std::string& field) {
  auto named = [&](const char* type, const char* name) {
    w.Key("type");
    w.String(type);
    w.Key("optional");
    w.Bool(optional);
    if (name) {
      w.Key("name");
      w.String(name);
      w.Key("version");
      w.Int(1);
    }
  };
  w.StartObject();
  switch (t.kind) {
    case Kind::kBoolean:
      named("boolean", nullptr);
      break;
    case Kind::kInt16:
      named("int16", nullptr);
      break;
    case Kind::kInt32:
      named("int32", nullptr);
      break;
    case Kind::kInt64:
      named("int64", nullptr);
      break;
    case Kind::kFloat:
      named("float", nullptr);
      break;
    case Kind::kDouble:
    case Kind::kDecimalDouble:
      named("double", nullptr);
      break;
    case Kind::kString:
    case Kind::kDecimalString:
      named("string", nullptr);
      break;
    case Kind::kBytes:
      named("bytes", nullptr);
      break;
    case Kind::kDecimal:
      named("bytes", "org.apache.kafka.connect.data.Decimal");
      w.Key("parameters");
      w.StartObject();
      w.Key("scale");
      w.String(std::to_string(t.scale).c_str());
      if (t.precision > 0) {
        w.Key("connect.decimal.precision");
        w.String(std::to_string(t.precision).c_str());
      }
      w.EndObject();
      break;
    case Kind::kVariableDecimal:
      w.Key("type");
      w.String("struct");
      w.Key("fields");
      w.StartArray();
      WriteFieldSchema(w, Simple(Kind::kInt32), false, "scale");
      WriteFieldSchema(w, Simple(Kind::kBytes), false, "value");
      w.EndArray();
      w.Key("optional");
      w.Bool(optional);
      w.Key("name");
      w.String("io.debezium.data.VariableScaleDecimal");
      w.Key("version");
      w.Int(1);
      w.Key("doc");
      w.String("Variable scaled decimal");
      break;
    case Kind::kDate:
      named("int32", "io.debezium.time.Date");
      break;
    case Kind::kTime:
      named("int32", "io.debezium.time.Time");
      break;
    case Kind::kMicroTime:
      named("int64", "io.debezium.time.MicroTime");
      break;
    case Kind::kNanoTime:
      named("int64", "io.debezium.time.NanoTime");
      break;
    case Kind::kTimestamp:
      named("int64", "io.debezium.time.Timestamp");
      break;
    case Kind::kMicroTimestamp:
      named("int64", "io.debezium.time.MicroTimestamp");
      break;
    case Kind::kNanoTimestamp:
      named("int64", "io.debezium.time.NanoTimestamp");
      break;
    case Kind::kZonedTimestamp:
      named("string", "io.debezium.time.ZonedTimestamp");
      break;
    case Kind::kZonedTime:
      named("string", "io.debezium.time.ZonedTime");
      break;
    case Kind::kMicroDuration:
      named("int64", "io.debezium.time.MicroDuration");
      break;
    case Kind::kInterval:
      named("string", "io.debezium.time.Interval");
      break;
    case Kind::kJson:
      named("string", "io.debezium.data.Json");
      break;
    case Kind::kUuid:
      named("string", "io.debezium.data.Uuid");
      break;
    case Kind::kXml:
      named("string", "io.debezium.data.Xml");
      break;
    case Kind::kEnum:
      named("string", "io.debezium.data.Enum");
      break;
    case Kind::kBits:
      named("bytes", "io.debezium.data.Bits");
      w.Key("parameters");
      w.StartObject();
      w.Key("length");
      w.String(std::to_string(t.length).c_str());
      w.EndObject();
      break;
    case Kind::kPoint:
      w.Key("type");
      w.String("struct");
      w.Key("fields");
      w.StartArray();
      WriteFieldSchema(w, Simple(Kind::kDouble), false, "x");
      WriteFieldSchema(w, Simple(Kind::kDouble), false, "y");
      WriteFieldSchema(w, Simple(Kind::kBytes), true, "wkb");
      WriteFieldSchema(w, Simple(Kind::kInt32), true, "srid");
      w.EndArray();
      w.Key("optional");
      w.Bool(optional);
      w.Key("name");
      w.String("io.debezium.data.geometry.Point");
      w.Key("version");
      w.Int(1);
      w.Key("doc");
      w.String("Geometry (POINT)");
      break;
    case Kind::kArray:
      w.Key("type");
      w.String("array");
      w.Key("items");
      WriteFieldSchema(w, *t.element, true, "");
      w.Key("optional");
      w.Bool(optional);
      break;
  }
  if (!field.empty()) {
    w.Key("field");
    w.String(field.data(), static_cast<rapidjson::SizeType>(field.size()));
  }
  w.EndObject();
}

}  // namespace stagesync::debezium
