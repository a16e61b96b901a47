// capture: reads committed changes from the source and hands them on as change events.
// PostgreSQL: logical replication with pgoutput over a libpq replication connection.
// MySQL/MariaDB: the row-based binlog, read as a replica with libmariadb's mariadb_rpl API.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/event_queue.h"
#include "stagesync/status.h"
#include "stagesync/table_definition.h"

namespace stagesync::capture {

// `capture` (to Kafka) reports its lag here (there is no `run` to do it on the target).
inline constexpr const char* kCaptureLiveTable = "capture_live";

// A selected source table as the source catalog describes it now (generated columns left out).
using SourceTable = TableShape;

struct SourceCheck {
  std::vector<std::string> problems;  // each with the statement or setting that fixes it
  std::vector<std::string> warnings;
  std::vector<SourceTable> tables;  // selected by source.tables / source.exclude
};

// Checks the source's settings and privileges and that every selected table can be
// replicated. PostgreSQL: wal_level, slots, senders, replica identity. MySQL: log_bin,
// binlog_format/row_image/row_metadata, replication grants, retention, primary/unique keys.
Status CheckSource(const Config& config, SourceCheck* check);

// Creates what capture needs: PostgreSQL publication, pgoutput slot and heartbeat table;
// MySQL heartbeat table and the recorded start position. Idempotent.
Status PrepareSource(const Config& config, const SourceCheck& check,
                     std::vector<std::string>* notes);

// Drops what PrepareSource created.
Status TeardownSource(const Config& config, std::vector<std::string>* notes);

// Where the source stands, for `status`.
// MySQL positions are Lsn values too: binlog file sequence << 32 | offset (see mysql.h).
struct SourcePosition {
  Lsn current = 0;           // pg_current_wal_lsn(); MySQL: the binlog's end
  bool slot_exists = false;  // MySQL: setup has recorded a start position
  Lsn slot_confirmed = 0;    // confirmed_flush_lsn (PostgreSQL only)
  bool slot_active = false;  // MySQL: a capture holds the stream's lock
  TimestampUs source_now = 0;
  std::string binlog_file;                                  // MySQL: the current binlog file
  std::vector<std::pair<uint32_t, uint64_t>> binlog_sizes;  // MySQL: (file sequence, bytes)
};
Status ReadSourcePosition(const Config& config, SourcePosition* out);
// A position as users read it: PostgreSQL "16/B374D848", MySQL "binlog.000003:1234".
std::string FormatSourcePosition(const Config& config, const SourcePosition& source, Lsn lsn);
// Source bytes from `done` to the source's current position (0 if none).
int64_t SourceBytesBehind(const SourcePosition& source, Lsn done);

// Live figures of a running capture, readable from other threads.
struct CaptureProgress {
  std::atomic<Lsn> received{0};        // end of the last message received
  std::atomic<Lsn> server_wal_end{0};  // the server's WAL end as last reported
  std::atomic<Lsn> acknowledged{0};    // confirmed to the slot
  std::atomic<TimestampUs> last_received_commit_time{0};
  std::atomic<uint64_t> messages{0};
};

// Streams the source into `queue` from `start` (0: the slot's confirmed position, or for
// MySQL the position setup recorded) until `stop` is set or an error occurs; then closes the
// queue, calls `await_consumer` (which returns once the consumer has committed what it will)
// and reports the final position. The slot is acknowledged only up to `durable_position()`,
// what the consumer has durably committed (MySQL has nothing to acknowledge).
Status RunCapture(const Config& config, Lsn start, EventQueue& queue,
                  const std::function<Lsn()>& durable_position,
                  const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
                  CaptureProgress* progress);

// The named lock (GET_LOCK) a running MySQL capture of this stream holds on the source.
std::string MysqlStreamLock(const Config& config);

// `capture`'s live view, on the source: its lag (the oldest change not yet confirmed by Kafka)
// and when it last said so. Writes use their own connection; call from one thread.
class CaptureLiveWriter {
 public:
  explicit CaptureLiveWriter(const Config& config);
  ~CaptureLiveWriter();
  Status Write(double lag_seconds);

