// The initial copy in the status: what `stagesync copy` committed on the target, per table.
#include <cstdio>
#include <map>
#include <sstream>

#include "render.h"
#include "stagesync/log.h"

namespace stagesync::monitor {
size_t SyncStatus::Copy::TablesRemaining() const {
  size_t n = 0;
  for (const auto& t : tables) n += t.parts_done < t.parts;
  return n;
}

void ReadCopyView(const Config& config, SyncStatus* status) {
  apply::CopyState state;
  if (Status s = apply::ReadCopyState(config, &state); !s.ok()) {
    LOG_DEBUG("status: the copy's bookkeeping could not be read: " << s.message());
    return;
  }
  if (!state.found) return;
  SyncStatus::Copy copy;
  copy.finished = state.finished;
  copy.snapshot = state.snapshot;
  copy.stream_starts_at = DescribePosition(config.source.kind, state.position);
  std::map<std::string, SyncStatus::Copy::Table> tables;
  for (const auto& r : state.ranges) {
    auto& t = tables[r.table];
    t.table = r.table;
    t.parts++;
    if (!r.done) continue;
    t.parts_done++;
    t.rows += r.rows;
    t.bytes += r.bytes;
  }
  for (auto& [name, t] : tables) copy.tables.push_back(std::move(t));
  status->copy = std::move(copy);
}

void WriteCopyMember(json::Writer& w, const SyncStatus::Copy& copy) {
  uint64_t rows = 0, bytes = 0;
  for (const auto& t : copy.tables) {
    rows += t.rows;
    bytes += t.bytes;
  }
  w.Key("copy").StartObject();
  w.Key("finished").Bool(copy.finished);
  w.Key("snapshot").String(copy.snapshot);
  w.Key("stream_starts_at").String(copy.stream_starts_at);
  w.Key("rows").Uint(rows).Key("bytes").Uint(bytes);
  w.Key("tables_remaining").Uint(copy.TablesRemaining());
  w.Key("tables").StartArray();
  for (const auto& t : copy.tables) {
    w.StartObject().Key("table").String(t.table).Key("rows").Uint(t.rows);
    w.Key("bytes").Uint(t.bytes).Key("parts").Int(t.parts).Key("parts_done").Int(t.parts_done);
    w.EndObject();
  }
  w.EndArray().EndObject();
}

std::string CopyText(const SyncStatus::Copy& copy) {
  uint64_t rows = 0, bytes = 0;
  for (const auto& t : copy.tables) {
    rows += t.rows;
    bytes += t.bytes;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s: %zu of %zu tables, %llu rows, %.1f MB; stream from %s",
                copy.finished ? "finished" : "not finished (committed so far)",
                copy.tables.size() - copy.TablesRemaining(), copy.tables.size(),
                static_cast<unsigned long long>(rows), bytes / 1e6, copy.stream_starts_at.c_str());
  return std::string("initial copy          ") + line + "\n";
}

std::string CopyMetrics(const SyncStatus::Copy& copy) {
  std::ostringstream out;
  out << "# HELP stagesync_copy_rows_total Rows the initial copy committed, by source table.\n"
      << "# TYPE stagesync_copy_rows_total counter\n";
  for (const auto& t : copy.tables) {
    out << "stagesync_copy_rows_total{table=\"" << Label(t.table) << "\"} " << t.rows << "\n";
  }
  out << "# HELP stagesync_copy_bytes_total Source bytes the initial copy committed, by source "
         "table.\n# TYPE stagesync_copy_bytes_total counter\n";
  for (const auto& t : copy.tables) {
    out << "stagesync_copy_bytes_total{table=\"" << Label(t.table) << "\"} " << t.bytes << "\n";
  }
  out << "# HELP stagesync_copy_tables_remaining Tables the initial copy has not finished.\n"
      << "# TYPE stagesync_copy_tables_remaining gauge\n"
      << "stagesync_copy_tables_remaining " << copy.TablesRemaining() << "\n"
      << "# HELP stagesync_copy_finished 1 once the initial copy is complete.\n"
      << "# TYPE stagesync_copy_finished gauge\n"
      << "stagesync_copy_finished " << (copy.finished ? 1 : 0) << "\n";
  return out.str();
}

}  // namespace stagesync::monitor
