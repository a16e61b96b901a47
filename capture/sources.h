// The engine-specific halves behind capture.h: one set of functions per source kind.
#pragma once

#include <cppconn/connection.h>
#include <libpq-fe.h>

#include <functional>

#include "stagesync/capture.h"

namespace stagesync::capture {

Status CheckPostgresSource(const Config& config, SourceCheck* check);
Status PreparePostgresSource(const Config& config, const SourceCheck& check,
                             std::vector<std::string>* notes);
Status TeardownPostgresSource(const Config& config, std::vector<std::string>* notes);
Status ReadPostgresSourcePosition(const Config& config, SourcePosition* out);
Status RunPostgresCapture(const Config& config, Lsn start, EventQueue& queue,
                          const std::function<Lsn()>& durable_position,
                          const std::function<void()>& await_consumer,
                          const std::atomic<bool>& stop, CaptureProgress* progress);
Status PeekPostgresOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                       std::optional<TimestampUs>* commit_time);

Status CheckMysqlSource(const Config& config, SourceCheck* check);
Status PrepareMysqlSource(const Config& config, const SourceCheck& check,
                          std::vector<std::string>* notes);
Status TeardownMysqlSource(const Config& config, std::vector<std::string>* notes);
Status ReadMysqlSourcePosition(const Config& config, SourcePosition* out);
Status RunMysqlCapture(const Config& config, Lsn start, EventQueue& queue,
                       const std::function<Lsn()>& durable_position,
                       const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
                       CaptureProgress* progress);
// The start position setup recorded for this stream (and its binlog file name).
Status ReadMysqlStartPosition(const Config& config, Lsn* out, std::string* file);
// `copy`: the stream starts at `file`:`offset` instead (nothing was confirmed from it yet).
Status RecordMysqlStartPosition(const Config& config, const std::string& file, uint32_t offset);
// What a consumer of `capture` confirmed last (Kafka took it), kept on the source because
// MySQL has no slot; 0 if nothing yet. Written by the capture as the consumer confirms.
Status ReadMysqlConfirmedPosition(const Config& config, Lsn* out);
void WriteMysqlConfirmedPosition(sql::Connection& conn, const Config& config, Lsn position);
Status PeekMysqlOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                    std::optional<TimestampUs>* commit_time);

// One heartbeat write on a connection the returned function keeps; throws on failure (the
// caller drops the function to reconnect).
using HeartbeatBeat = std::function<void()>;
HeartbeatBeat PostgresHeartbeat(const Config& config);
HeartbeatBeat MysqlHeartbeat(const Config& config);

Status TakePostgresSnapshot(const Config& config, int readers,
                            std::unique_ptr<SourceSnapshot>* out);
Status ResumePostgresSnapshot(const Config& config, const std::string& id, Lsn position,
                              int64_t holder_pid, int readers,
                              std::unique_ptr<SourceSnapshot>* out);
Status TakeMysqlSnapshot(const Config& config, int readers, std::unique_ptr<SourceSnapshot>* out);
Status ResumeMysqlSnapshot(const Config& config, const std::string& id, Lsn position, int readers,
                           std::unique_ptr<SourceSnapshot>* out);

// libpq connections, closed when dropped, and their last error as one line.
struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;
std::string ConnError(PGconn* conn);

// Whether a source table is selected by source.tables / source.exclude.
bool Selected(const Config& config, const std::string& qualified);
}  // namespace stagesync::capture
