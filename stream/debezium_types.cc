// Which Debezium field type a PostgreSQL column gets: from its type OID and modifier
// (pgoutput) or from its format_type() text (schemaless records).
#include "debezium_types.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "debezium_type_builders.h"
#include "pg_text.h"

namespace stagesync::debezium {

using namespace pgtext;  // NOLINT: the text helpers are this file's vocabulary
using Kind = FieldType::Kind;

FieldType SimpleType(Kind k) {
  FieldType t;
  t.kind = k;
  return t;
}

namespace {

FieldType DecimalType(int precision, int scale, const TypeOptions& o) {
  FieldType t;
  t.precision = precision;
  t.scale = scale;
  switch (o.decimal) {
    case DecimalMode::kPrecise:
      t.kind = precision > 0 ? Kind::kDecimal : Kind::kVariableDecimal;
      break;
    case DecimalMode::kString:
      t.kind = Kind::kDecimalString;
      break;
    case DecimalMode::kDouble:
      t.kind = Kind::kDecimalDouble;
      break;
  }
  return t;
}

FieldType TimeType(int precision) {
  return Simple(precision >= 0 && precision <= 3 ? Kind::kTime : Kind::kMicroTime);
}
FieldType TimestampType(int precision) {
  return Simple(precision >= 0 && precision <= 3 ? Kind::kTimestamp : Kind::kMicroTimestamp);
}

}  // namespace

FieldType TypeForPostgres(uint32_t oid, int32_t typmod, const TypeOptions& o) {
  const int numeric_p = typmod >= 4 ? ((typmod - 4) >> 16) & 0xffff : 0;
  const int numeric_s = typmod >= 4 ? (typmod - 4) & 0xffff : 0;
  switch (oid) {
    case 16:
      return Simple(Kind::kBoolean);
    case 17:
      return Simple(Kind::kBytes);
    case 21:
      return Simple(Kind::kInt16);
    case 23:
      return Simple(Kind::kInt32);
    case 20:
    case 26:
      return Simple(Kind::kInt64);
    case 700:
      return Simple(Kind::kFloat);
    case 701:
      return Simple(Kind::kDouble);
    case 1700:
      return DecimalType(numeric_p, numeric_s, o);
    case 790:
      return DecimalType(o.decimal == DecimalMode::kPrecise ? 19 : 0, 2, o);
    case 1082:
      return Simple(Kind::kDate);
    case 1083:
      return TimeType(typmod);
    case 1114:
      return TimestampType(typmod);
    case 1184:
      return Simple(Kind::kZonedTimestamp);
    case 1266:
      return Simple(Kind::kZonedTime);
    case 1186:
      return Simple(o.interval == IntervalMode::kString ? Kind::kInterval : Kind::kMicroDuration);
    case 114:
    case 3802:
      return Simple(Kind::kJson);
    case 142:
      return Simple(Kind::kXml);
    case 2950:
      return Simple(Kind::kUuid);
    case 600:
      return Simple(Kind::kPoint);
    case 1560:
    case 1562: {
      if (oid == 1560 && typmod == 1) return Simple(Kind::kBoolean);
      FieldType t = Simple(Kind::kBits);
      t.length = typmod > 0 ? typmod : 2147483647;
      return t;
    }
    // Arrays: the element's type with the column's modifier.
    case 1000:
      return ArrayOf(TypeForPostgres(16, typmod, o));
    case 1001:
      return ArrayOf(TypeForPostgres(17, typmod, o));
    case 1005:
      return ArrayOf(TypeForPostgres(21, typmod, o));
    case 1007:
      return ArrayOf(TypeForPostgres(23, typmod, o));
    case 1016:
    case 1028:
      return ArrayOf(TypeForPostgres(20, typmod, o));
    case 1021:
      return ArrayOf(TypeForPostgres(700, typmod, o));
    case 1022:
      return ArrayOf(TypeForPostgres(701, typmod, o));
    case 1231:
      return ArrayOf(TypeForPostgres(1700, typmod, o));
    case 791:
      return ArrayOf(TypeForPostgres(790, typmod, o));
    case 1182:
      return ArrayOf(TypeForPostgres(1082, typmod, o));
    case 1183:
      return ArrayOf(TypeForPostgres(1083, typmod, o));
    case 1115:
      return ArrayOf(TypeForPostgres(1114, typmod, o));
    case 1185:
      return ArrayOf(TypeForPostgres(1184, typmod, o));
    case 1270:
      return ArrayOf(TypeForPostgres(1266, typmod, o));
    case 1187:
      return ArrayOf(TypeForPostgres(1186, typmod, o));
    case 2951:
      return ArrayOf(TypeForPostgres(2950, typmod, o));
    case 199:
    case 3807:
      return ArrayOf(TypeForPostgres(114, typmod, o));
    case 143:
      return ArrayOf(TypeForPostgres(142, typmod, o));
    case 1009:
    case 1014:
    case 1015:
    case 1041:
    case 651:
    case 1040:
    case 1002:
    case 1003:
      return ArrayOf(Simple(Kind::kString));
    default:
      return Simple(Kind::kString);  // text, varchar, char, inet, cidr, macaddr, ranges, enums...
  }
}

FieldType TypeForPostgresName(const std::string& format_type) {
  std::string t = format_type;
  bool array = t.size() > 2 && t.compare(t.size() - 2, 2, "[]") == 0;
  if (array) t.resize(t.size() - 2);
  int p = -1, s = 0;
  if (auto open = t.find('('); open != std::string::npos) {
    std::sscanf(t.c_str() + open, "(%d,%d)", &p, &s);
    t = t.substr(0, open) + t.substr(t.find(')', open) + 1);
  }
  FieldType f;
  TypeOptions o;
  if (t == "boolean")
    f = Simple(Kind::kBoolean);
  else if (t == "smallint")
    f = Simple(Kind::kInt16);
  else if (t == "integer")
    f = Simple(Kind::kInt32);
  else if (t == "bigint" || t == "oid")
    f = Simple(Kind::kInt64);
  else if (t == "real")
    f = Simple(Kind::kFloat);
  else if (t == "double precision")
    f = Simple(Kind::kDouble);
  else if (t == "numeric")
    f = p >= 0 ? DecimalType(p, s, o) : DecimalType(0, 0, o);
  else if (t == "money")
    f = DecimalType(19, 2, o);
  else if (t == "bytea")
    f = Simple(Kind::kBytes);
  else if (t == "date")
    f = Simple(Kind::kDate);
  else if (t == "time without time zone")
    f = TimeType(p);
  else if (t == "timestamp without time zone")
    f = TimestampType(p);
  else if (t == "timestamp with time zone")
    f = Simple(Kind::kZonedTimestamp);
  else if (t == "time with time zone")
    f = Simple(Kind::kZonedTime);
  else if (t == "interval")
    f = Simple(Kind::kMicroDuration);
  else if (t == "json" || t == "jsonb")
    f = Simple(Kind::kJson);
  else if (t == "uuid")
    f = Simple(Kind::kUuid);
  else if (t == "point")
    f = Simple(Kind::kPoint);
  else if (t == "bit" || t == "bit varying") {
    f = Simple(p == 1 && t == "bit" ? Kind::kBoolean : Kind::kBits);
    f.length = p > 0 ? p : 2147483647;
  } else
    f = Simple(Kind::kString);
  return array ? ArrayOf(f) : f;
}

}  // namespace stagesync::debezium
