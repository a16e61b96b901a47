// Decodes the row images of rows events into the change model's values (PostgreSQL text), and
// names the PostgreSQL type each binlog column is written as.
#include <cstring>

#include "binlog_columns.h"
#include "binlog_decoder.h"
#include "binlog_reader.h"
#include "binlog_values.h"

namespace stagesync::capture::binlog {
namespace {

// PostgreSQL type oids the values are written as.
constexpr uint32_t kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kJsonOid = 114,
                   kFloat4 = 700, kFloat8 = 701, kDateOid = 1082, kTimeOid = 1083,
                   kTimestampOid = 1114, kTimestampTzOid = 1184, kBitOid = 1560, kNumeric = 1700;

Status Truncated(const TableMap& map, size_t column) {
  std::string name = map.has_names() ? map.names[column] : "#" + std::to_string(column + 1);
  return Corrupt("row image for " + map.database + "." + map.table + " (column " + name + ")");
}

}  // namespace

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
