// The copy's plan and workers: the snapshot, the plan of ranges recorded on the target, and
// `jobs` workers that each read ranges from their snapshot connection and write them through
// their own target session, the largest tables first.
#include "stagesync/copy.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/log.h"
#include "stagesync/run.h"

namespace stagesync::copy {
namespace {

// Rows handed to the target at once (a COPY, or set-based writes of the stream's applier).
// Chunks in flight, over all workers, hold about kChunkBytesInFlight of source rows (a row in
// memory takes a few times its bytes); per worker, one being read, two queued, one written.
constexpr size_t kChunkRows = 20000;
constexpr size_t kChunkBytesInFlight = 64u << 20;

struct Work {
  const capture::SnapshotTable* table;
  apply::CopyRange range;
  TableProgress* progress;
  int phase = 0;  // 0: tables whose rows run [[after]] rules; 1: the others
};

std::string List(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "\n  " + i;
  return out;
}

// The ranges not yet done, the largest tables first (they bound the copy's length), each
// table's parts in order. Tables whose rows run [[after]] rules come first, and the others
// start only once those are committed: their computed columns read what the rules wrote
// (a permission's domain, of its tenant), which a transaction still open would hide.
class Plan {
 public:
  void Add(Work w) { work_.push_back(std::move(w)); }
  void Order() {
    std::stable_sort(work_.begin(), work_.end(), [](const Work& a, const Work& b) {
      if (a.phase != b.phase) return a.phase < b.phase;
      return a.table->bytes > b.table->bytes;
    });
  }
  // The next range, once every range of an earlier phase is committed; false when there is
  // none left (or the copy failed). A range of a table no other worker is writing goes
  // first: two writers of one table wait on each other to extend it.
  bool Next(Work* out) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] {
      return failed_ || work_.empty() || in_flight_ == 0 || work_.front().phase == phase_;
    });
    if (work_.empty() || failed_) return false;
    auto pick = work_.begin();
    for (auto it = work_.begin(); it != work_.end() && it->phase == work_.front().phase; ++it) {
      if (writing_[it->table] == 0) {
        pick = it;
        break;
      }
    }
    *out = std::move(*pick);
    work_.erase(pick);
    phase_ = out->phase;
    ++in_flight_;
    ++writing_[out->table];
    return true;
  }
  void Committed(const Work& work) {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    --writing_[work.table];
    changed_.notify_all();
  }
  void Fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_) error_ = s;
    failed_ = true;
    changed_.notify_all();
  }
  bool failed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
  }
  Status error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }
  size_t size() const { return work_.size(); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Work> work_;
  std::map<const capture::SnapshotTable*, int> writing_;  // ranges in flight per table
  int phase_ = 0, in_flight_ = 0;
  bool failed_ = false;
  Status error_ = Status::Ok();
};

// Reading and writing overlap: the reader fills a chunk while this thread writes the one
// before (two queued at most).
template <typename Chunk>
class ChunkWriter {
 public:
  explicit ChunkWriter(std::function<Status(Chunk&)> write)
      : write_(std::move(write)), thread_([this] { Loop(); }) {}
  ~ChunkWriter() { Close(); }
  // Queues a chunk (waits while two are queued); the writer's error once it has failed.
  Status Put(Chunk chunk) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < 2 || !status_.ok(); });
    if (!status_.ok()) return status_;
    queue_.push_back(std::move(chunk));
    changed_.notify_all();
    return Status::Ok();
  }
  // Waits until every queued chunk is written; the first error.
  Status Close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  void Loop() {
    while (true) {
      Chunk chunk;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        chunk = std::move(queue_.front());
        queue_.pop_front();
        changed_.notify_all();
      }
      if (Status s = write_(chunk); !s.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = s;
        queue_.clear();
        changed_.notify_all();
        return;
      }
    }
  }

  std::function<Status(Chunk&)> write_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Chunk> queue_;
  bool closed_ = false;
  Status status_ = Status::Ok();
  std::thread thread_;  // last: starts once the rest is built
};

