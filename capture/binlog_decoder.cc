#include "binlog_decoder.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "binlog_reader.h"
#include "binlog_values.h"

namespace stagesync::capture::binlog {
namespace {

// PostgreSQL type oids the values are written as.
constexpr uint32_t kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kJsonOid = 114,
                   kFloat4 = 700, kFloat8 = 701, kDateOid = 1082, kTimeOid = 1083,
                   kTimestampOid = 1114, kTimestampTzOid = 1184, kBitOid = 1560, kNumeric = 1700;

bool Bit(std::string_view bitmap, size_t i) {
  return (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
}

std::vector<bool> Bitmap(std::string_view bytes, size_t count) {
  std::vector<bool> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = Bit(bytes, i);
  return out;
}

bool IsNumeric(uint8_t t) {
  return t == kTiny || t == kShort || t == kInt24 || t == kLong || t == kLongLong || t == kFloat ||
         t == kDouble || t == kNewDecimal || t == kDecimalOld;
}

// The type a STRING column really is (CHAR, ENUM or SET) and its byte length.
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

Status Corrupt(const std::string& what) {
  return Status::Error("binlog: malformed " + what + " (is the server's binlog readable?)");
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

Status Truncated(const TableMap& map, size_t column) {
  std::string name = map.has_names() ? map.names[column] : "#" + std::to_string(column + 1);
  return Corrupt("row image for " + map.database + "." + map.table + " (column " + name + ")");
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

uint32_t PostgresTypeFor(const TableMap& map, size_t i) {
  bool unsigned_ = i < map.is_unsigned.size() && map.is_unsigned[i];
  bool binary = i < map.collations.size() && map.collations[i] == 63;
  switch (RealType(map, i)) {
    case kTiny:
    case kYear:
      return kInt2;
    case kShort:
      return unsigned_ ? kInt4 : kInt2;
    case kInt24:
      return kInt4;
    case kLong:
      return unsigned_ ? kInt8 : kInt4;
    case kLongLong:
      return unsigned_ ? kNumeric : kInt8;
    case kFloat:
      return kFloat4;
    case kDouble:
      return kFloat8;
    case kNewDecimal:
    case kDecimalOld:
      return kNumeric;
    case kDate:
      return kDateOid;
    case kTime:
    case kTime2:
      return kTimeOid;
    case kDateTime:
    case kDateTime2:
      return kTimestampOid;
    case kTimestamp:
    case kTimestamp2:
      return kTimestampTzOid;
    case kBit:
      return kBitOid;
    case kJson:
      return kJsonOid;
    case kGeometry:
      return kBytea;
    case kEnum:
    case kSet:
      return kText;
    default:
      return binary ? kBytea : kText;
  }
}

int32_t PostgresTypmodFor(const TableMap& map, size_t i) {
  const uint16_t meta = map.meta[i];
  switch (RealType(map, i)) {
    case kDateTime2:
    case kTime2:
    case kTimestamp2:
      return meta;  // fsp, as timestamp(p) / time(p) spell it
    case kNewDecimal:
      return ((meta & 0xff) << 16 | (meta >> 8)) + 4;  // PostgreSQL's numeric(p,s) modifier
    default:
      return -1;
  }
}

Status DecodeRow(const TableMap& map, const std::vector<bool>& present,
                 const CharsetLookup& charsets, std::string_view* rows, Tuple* out) {
  const size_t n = map.types.size();
  if (present.size() != n) {
    return Status::Error("binlog: rows event for " + map.database + "." + map.table + " has " +
                         std::to_string(present.size()) + " columns, its table map " +
                         std::to_string(n));
  }
  size_t present_count = 0;
  for (bool p : present) present_count += p;
  Reader r(*rows);
  std::string_view nulls;
  if (!r.Bytes((present_count + 7) / 8, &nulls)) return Truncated(map, 0);
  out->assign(n, Value::Unchanged());
  size_t k = 0;  // index among present columns, for the null bitmap
  for (size_t i = 0; i < n; ++i) {
    if (!present[i]) continue;
    if (Bit(nulls, k++)) {
      (*out)[i] = Value::Null();
      continue;
    }
    const uint8_t type = RealType(map, i);
    const uint16_t meta = map.meta[i];
    const bool unsigned_ = i < map.is_unsigned.size() && map.is_unsigned[i];
    const uint32_t collation = i < map.collations.size() ? map.collations[i] : 0;
    std::string text;
    uint64_t v = 0;
    std::string_view bytes;
    auto integer = [&](size_t size) {
      if (!r.LittleEndian(size, &v)) return false;
      if (unsigned_) {
        text = std::to_string(v);
      } else {
        int shift = 64 - static_cast<int>(size) * 8;
        text = std::to_string(static_cast<int64_t>(v << shift) >> shift);
      }
      return true;
    };
    auto characters = [&](std::string_view raw) {
      Charset cs = collation == 63 ? Charset::kBinary
                   : collation     ? charsets(collation)
                                   : Charset::kUtf8;
      switch (cs) {
        case Charset::kBinary:
          text = HexBytea(raw);
          return true;
        case Charset::kLatin1:
          text = Latin1ToUtf8(raw);
          return true;
        case Charset::kUtf8:
          text.assign(raw);
          return true;
        case Charset::kUnsupported:
          return false;
      }
      return false;
    };
    auto length_prefixed = [&](size_t prefix) {
      return r.LittleEndian(prefix, &v) && r.Bytes(v, &bytes);
    };
    bool ok = true;
    switch (type) {
      case kTiny:
        ok = integer(1);
        break;
      case kShort:
        ok = integer(2);
        break;
      case kInt24:
        ok = integer(3);
        break;
      case kLong:
        ok = integer(4);
        break;
      case kLongLong:
        ok = integer(8);
        break;
      case kYear:
        ok = r.LittleEndian(1, &v);
        text = std::to_string(v ? v + 1900 : 0);
        break;
      case kFloat: {
        ok = r.LittleEndian(4, &v);
        uint32_t bits = static_cast<uint32_t>(v);
        float f;
        std::memcpy(&f, &bits, 4);
        text = Shortest(f);
        break;
      }
      case kDouble: {
        ok = r.LittleEndian(8, &v);
        double d;
        std::memcpy(&d, &v, 8);
        text = Shortest(d);
        break;
      }
      case kNewDecimal: {
        std::string_view rest = r.rest();
        ok = DecodeDecimal(&rest, meta & 0xff, meta >> 8, &text);
        r = Reader(rest);
        break;
      }
      case kDate:
        ok = r.LittleEndian(3, &v);
        text = DateText(v >> 9, (v >> 5) & 15, v & 31);
        break;
      case kTime: {  // before MySQL 5.6: HHMMSS as a signed integer
        ok = r.LittleEndian(3, &v);
        int64_t t = static_cast<int64_t>(v << 40) >> 40;
        uint64_t a = t < 0 ? -t : t;
        text = t < 0 ? "-" : "";
        AppendClock(&text, a / 10000, a / 100 % 100, a % 100);
        break;
      }
      case kDateTime: {  // before MySQL 5.6: YYYYMMDDhhmmss as an integer
        ok = r.LittleEndian(8, &v);
        text = DateText(v / 10000000000ULL, v / 100000000 % 100, v / 1000000 % 100) + ' ';
        AppendClock(&text, v / 10000 % 100, v / 100 % 100, v % 100);
        break;
      }
      case kTimestamp:
        ok = r.LittleEndian(4, &v);
        text = EpochText(v, 0, 0);
        break;
      case kDateTime2:
      case kTime2:
      case kTimestamp2: {
        std::string_view rest = r.rest();
        ok = type == kDateTime2 ? DecodeDateTime2(&rest, meta, &text)
             : type == kTime2   ? DecodeTime2(&rest, meta, &text)
                                : DecodeTimestamp2(&rest, meta, &text);
        r = Reader(rest);
        break;
      }
      case kBit: {
        uint32_t bits = (meta >> 8) * 8 + (meta & 0xff);
        ok = r.BigEndian((bits + 7) / 8, &v);
        for (int b = static_cast<int>(bits) - 1; b >= 0; --b) text += (v >> b) & 1 ? '1' : '0';
        break;
      }
      case kVarchar:
      case kVarString:
        ok = length_prefixed(meta < 256 ? 1 : 2) && characters(bytes);
        break;
      case kString: {
        uint8_t real;
        uint32_t length;
        StringMeta(meta, &real, &length);
        ok = length_prefixed(length < 256 ? 1 : 2);
        if (ok && collation == 63 && bytes.size() < length) {
          // BINARY(n) loses its trailing zero bytes in the binlog; they are part of the value.
          std::string padded(bytes);
          padded.resize(length, '\0');
          text = HexBytea(padded);
        } else {
          ok = ok && characters(bytes);
        }
        break;
      }
      case kEnum: {
        uint8_t real;
        uint32_t length;
        StringMeta(meta, &real, &length);
        ok = r.LittleEndian(length, &v);
        const auto& members = map.enum_values[i];
        if (ok && v > members.size()) ok = false;
        if (ok && v > 0) ok = characters(members[v - 1]);
        break;
      }
      case kSet: {
        uint8_t real;
        uint32_t length;
        StringMeta(meta, &real, &length);
        ok = r.LittleEndian(length, &v);
        const auto& members = map.set_values[i];
        std::string joined;
        for (size_t b = 0; ok && b < members.size(); ++b) {
          if (!((v >> b) & 1)) continue;
          if (!joined.empty()) joined += ',';
          joined += members[b];
        }
        ok = ok && characters(joined);
        break;
      }
      case kBlob:
      case kTinyBlob:
      case kMediumBlob:
      case kLongBlob:
        ok = length_prefixed(meta) && characters(bytes);
        break;
      case kGeometry:
        ok = length_prefixed(meta);
        text = HexBytea(bytes);
        break;
      case kJson:
        return Status::Error("binlog: " + map.database + "." + map.table +
                             ": MySQL's binary JSON columns are not supported yet");
      default:
        return Status::Error("binlog: " + map.database + "." + map.table + ": column type " +
                             std::to_string(type) + " is not supported");
    }
    if (!ok) {
      if (collation && charsets(collation) == Charset::kUnsupported) {
        return Status::Error("binlog: " + map.database + "." + map.table +
                             ": a column uses collation id " + std::to_string(collation) +
                             ", whose charset stagesync does not read (utf8mb3, utf8mb4, "
                             "latin1 and binary are supported)");
      }
      return Truncated(map, i);
    }
    (*out)[i] = Value::Text(std::move(text));
  }
  *rows = r.rest();
  return Status::Ok();
}

}  // namespace stagesync::capture::binlog
