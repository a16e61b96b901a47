#include "stagesync/change.h"

#include <chrono>
#include <cstdio>
#include <mutex>

namespace stagesync {

std::string FormatLsn(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::optional<Lsn> ParseLsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size())
    return std::nullopt;
  auto parse_hex = [](std::string_view part) -> std::optional<uint64_t> {
    if (part.size() > 8) return std::nullopt;
    uint64_t v = 0;
    for (char c : part) {
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return std::nullopt;
      v = v * 16 + static_cast<uint64_t>(d);
    }
    return v;
  };
  auto hi = parse_hex(text.substr(0, slash));
  auto lo = parse_hex(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return (*hi << 32) | *lo;
}

TimestampUs NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
size_t TupleSize(const Tuple& t) {
  size_t n = t.capacity() * sizeof(Value);
  for (const auto& v : t) n += v.text.capacity() > 15 ? v.text.capacity() : 0;
  return n;
}
}  // namespace

size_t ApproximateSize(const ChangeEvent& event) {
  if (const auto* row = std::get_if<RowChange>(&event)) {
    return sizeof(RowChange) + TupleSize(row->old_tuple) + TupleSize(row->new_tuple);
  }
  if (const auto* msg = std::get_if<SourceMessage>(&event)) {
    return sizeof(SourceMessage) + msg->content.size() + msg->prefix.size();
  }
  return sizeof(ChangeEvent);
}

namespace {
std::mutex binlog_base_mutex;
std::string& BinlogBase() {
  static std::string base = "binlog";
  return base;
}
}  // namespace

void SetBinlogBaseName(std::string_view any_file_name) {
  auto dot = any_file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return;
  std::lock_guard lock(binlog_base_mutex);
  BinlogBase() = std::string(any_file_name.substr(0, dot));
}

std::string DescribePosition(Engine source, Lsn lsn) {
  if (source != Engine::kMysql) return "lsn=" + FormatLsn(lsn);
  char buf[64];
  std::snprintf(buf, sizeof buf, ".%06u:%u", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  std::lock_guard lock(binlog_base_mutex);
  return BinlogBase() + buf;
}

void FillUnchangedFromOld(RowChange& change) {
  if (change.op != RowOp::kUpdate || change.old_tuple.size() != change.new_tuple.size()) return;
  for (size_t i = 0; i < change.new_tuple.size(); ++i) {
    const Value& old = change.old_tuple[i];
    if (change.new_tuple[i].is_unchanged() && old.kind == Value::Kind::kText) {
      change.new_tuple[i] = old;
    }
  }
}

}  // namespace stagesync
