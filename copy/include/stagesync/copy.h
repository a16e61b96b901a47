// copy: the initial copy of the selected tables into the target, read from a source snapshot
// taken exactly where the stream starts, tables (and key ranges of large ones) in parallel,
// each range committed with its completion so a killed copy resumes where it stood.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::copy {

struct CopyOptions {
  int jobs = 0;                // 0: copy.jobs
  std::string tables;          // only source tables matching this glob ("" : every selected one)
  bool truncate = false;       // empty the target tables (and any earlier copy) first
  bool create_tables = false;  // create missing target tables from the source's definitions
  // Drop the target tables' secondary indexes and foreign keys before the data and re-create
  // them after it, in parallel (recorded: a resumed copy re-creates what is missing).
  bool rebuild_indexes = false;
};

// One table's figures while the copy runs; readable from other threads.
struct TableProgress {
  std::string table;  // source "schema.table"
  int parts = 1;
  std::atomic<int> parts_done{0};
  std::atomic<uint64_t> rows{0}, bytes{0};  // copied so far, committed or not
  uint64_t rows_estimate = 0, bytes_estimate = 0;
  std::atomic<int64_t> started_us{0}, finished_us{0};  // 0: not yet
};

struct CopyProgress {
  std::mutex mutex;  // guards `tables` being filled; their figures are atomics
  std::vector<std::unique_ptr<TableProgress>> tables;
  std::atomic<int64_t> started_us{0};
  std::string snapshot, position;  // as users read them
  int jobs = 0;
  bool resumed = false;
  std::atomic<int> indexes{0}, indexes_done{0};  // re-created after the data
};

// Runs the copy to its end, or until `stop`. Ok: copied (the stream starts at the snapshot);
// Usage: a precondition (the target has rows, the snapshot is gone, ...), named with its fix;
// Error: a failure; what was committed stays and `copy` resumes from the rest.
Status RunCopy(const Config& config, const CopyOptions& options, const std::atomic<bool>& stop,
               CopyProgress* progress);

// The figures as a person reads them: a line per table (rows, bytes, rate, ETA, parts) and a
// total; `width` bounds each line.
std::vector<std::string> RenderProgress(CopyProgress& progress, int64_t now_us, size_t width);
// The same as one JSON object, for --json; with `result` (the copy's end) also "result"
// ("copied", "failed" or "refused") and "error".
std::string ProgressJson(CopyProgress& progress, int64_t now_us, const Status* result = nullptr);

}  // namespace stagesync::copy