// A range's rows gathered into chunks, each handed to the writer's thread once full (by rows
// or bytes), counted as they come.
template <typename Chunk>
class Chunker {
 public:
  Chunker(Work& work, size_t limit, Chunk empty, std::function<Status(Chunk&)> write,
          uint64_t* count, uint64_t* bytes)
      : work_(work),
        limit_(limit),
        empty_(std::move(empty)),
        chunk_(empty_),
        writer_(std::move(write)),
        count_(count),
        bytes_(bytes) {}
  Chunk& chunk() { return chunk_; }
  // A row of `size` bytes was added to chunk(), which now holds `rows`.
  Status Added(size_t size, size_t rows) {
    ++*count_;
    *bytes_ += size;
    chunk_bytes_ += size;
    work_.progress->rows += 1;
    work_.progress->bytes += size;
    if (rows < kChunkRows && chunk_bytes_ < limit_) return Status::Ok();
    chunk_bytes_ = 0;
    return writer_.Put(std::exchange(chunk_, empty_));
  }
  // The read's end (`read`: how it ended): the last chunk is handed over and every write
  // waited for; the first error.
  Status Finish(Status read, size_t rows) {
    if (read.ok() && rows > 0) read = writer_.Put(std::move(chunk_));
    Status written = writer_.Close();
    return read.ok() ? written : read;
  }

 private:
  Work& work_;
  const size_t limit_;
  const Chunk empty_;
  Chunk chunk_;
  size_t chunk_bytes_ = 0;
  ChunkWriter<Chunk> writer_;
  uint64_t *count_, *bytes_;
};

// Reads the range and hands its rows to the writer's thread in chunks: as change events, or
// as the source's COPY rows in `format`.
Status ReadRange(capture::SnapshotReader& reader, apply::CopyWriter& writer, Work& work,
                 apply::RawFormat format, size_t chunk_limit, const std::atomic<bool>& stop,
                 uint64_t* count, uint64_t* bytes) {
  const RelationPtr& relation = work.table->relation;
  const capture::TableRange range{work.range.part, work.range.parts, work.range.lower,
                                  work.range.upper};
  if (format != apply::RawFormat::kNone) {
    const bool binary = format == apply::RawFormat::kBinary;
    Chunker<apply::RawRows> out(
        work, chunk_limit, apply::RawRows{format, {}, 0},
        [&](apply::RawRows& chunk) { return writer.WriteRaw(relation, chunk); }, count, bytes);
    Status s = reader.ReadRaw(*work.table, range, binary, [&](std::string_view row) {
      if (stop) return Status::Error("stopped");
      apply::RawRows& chunk = out.chunk();
      chunk.data.append(row);
      if (!binary) chunk.data += '\n';
      return out.Added(row.size() + 1, ++chunk.count);
    });
    return out.Finish(s, out.chunk().count);
  }
  Chunker<std::vector<ChangeEvent>> out(
      work, chunk_limit, {}, [&](std::vector<ChangeEvent>& chunk) { return writer.Write(chunk); },
      count, bytes);
  Status s = reader.Read(*work.table, range, [&](Tuple&& tuple, size_t size) {
    if (stop) return Status::Error("stopped");
    RowChange change;
    change.op = RowOp::kInsert;
    change.relation = relation;
    change.new_tuple = std::move(tuple);
    out.chunk().push_back(std::move(change));
    return out.Added(size, out.chunk().size());
  });
  return out.Finish(s, out.chunk().size());
}