 private:
  const Config& config_;
  struct Connection;
  std::unique_ptr<Connection> conn_;
};
struct CaptureLive {
  double lag_seconds = 0;
  double age_seconds = 0;  // since live_at, by the source's clock
};
// nullopt: no capture has reported (or the table is missing: `setup` creates it).
Status ReadCaptureLive(const Config& config, std::optional<CaptureLive>* out);

// Where `capture` (to Kafka) resumes: 0 for PostgreSQL (the slot knows); for MySQL the
// position Kafka last confirmed, which capture records on the source.
Status ReadCaptureResume(const Config& config, Lsn* out);

// For `status` while nothing streams the slot: the commit time of the oldest transaction the
// slot still holds for us (nullopt: none). Decodes without consuming; bounded by `timeout`.
Status PeekOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                               std::optional<TimestampUs>* commit_time);

// Writes the source heartbeat row every monitor.heartbeat_interval on its own connection,
// so an idle source still produces transactions and lag stays measurable.
class HeartbeatWriter {
 public:
  explicit HeartbeatWriter(const Config& config);
  ~HeartbeatWriter();
  HeartbeatWriter(const HeartbeatWriter&) = delete;
  HeartbeatWriter& operator=(const HeartbeatWriter&) = delete;
  void Start();
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- `copy`: the source read at the exact point where the stream starts ----

// A selected table as the snapshot reads it: its shape as capture announces it (the same
// column types and key, so copied rows take the stream's value path) and its size.
struct SnapshotTable {
  RelationPtr relation;
  int64_t rows = 0;   // the catalog's estimate
  int64_t bytes = 0;  // on disk
  TableDefinition definition;
};
// One part of a table: bounds as the source reads them ("" = open), by heap page for
// PostgreSQL and by the integer key for MySQL.
struct TableRange {
  int part = 0, parts = 1;
  std::string lower, upper;
};

// One worker's connection into the snapshot.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  // Calls `row` with each row of `range` as the snapshot sees it (values in the relation's
  // column order, in the stream's text format) and its size in bytes; stops at an error.
  virtual Status Read(const SnapshotTable& table, const TableRange& range,
                      const std::function<Status(Tuple&&, size_t)>& row) = 0;
  // PostgreSQL: the rows as COPY writes them, for a PostgreSQL target to take as they are:
  // text lines (without the newline; the values Read gives, still escaped), or with `binary`
  // the binary format's tuples (without its header and trailer).
  virtual bool CanReadRaw() const { return false; }
  virtual Status ReadRaw(const SnapshotTable& /*table*/, const TableRange& /*range*/,
                         bool /*binary*/, const std::function<Status(std::string_view)>& /*row*/) {
    return Status::Error("no raw rows from this source");
  }
};

class SourceSnapshot {
 public:
  virtual ~SourceSnapshot() = default;
  // What a resumed copy finds the snapshot by, and where the stream starts after it.
  virtual const std::string& id() const = 0;
  virtual Lsn position() const = 0;
  virtual int64_t holder_pid() const { return 0; }
  // The selected tables, read in the snapshot.
  virtual Status Tables(std::vector<SnapshotTable>* out) = 0;
  // Cuts a table into at most `parts` ranges (one when it is small or cannot be cut).
  virtual Status Split(const SnapshotTable& table, int parts, std::vector<TableRange>* out) = 0;
  // One reader per worker; they all see the same snapshot.
  virtual std::vector<SnapshotReader*> Readers() = 0;
  // The copy is complete: lets go of the snapshot.
  virtual void Release() = 0;
};

// A new snapshot where the stream will start. PostgreSQL: the slot is created anew, exporting
// its snapshot, which a process of its own holds until Release, or until no copy has read it
// for copy.snapshot_hold (so a copy killed mid-way resumes in it). `readers` connections.
Status TakeSnapshot(const Config& config, int readers, std::unique_ptr<SourceSnapshot>* out);
// The snapshot a copy started in, by what it recorded; a usage error that says so when the
// source no longer holds it.
Status ResumeSnapshot(const Config& config, const std::string& id, Lsn position, int64_t holder_pid,
                      int readers, std::unique_ptr<SourceSnapshot>* out);

}  // namespace stagesync::capture
