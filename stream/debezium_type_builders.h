// Short builders of FieldType values, shared by the PostgreSQL type mapping (debezium_types.cc),
// the JsonConverter schemas (debezium_schema.cc) and the value decoder.
#pragma once

#include <memory>
#include <utility>

#include "debezium_types.h"

namespace stagesync::debezium {

inline FieldType Simple(FieldType::Kind k) {
  return SimpleType(k);
}

inline FieldType ArrayOf(FieldType element) {
  FieldType t;
  t.kind = FieldType::Kind::kArray;
  t.element = std::make_shared<FieldType>(std::move(element));
  return t;
}

}  // namespace stagesync::debezium