// One range, committed with its mark. Between PostgreSQL servers a table without rules goes
// as the source's COPY rows; if the target rejects them, the range is rolled back and copied
// again value by value, whose writes name the failing row.
Status CopyOneRange(capture::SnapshotReader& reader, apply::CopyWriter& writer, Work& work,
                    size_t chunk_limit, const std::atomic<bool>& stop) {
  const RelationPtr& relation = work.table->relation;
  apply::RawFormat format = apply::RawFormat::kNone;
  if (reader.CanReadRaw()) {
    if (Status s = writer.TakesRaw(relation, work.table->definition, &format); !s.ok()) return s;
  }
  if (work.range.part == 0) {
    LOG_DEBUG("copy: " << relation->QualifiedName() << " goes "
                       << (format == apply::RawFormat::kBinary ? "as the source's binary COPY rows"
                           : format == apply::RawFormat::kText ? "as the source's COPY text lines"
                                                               : "value by value"));
  }
  Status s = Status::Ok();
  for (;;) {
    uint64_t count = 0, bytes = 0;
    s = ReadRange(reader, writer, work, format, chunk_limit, stop, &count, &bytes);
    if (s.ok()) {
      work.range.rows = count;
      work.range.bytes = bytes;
      s = writer.Done(work.range);
    }
    if (s.ok()) return s;
    writer.Abandon();
    // What this range had counted is rolled back with it.
    work.progress->rows -= count;
    work.progress->bytes -= bytes;
    if (format == apply::RawFormat::kNone || s.transient() || stop) break;
    LOG_INFO("copy: " << relation->QualifiedName() << ": the target refused its COPY rows ("
                      << s.message() << "); copying the range again value by value");
    format = apply::RawFormat::kNone;
  }
  std::string where = work.range.parts > 1 ? " (part " + std::to_string(work.range.part + 1) +
                                                 " of " + std::to_string(work.range.parts) + ")"
                                           : "";
  std::string text = "copying " + relation->QualifiedName() + where + ": " + s.message();
  return s.exit_code() == kExitUsage ? Status::Usage(text)
         : s.transient()             ? Status::Transient(text)
                                     : Status::Error(text);
}

// The selected tables as bare relations (names only), for the target checks made before the
// snapshot is taken.
std::vector<RelationPtr> Relations(const std::vector<TableShape>& tables) {
  std::vector<RelationPtr> out;
  for (const auto& t : tables) {
    auto rel = std::make_shared<SourceRelation>();
    rel->schema = t.schema;
    rel->name = t.name;
    out.push_back(std::move(rel));
  }
  return out;
}

bool Chosen(const CopyOptions& options, const std::string& qualified) {
  return options.tables.empty() || GlobMatch(options.tables, qualified);
}

std::string DescribeRanges(const apply::CopyState& state) {
  size_t done = 0;
  std::map<std::string, bool> tables;  // complete?
  for (const auto& r : state.ranges) {
    done += r.done;
    auto [it, fresh] = tables.emplace(r.table, true);
    it->second = it->second && r.done;
  }
  size_t complete = std::count_if(tables.begin(), tables.end(), [](auto& t) { return t.second; });
  return std::to_string(done) + " of " + std::to_string(state.ranges.size()) +
         " ranges were copied (" + std::to_string(complete) + " of " +
         std::to_string(tables.size()) + " tables complete)";
}

// A fresh copy's target: emptied with --truncate; otherwise it must hold no rows.
Status PrepareTarget(const CopyOptions& options, apply::CopyWriter& control,
                     const std::vector<RelationPtr>& relations) {
  if (options.truncate) {
    if (Status s = control.Truncate(relations); !s.ok()) return s;
    LOG_INFO("copy: emptied the target tables of " << relations.size() << " source tables");
    return Status::Ok();
  }
  std::vector<std::string> with_rows;
  if (Status s = control.TablesWithRows(relations, &with_rows); !s.ok()) return s;
  if (!with_rows.empty()) {
    return Status::Usage("these target tables already hold rows:" + List(with_rows) +
                         "\nempty them, or run `stagesync copy --truncate` to have copy do it");
  }
  return Status::Ok();
}

// --create-tables: every chosen table the target lacks, created from its definition; then the
// target is checked as `run` would check it.
Status CreateMissingTables(const Config& config, const CopyOptions& options,
                           capture::SourceSnapshot& snapshot, apply::CopyWriter& control,
                           const std::vector<TableShape>& chosen) {
  std::vector<capture::SnapshotTable> tables;
  if (Status s = snapshot.Tables(&tables); !s.ok()) return s;
  std::vector<std::string> problems, notes;
  for (const auto& t : tables) {
    if (!Chosen(options, t.relation->QualifiedName())) continue;
    bool created = false;
    Status s = control.CreateTable(t.relation, t.definition, &created, &notes);
    if (s.exit_code() == kExitUsage) {
      problems.push_back(s.message());
    } else if (!s.ok()) {
      return s;
    } else if (created) {
      LOG_INFO("copy: created the target table of " << t.relation->QualifiedName());
    }
  }
  for (const auto& n : notes) LOG_WARN("copy: " << n);
  if (Status s = apply::CheckTargetMapping(config, chosen, &problems); !s.ok()) return s;
  if (!problems.empty()) return Status::Usage("cannot copy:" + List(problems));
  return Status::Ok();
}

