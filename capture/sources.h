// The engine-specific halves behind capture.h: one set of functions per source kind.
#pragma once

#include <cppconn/connection.h>

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

// Whether a source table is selected by source.tables / source.exclude.
bool Selected(const Config& config, const std::string& qualified);
}  // namespace stagesync::capture
