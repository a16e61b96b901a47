// Parses the binlog's TABLE_MAP events (with their optional metadata) and the headers of rows
// events; the row images themselves are decoded in binlog_row_image.cc.
#include "binlog_decoder.h"

#include "binlog_columns.h"
#include "binlog_reader.h"
#include "stagesync/config.h"

namespace stagesync::capture::binlog {

bool Bit(std::string_view bitmap, size_t i) {
  return (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
}

void StringMeta(uint16_t meta, uint8_t* real_type, uint32_t* length) {
  uint8_t b0 = meta & 0xff, b1 = meta >> 8;
  if ((b0 & 0x30) != 0x30) {
    *real_type = b0 | 0x30;
    *length = b1 | (static_cast<uint32_t>((b0 & 0x30) ^ 0x30) << 4);
  } else {
    *real_type = b0;
    *length = b1;
  }
}

uint8_t RealType(const TableMap& map, size_t i) {
  uint8_t t = map.types[i];
  if (t == kString) {
    uint8_t real;
    uint32_t length;
    StringMeta(map.meta[i], &real, &length);
    return real;
  }
  return t;
}

Charset CharsetNamed(std::string name) {
  name = AsciiLower(std::move(name));
  if (name == "utf8mb4" || name == "utf8mb3" || name == "utf8" || name == "ascii")
    return Charset::kUtf8;
  if (name == "latin1") return Charset::kLatin1;
  if (name == "binary") return Charset::kBinary;
  return Charset::kUnsupported;
}

Status Corrupt(const std::string& what) {
  return Status::Error("binlog: malformed " + what + " (is the server's binlog readable?)");
}

namespace {

std::vector<bool> Bitmap(std::string_view bytes, size_t count) {
  std::vector<bool> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = Bit(bytes, i);
  return out;
}

bool IsNumeric(uint8_t t) {
  return t == kTiny || t == kShort || t == kInt24 || t == kLong || t == kLongLong || t == kFloat ||
         t == kDouble || t == kNewDecimal || t == kDecimalOld;
}

bool IsCharacter(const TableMap& map, size_t i) {
  uint8_t t = RealType(map, i);
  return t == kString || t == kVarchar || t == kVarString || t == kBlob || t == kTinyBlob ||
         t == kMediumBlob || t == kLongBlob;
}

bool IsEnumOrSet(const TableMap& map, size_t i) {
  uint8_t t = RealType(map, i);
  return t == kEnum || t == kSet;
}

size_t MetaBytes(uint8_t type) {
  switch (type) {
    case kFloat:
    case kDouble:
    case kBlob:
    case kTinyBlob:
    case kMediumBlob:
    case kLongBlob:
    case kGeometry:
    case kJson:
    case kTimestamp2:
    case kDateTime2:
    case kTime2:
      return 1;
    case kVarchar:
    case kVarString:
    case kBit:
    case kNewDecimal:
    case kString:
    case kEnum:
    case kSet:
      return 2;
    default:
      return 0;
  }
}

// DEFAULT_CHARSET-style metadata: a default collation, then (column, collation) exceptions,
// over the columns `applies` selects.
bool ReadDefaultCharsets(std::string_view value, const TableMap& map,
                         bool (*applies)(const TableMap&, size_t), std::vector<uint32_t>* out) {
  Reader r(value);
  uint64_t def = 0;
  if (!r.Packed(&def)) return false;
  std::vector<size_t> columns;
  for (size_t i = 0; i < map.types.size(); ++i) {
    if (applies(map, i)) columns.push_back(i);
  }
  for (size_t c : columns) (*out)[c] = static_cast<uint32_t>(def);
  while (r.left() > 0) {
    uint64_t index = 0, collation = 0;
    if (!r.Packed(&index) || !r.Packed(&collation) || index >= columns.size()) return false;
    (*out)[columns[index]] = static_cast<uint32_t>(collation);
  }
  return true;
}

bool ReadColumnCharsets(std::string_view value, const TableMap& map,
                        bool (*applies)(const TableMap&, size_t), std::vector<uint32_t>* out) {
  Reader r(value);
  for (size_t i = 0; i < map.types.size(); ++i) {
    if (!applies(map, i)) continue;
    uint64_t collation = 0;
    if (!r.Packed(&collation)) return false;
    (*out)[i] = static_cast<uint32_t>(collation);
  }
  return true;
}

bool ReadStringLists(std::string_view value, const TableMap& map, uint8_t real_type,
                     std::vector<std::vector<std::string>>* out) {
  Reader r(value);
  for (size_t i = 0; i < map.types.size(); ++i) {
    if (RealType(map, i) != real_type) continue;
    uint64_t count = 0;
    if (!r.Packed(&count)) return false;
    auto& list = (*out)[i];
    list.resize(count);
    for (auto& s : list) {
      if (!r.PackedString(&s)) return false;
    }
  }
  return true;
}

Status ReadOptionalMetadata(Reader& r, TableMap* m) {
  const size_t n = m->types.size();
  m->is_unsigned.assign(n, false);
  m->collations.assign(n, 0);
  m->enum_values.assign(n, {});
  m->set_values.assign(n, {});
  std::vector<uint32_t> enum_collations(n, 0);
  while (r.left() > 0) {
    uint64_t type = 0, length = 0;
    std::string_view value;
    if (!r.LittleEndian(1, &type) || !r.Packed(&length) || !r.Bytes(length, &value)) {
      return Corrupt("table map optional metadata");
    }
    bool ok = true;
    switch (type) {
      case 1: {  // SIGNEDNESS: one bit per numeric column, most significant first
        size_t k = 0;
        for (size_t i = 0; i < n && ok; ++i) {
          if (!IsNumeric(m->types[i])) continue;
          if (k / 8 >= value.size()) {
            ok = false;
            break;
          }
          m->is_unsigned[i] = (static_cast<uint8_t>(value[k / 8]) << (k % 8)) & 0x80;
          ++k;
        }
        break;
      }
      case 2:
        ok = ReadDefaultCharsets(value, *m, IsCharacter, &m->collations);
        break;
      case 3:
        ok = ReadColumnCharsets(value, *m, IsCharacter, &m->collations);
        break;
      case 4: {
        Reader names(value);
        m->names.resize(n);
        for (auto& name : m->names) ok = ok && names.PackedString(&name);
        break;
      }
      case 5:
        ok = ReadStringLists(value, *m, kSet, &m->set_values);
        break;
      case 6:
        ok = ReadStringLists(value, *m, kEnum, &m->enum_values);
        break;
      case 8: {
        Reader keys(value);
        while (ok && keys.left() > 0) {
          uint64_t index = 0;
          ok = keys.Packed(&index) && index < n;
          if (ok) m->primary_key.push_back(static_cast<int>(index));
        }
        break;
      }
      case 9: {
        Reader keys(value);
        while (ok && keys.left() > 0) {
          uint64_t index = 0, prefix = 0;
          ok = keys.Packed(&index) && keys.Packed(&prefix) && index < n;
          if (ok) m->primary_key.push_back(static_cast<int>(index));
        }
        break;
      }
      case 10:
        ok = ReadDefaultCharsets(value, *m, IsEnumOrSet, &enum_collations);
        break;
      case 11:
        ok = ReadColumnCharsets(value, *m, IsEnumOrSet, &enum_collations);
        break;
      default:  // geometry types, visibility and anything newer: not needed
        break;
    }
    if (!ok) return Corrupt("table map optional metadata field " + std::to_string(type));
  }
  // Enum and set members are written in their column's charset.
  for (size_t i = 0; i < n; ++i) {
    if (enum_collations[i]) m->collations[i] = enum_collations[i];
  }
  return Status::Ok();
}

}  // namespace

Status ParseTableMap(std::string_view body, size_t post_header_len, TableMap* out) {
  TableMap m;
  Reader r(body);
  uint64_t flags = 0, db_len = 0, table_len = 0, count = 0, meta_len = 0;
  std::string_view db, table, types, meta, nulls;
  if (!r.LittleEndian(post_header_len == 6 ? 4 : 6, &m.table_id) || !r.LittleEndian(2, &flags) ||
      !r.LittleEndian(1, &db_len) || !r.Bytes(db_len, &db) || !r.Skip(1) ||
      !r.LittleEndian(1, &table_len) || !r.Bytes(table_len, &table) || !r.Skip(1) ||
      !r.Packed(&count) || !r.Bytes(count, &types) || !r.Packed(&meta_len) ||
      !r.Bytes(meta_len, &meta) || !r.Bytes((count + 7) / 8, &nulls)) {
    return Corrupt("table map event");
  }
  m.database.assign(db);
  m.table.assign(table);
  m.types.assign(types.begin(), types.end());
  m.meta.assign(count, 0);
  Reader mr(meta);
  for (size_t i = 0; i < count; ++i) {
    uint64_t v = 0;
    size_t n = MetaBytes(m.types[i]);
    // Two-byte metadata is little-endian except STRING/ENUM/SET and NEWDECIMAL, whose
    // bytes are (type, length) and (precision, scale): kept as byte0 | byte1 << 8 too.
    if (n && !mr.LittleEndian(n, &v)) return Corrupt("table map metadata");
    m.meta[i] = static_cast<uint16_t>(v);
  }
  m.nullable = Bitmap(nulls, count);
  if (Status s = ReadOptionalMetadata(r, &m); !s.ok()) return s;
  *out = std::move(m);
  return Status::Ok();
}

bool IsRowsEvent(uint8_t event_type, RowsKind* kind, bool* v2) {
  switch (event_type) {
    case 23:
    case 30:
      *kind = RowsKind::kWrite;
      break;
    case 24:
    case 31:
      *kind = RowsKind::kUpdate;
      break;
    case 25:
    case 32:
      *kind = RowsKind::kDelete;
      break;
    default:
      return false;
  }
  *v2 = event_type >= 30;
  return true;
}

Status ParseRowsEvent(uint8_t event_type, std::string_view body, size_t post_header_len,
                      RowsEvent* out) {
  bool v2 = false;
  if (!IsRowsEvent(event_type, &out->kind, &v2)) return Corrupt("rows event type");
  Reader r(body);
  uint64_t flags = 0, count = 0;
  std::string_view present, present_after;
  bool ok =
      r.LittleEndian(post_header_len == 6 ? 4 : 6, &out->table_id) && r.LittleEndian(2, &flags);
  if (ok && v2) {
    uint64_t extra = 0;  // includes its own two bytes
    ok = r.LittleEndian(2, &extra) && extra >= 2 && r.Skip(extra - 2);
  }
  ok = ok && r.Packed(&count) && r.Bytes((count + 7) / 8, &present);
  if (ok && out->kind == RowsKind::kUpdate) ok = r.Bytes((count + 7) / 8, &present_after);
  if (!ok) return Corrupt("rows event");
  out->flags = static_cast<uint16_t>(flags);
  out->column_count = static_cast<uint32_t>(count);
  out->present = Bitmap(present, count);
  out->present_after =
      out->kind == RowsKind::kUpdate ? Bitmap(present_after, count) : std::vector<bool>{};
  out->rows = r.rest();
  return Status::Ok();
}

}  // namespace stagesync::capture::binlog