// --rebuild-indexes, after the data: what is not re-created yet, `jobs` at a time, the
// indexes and keys before the foreign keys (which may need them).
Status RebuildIndexes(const Config& config, const std::vector<apply::CopyIndex>& indexes, int jobs,
                      const std::atomic<bool>& stop, CopyProgress* progress) {
  for (bool foreign : {false, true}) {
    std::vector<const apply::CopyIndex*> todo;
    for (const auto& i : indexes) {
      if (!i.rebuilt && i.foreign() == foreign) todo.push_back(&i);
    }
    std::atomic<size_t> next{0};
    std::mutex mutex;
    Status failed = Status::Ok();
    std::vector<std::thread> workers;
    for (int w = 0; w < std::min<int>(jobs, static_cast<int>(todo.size())); ++w) {
      workers.emplace_back([&] {
        std::unique_ptr<apply::CopyWriter> writer;
        Status s = apply::OpenCopyWriter(config, &writer);
        for (size_t at; s.ok() && !stop && (at = next++) < todo.size();) {
          const int64_t t0 = NowUs();
          s = writer->RebuildIndex(*todo[at]);
          if (s.ok()) {
            ++progress->indexes_done;
            LOG_INFO("copy: re-created " << todo[at]->Shown() << " in " << (NowUs() - t0) / 1000
                                         << " ms");
          }
        }
        if (!s.ok()) {
          next = todo.size();
          std::lock_guard<std::mutex> lock(mutex);
          if (failed.ok()) failed = s;
        }
      });
    }
    for (auto& w : workers) w.join();
    if (!failed.ok()) return failed;
  }
  return Status::Ok();
}

// The data is copied: the indexes left are re-created, and the copy marked finished.
Status FinishCopy(const Config& config, const apply::CopyState& state, int jobs,
                  const std::atomic<bool>& stop, apply::CopyWriter& control,
                  CopyProgress* progress) {
  progress->indexes = static_cast<int>(state.indexes.size());
  progress->indexes_done = 0;
  for (const auto& i : state.indexes) progress->indexes_done += i.rebuilt;
  if (Status s = RebuildIndexes(config, state.indexes, jobs, stop, progress); !s.ok()) return s;
  if (stop) {
    return Status::Error(
        "stopped while re-creating the indexes: run `stagesync copy` again to re-create the "
        "rest");
  }
  if (Status s = control.Finish(state.position); !s.ok()) return s;
  LOG_INFO("copy: complete; the stream starts at "
           << DescribePosition(config.source.kind, state.position));
  return Status::Ok();
}

}  // namespace

