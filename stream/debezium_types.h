// Column types as Debezium's PostgreSQL connector maps them, and the exact conversions
// between PostgreSQL text values and Debezium JSON values (both directions).
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/status.h"

namespace stagesync::debezium {

inline constexpr const char* kUnavailablePlaceholder = "__debezium_unavailable_value";

enum class DecimalMode { kPrecise, kString, kDouble };
enum class IntervalMode { kNumeric, kString };

struct FieldType {
  enum class Kind {
    kBoolean,
    kInt16,
    kInt32,
    kInt64,
    kFloat,
    kDouble,
    kString,
    kBytes,
    kDecimal,          // bytes, org.apache.kafka.connect.data.Decimal (scale, precision)
    kVariableDecimal,  // struct io.debezium.data.VariableScaleDecimal
    kDecimalString,    // decimal.handling.mode=string
    kDecimalDouble,    // decimal.handling.mode=double
    kDate,
    kTime,
    kMicroTime,
    kNanoTime,
    kTimestamp,
    kMicroTimestamp,
    kNanoTimestamp,
    kZonedTimestamp,
    kZonedTime,
    kMicroDuration,
    kInterval,
    kJson,
    kUuid,
    kXml,
    kEnum,
    kBits,
    kPoint,
    kArray,
  };
  Kind kind = Kind::kString;
  int scale = 0;
  int precision = 0;
  int length = 0;                      // bits
  std::shared_ptr<FieldType> element;  // arrays
};

struct TypeOptions {
  DecimalMode decimal = DecimalMode::kPrecise;
  IntervalMode interval = IntervalMode::kNumeric;
};

// The Debezium field type for a PostgreSQL column (type OID and modifier from pgoutput).
FieldType TypeForPostgres(uint32_t type_oid, int32_t type_modifier, const TypeOptions& options);
// The same, from a target column's format_type() text (for schemaless messages).
FieldType TypeForPostgresName(const std::string& format_type);
// The field type a JsonConverter field schema describes. Unknown names fall back to the
// plain Connect type.
FieldType TypeFromSchema(const rapidjson::Value& field_schema);

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes the field schema object ({"type":..., "optional":..., "name":..., "field":...}).
void WriteFieldSchema(JsonWriter& w, const FieldType& type, bool optional,
                      const std::string& field);
// Writes the JSON value for a PostgreSQL text value; unchanged TOAST becomes Debezium's
// placeholder. Fails on text the type cannot hold (names the problem).
Status WriteValue(JsonWriter& w, const FieldType& type, const Value& value);
// Turns a JSON value back into PostgreSQL text; placeholders become Value::Unchanged().
Status ReadValue(const rapidjson::Value& json, const FieldType& type, Value* out);

FieldType SimpleType(FieldType::Kind kind);

}  // namespace stagesync::debezium
