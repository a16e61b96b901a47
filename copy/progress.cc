// The copy's figures for people (lines redrawn in place on a terminal) and for scripts (JSON).
#include <cstdio>

#include "stagesync/copy.h"
#include "stagesync/json.h"

namespace stagesync::copy {
namespace {

std::string Bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char out[32];
  std::snprintf(out, sizeof out, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return out;
}

std::string Clock(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "-";
  long s = static_cast<long>(seconds + 0.5);
  char out[32];
  if (s >= 3600) {
    std::snprintf(out, sizeof out, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(out, sizeof out, "%ld:%02ld", s / 60, s % 60);
  }
  return out;
}

struct Figures {
  uint64_t rows = 0, bytes = 0, rows_estimate = 0;
  double seconds = 0;
  bool done = false, started = false;
  double Rate() const { return seconds > 0 ? rows / seconds : 0; }
  // Seconds left by the catalog's row estimate; negative when unknown.
  double Eta() const {
    if (done) return 0;
    if (rows_estimate == 0 || Rate() <= 0) return -1;
    return rows >= rows_estimate ? 0 : (rows_estimate - rows) / Rate();
  }
};

Figures Of(const TableProgress& t, int64_t now_us) {
  Figures f;
  f.rows = t.rows;
  f.bytes = t.bytes;
  f.rows_estimate = t.rows_estimate;
  f.done = t.parts_done == t.parts;
  int64_t start = t.started_us, end = t.finished_us;
  f.started = start != 0 || f.done;
  if (start) f.seconds = ((end ? end : now_us) - start) / 1e6;
  return f;
}

std::string Line(const std::string& name, const Figures& f, const std::string& parts,
                 size_t width) {
  char out[512];
  std::string rows = std::to_string(f.rows);
  if (f.rows_estimate && !f.done) rows += "/~" + std::to_string(f.rows_estimate);
  std::snprintf(out, sizeof out, "%-32s %22s rows %10s %9s/s %9s rows/s  ETA %-8s %s", name.c_str(),
                rows.c_str(), Bytes(static_cast<double>(f.bytes)).c_str(),
                Bytes(f.seconds > 0 ? f.bytes / f.seconds : 0).c_str(),
                std::to_string(static_cast<uint64_t>(f.Rate())).c_str(),
                f.done ? "done" : Clock(f.Eta()).c_str(), parts.c_str());
  std::string line = out;
  if (line.size() > width) line.resize(width);
  return line;
}

}  // namespace

std::vector<std::string> RenderProgress(CopyProgress& progress, int64_t now_us, size_t width) {
  std::lock_guard<std::mutex> lock(progress.mutex);
  std::vector<std::string> lines;
  Figures total;
  size_t done = 0, waiting = 0;
  for (const auto& t : progress.tables) {
    Figures f = Of(*t, now_us);
    total.rows += f.rows;
    total.bytes += f.bytes;
    total.rows_estimate += std::max(f.rows_estimate, f.rows);
    if (f.done) {
      ++done;
    } else if (!f.started) {
      ++waiting;
    } else {
      lines.push_back(Line(
          t->table, f, "part " + std::to_string(t->parts_done + 1) + "/" + std::to_string(t->parts),
          width));
    }
  }
  int64_t start = progress.started_us;
  total.seconds = start ? (now_us - start) / 1e6 : 0;
  total.done = done == progress.tables.size();
  lines.push_back(Line("total", total,
                       std::to_string(done) + "/" + std::to_string(progress.tables.size()) +
                           " tables done, " + std::to_string(waiting) + " waiting",
                       width));
  if (int n = progress.indexes; n > 0) {
    std::string line = "indexes and foreign keys: " + std::to_string(progress.indexes_done) +
                       " of " + std::to_string(n) + " re-created";
    if (line.size() > width) line.resize(width);
    lines.push_back(line);
  }
  return lines;
}

std::string ProgressJson(CopyProgress& progress, int64_t now_us, const Status* result) {
  std::lock_guard<std::mutex> lock(progress.mutex);
  json::Writer w;
  w.StartObject();
  w.Key("snapshot").String(progress.snapshot);
  w.Key("stream_starts_at").String(progress.position);
  w.Key("jobs").Int(progress.jobs);
  w.Key("resumed").Bool(progress.resumed);
  int64_t start = progress.started_us;
  w.Key("seconds").Fixed(start ? (now_us - start) / 1e6 : 0, 3);
  uint64_t rows = 0, bytes = 0;
  size_t remaining = 0;
  w.Key("tables").StartArray();
  for (const auto& t : progress.tables) {
    Figures f = Of(*t, now_us);
    rows += f.rows;
    bytes += f.bytes;
    remaining += !f.done;
    w.StartObject();
    w.Key("table").String(t->table);
    w.Key("rows").Uint(f.rows);
    w.Key("bytes").Uint(f.bytes);
    w.Key("rows_estimate").Uint(f.rows_estimate);
    w.Key("parts").Int(t->parts);
    w.Key("parts_done").Int(t->parts_done);
    w.Key("seconds").Fixed(f.seconds, 3);
    w.Key("rows_per_second").Fixed(f.Rate(), 1);
    w.Key("eta_seconds");
    if (f.Eta() < 0) {
      w.Null();
    } else {
      w.Fixed(f.Eta(), 1);
    }
    w.Key("done").Bool(f.done);
    w.EndObject();
  }
  w.EndArray();
  w.Key("rows").Uint(rows);
  w.Key("bytes").Uint(bytes);
  w.Key("tables_remaining").Uint(remaining);
  w.Key("indexes").Int(progress.indexes);
  w.Key("indexes_rebuilt").Int(progress.indexes_done);
  if (result) {
    w.Key("result").String(result->ok()                        ? "copied"
                           : result->exit_code() == kExitUsage ? "refused"
                                                               : "failed");
    w.Key("error");
    if (result->ok()) {
      w.Null();
    } else {
      w.String(result->message());
    }
  }
  w.EndObject();
  return w.str();
}

}  // namespace stagesync::copy