Status RunCopy(const Config& config, const CopyOptions& options, const std::atomic<bool>& stop,
               CopyProgress* progress) {
  const int jobs = options.jobs > 0 ? options.jobs : config.copy.jobs;
  capture::SourceCheck check;
  // With --create-tables, missing target tables are created before the target is checked.
  if (Status s = run::PreflightSource(config, !options.create_tables, &check); !s.ok()) return s;
  if (!check.problems.empty()) {
    return Status::Usage("cannot copy:" + List(check.problems));
  }
  std::vector<TableShape> chosen;
  for (const auto& t : check.tables) {
    if (Chosen(options, t.QualifiedName())) chosen.push_back(t);
  }
  if (chosen.empty()) {
    return Status::Usage("--tables " + options.tables + " matches none of the selected tables");
  }
  if (chosen.size() < check.tables.size()) {
    LOG_WARN("copy: " << check.tables.size() - chosen.size()
                      << " selected tables are left out by --tables; they must already hold "
                         "what the source had at the snapshot, or the stream will not converge");
  }

  std::unique_ptr<apply::CopyWriter> control;
  if (Status s = apply::OpenCopyWriter(config, &control); !s.ok()) return s;
  apply::CopyState state;
  if (Status s = apply::ReadCopyState(config, &state); !s.ok()) return s;

  // Indexes an earlier copy dropped and has not re-created: a copy afresh keeps them on its
  // list.
  std::vector<apply::CopyIndex> carried;
  for (const auto& i : state.indexes) {
    if (!i.rebuilt) carried.push_back(i);
  }
  std::unique_ptr<capture::SourceSnapshot> snapshot;
  const bool data_copied =
      !state.ranges.empty() &&
      std::all_of(state.ranges.begin(), state.ranges.end(), [](auto& r) { return r.done; });
  if (state.found && !state.finished && !options.truncate && data_copied) {
    // Only the indexes are left: no snapshot is needed any more.
    progress->resumed = true;
    LOG_INFO("copy: every range was copied; re-creating the indexes and keys left");
    if (Status s = FinishCopy(config, state, jobs, stop, *control, progress); !s.ok()) return s;
    // A PostgreSQL snapshot's holder may still wait for the copy: it is let go.
    if (capture::ResumeSnapshot(config, state.snapshot, state.position, state.holder_pid, 1,
                                &snapshot)
            .ok()) {
      snapshot->Release();
    }
    return Status::Ok();
  }
  if (state.found && !state.finished && !options.truncate) {
    Status s = capture::ResumeSnapshot(config, state.snapshot, state.position, state.holder_pid,
                                       jobs, &snapshot);
    if (s.exit_code() == kExitUsage) {
      return Status::Usage(
          "the copy started from snapshot " + state.snapshot + " cannot resume: " + s.message() +
          ". " + DescribeRanges(state) +
          ": what is missing cannot be read as of that snapshot any more, and rows copied from "
          "a newer one would not line up with the stream. Run `stagesync copy --truncate` to "
          "empty the target tables and copy everything again from a new snapshot");
    }
    if (!s.ok()) return s;
    progress->resumed = true;
    LOG_INFO("copy: resuming in snapshot " << state.snapshot << "; " << DescribeRanges(state));
  } else {
    if (state.found && state.finished && !options.truncate) {
      LOG_INFO("copy: the copy into this target finished already; the stream starts at "
               << DescribePosition(config.source.kind, state.position));
      return Status::Ok();
    }
    apply::AppliedPosition applied;
    if (Status s = apply::ReadAppliedPosition(config, &applied); !s.ok()) return s;
    if (!options.truncate && applied.found && applied.lsn != 0) {
      return Status::Usage(
          "the stream has already applied changes to the target (up to " +
          DescribePosition(config.source.kind, applied.lsn) +
          "): a copy now would not line up with it. Run `stagesync copy --truncate` to empty "
          "the target tables and copy afresh");
    }
    if (options.create_tables) {
      // The definitions are read in the snapshot: it comes first.
      if (Status s = capture::TakeSnapshot(config, jobs, &snapshot); !s.ok()) return s;
      if (Status s = CreateMissingTables(config, options, *snapshot, *control, chosen); !s.ok()) {
        snapshot->Release();
        return s;
      }
    }
    if (Status s = PrepareTarget(options, *control, Relations(chosen)); !s.ok()) {
      if (snapshot) snapshot->Release();
      return s;
    }
    if (!snapshot) {
      if (Status s = capture::TakeSnapshot(config, jobs, &snapshot); !s.ok()) return s;
    }
  }

  std::vector<capture::SnapshotTable> tables;
  Status s = snapshot->Tables(&tables);
  if (s.ok() && !progress->resumed) {
    state = apply::CopyState{};
    state.snapshot = snapshot->id();
    state.position = snapshot->position();
    state.holder_pid = snapshot->holder_pid();
    for (const auto& t : tables) {
      if (!Chosen(options, t.relation->QualifiedName())) continue;
      std::vector<capture::TableRange> ranges;
      if (s = snapshot->Split(t, config.copy.max_parts, &ranges); !s.ok()) break;
      for (const auto& r : ranges) {
        state.ranges.push_back(
            apply::CopyRange{t.relation->QualifiedName(), r.part, r.parts, r.lower, r.upper});
      }
    }
    if (s.ok()) s = control->Start(state);
    if (s.ok() && (options.rebuild_indexes || !carried.empty())) {
      s = control->DropIndexes(
          options.rebuild_indexes ? Relations(chosen) : std::vector<RelationPtr>{}, carried,
          &state.indexes);
      if (s.ok()) {
        LOG_INFO("copy: dropped " << state.indexes.size() - carried.size()
                                  << " secondary indexes and foreign keys of the target tables; "
                                     "they are re-created after the data");
      }
    }
  } else if (options.rebuild_indexes && state.indexes.empty()) {
    LOG_WARN(
        "copy: --rebuild-indexes is ignored: the copy resumes as it was started, with "
        "the target's indexes in place");
  }
  if (!s.ok()) {
    if (!progress->resumed) snapshot->Release();
    return s;
  }

  // The plan: every range not done yet, with its table's figures.
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(progress->mutex);
    progress->snapshot = state.snapshot;
    progress->position = DescribePosition(config.source.kind, state.position);
    for (const auto& t : tables) {
      const std::string name = t.relation->QualifiedName();
      auto figures = std::make_unique<TableProgress>();
      figures->table = name;
      figures->rows_estimate = static_cast<uint64_t>(t.rows);
      figures->bytes_estimate = static_cast<uint64_t>(t.bytes);
      int parts = 0;
      bool after = false;
      for (const auto& r : state.ranges) {
        if (r.table != name) continue;
        if (parts++ == 0) {
          if (Status s = control->RunsAfterRules(t.relation, &after); !s.ok()) return s;
        }
        if (r.done) {
          figures->parts_done++;
          figures->rows += r.rows;
          figures->bytes += r.bytes;
        } else {
          plan.Add(Work{&t, r, figures.get(), after ? 0 : 1});
        }
      }
      if (parts == 0) continue;  // not chosen
      figures->parts = parts;
      if (figures->parts_done == parts) figures->finished_us = NowUs();
      progress->tables.push_back(std::move(figures));
    }
    progress->started_us = NowUs();
  }
  size_t accounted = plan.size();
  for (const auto& t : progress->tables) accounted += static_cast<size_t>(t->parts_done);
  if (accounted != state.ranges.size()) {
    return Status::Usage(
        "the copy's plan names tables the source no longer has (or selects): "
        "run `stagesync copy --truncate` to copy afresh");
  }
  progress->indexes = static_cast<int>(state.indexes.size());
  for (const auto& i : state.indexes) progress->indexes_done += i.rebuilt;
  plan.Order();
  std::vector<capture::SnapshotReader*> readers = snapshot->Readers();
  progress->jobs = static_cast<int>(readers.size());
  LOG_INFO("copy: " << plan.size() << " ranges of " << progress->tables.size() << " tables with "
                    << readers.size() << " workers, snapshot " << state.snapshot);

  const size_t chunk_limit = std::max<size_t>(1u << 20, kChunkBytesInFlight / (4 * readers.size()));
  std::vector<std::thread> workers;
  for (capture::SnapshotReader* reader : readers) {
    workers.emplace_back([&, reader] {
      std::unique_ptr<apply::CopyWriter> writer;
      if (Status s = apply::OpenCopyWriter(config, &writer); !s.ok()) {
        plan.Fail(s);
        return;
      }
      Work work;
      while (!stop && plan.Next(&work)) {
        int64_t unset = 0;
        work.progress->started_us.compare_exchange_strong(unset, NowUs());
        if (Status s = CopyOneRange(*reader, *writer, work, chunk_limit, stop); !s.ok()) {
          plan.Fail(s);
          return;
        }
        plan.Committed(work);
        if (++work.progress->parts_done == work.progress->parts) {
          work.progress->finished_us = NowUs();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  if (plan.failed()) return plan.error();
  if (stop) {
    return Status::Error(
        "stopped before the copy was complete: run `stagesync copy` again to "
        "resume it");
  }
  if (Status s = FinishCopy(config, state, jobs, stop, *control, progress); !s.ok()) return s;
  snapshot->Release();
  return Status::Ok();
}

}  // namespace stagesync::copy
