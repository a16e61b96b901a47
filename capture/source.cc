// capture.h's entry points: each picks the engine's implementation by source.kind.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {
namespace {

bool IsMysql(const Config& config) {
  return config.source.kind == "mysql";
}

}  // namespace

bool Selected(const Config& config, const std::string& qualified) {
  return config.source.Selects(qualified);
}

std::string MysqlStreamLock(const Config& config) {
  return "stagesync:" + config.source.slot;
}

Status CheckSource(const Config& config, SourceCheck* check) {
  return IsMysql(config) ? CheckMysqlSource(config, check) : CheckPostgresSource(config, check);
}

Status PrepareSource(const Config& config, const SourceCheck& check,
                     std::vector<std::string>* notes) {
  return IsMysql(config) ? PrepareMysqlSource(config, check, notes)
                         : PreparePostgresSource(config, check, notes);
}

Status TeardownSource(const Config& config, std::vector<std::string>* notes) {
  return IsMysql(config) ? TeardownMysqlSource(config, notes)
                         : TeardownPostgresSource(config, notes);
}

Status ReadSourcePosition(const Config& config, SourcePosition* out) {
  return IsMysql(config) ? ReadMysqlSourcePosition(config, out)
                         : ReadPostgresSourcePosition(config, out);
}

std::string FormatSourcePosition(const Config& config, const SourcePosition& source, Lsn lsn) {
  if (!IsMysql(config)) return FormatLsn(lsn);
  if (lsn == 0) return "";
  return mysql::FormatPosition(source.binlog_file.empty() ? "binlog.000000" : source.binlog_file,
                               lsn);
}

int64_t SourceBytesBehind(const SourcePosition& source, Lsn done) {
  if (source.current <= done) return 0;
  if (source.binlog_sizes.empty()) return static_cast<int64_t>(source.current - done);
  // Across binlog files: the rest of `done`'s file, the files in between, the current one.
  const uint32_t from_file = done >> 32, to_file = source.current >> 32;
  const uint64_t from_pos = static_cast<uint32_t>(done),
                 to_pos = static_cast<uint32_t>(source.current);
  if (from_file == to_file) return static_cast<int64_t>(to_pos - from_pos);
  int64_t bytes = static_cast<int64_t>(to_pos);
  for (const auto& [file, size] : source.binlog_sizes) {
    if (file == from_file) bytes += static_cast<int64_t>(size > from_pos ? size - from_pos : 0);
    if (file > from_file && file < to_file) bytes += static_cast<int64_t>(size);
  }
  return bytes;
}

Status RunCapture(const Config& config, Lsn start, EventQueue& queue,
                  const std::function<Lsn()>& durable_position,
                  const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
                  CaptureProgress* progress) {
  if (IsMysql(config)) {
    return RunMysqlCapture(config, start, queue, durable_position, await_consumer, stop, progress);
  }
  return RunPostgresCapture(config, start, queue, durable_position, await_consumer, stop, progress);
}

Status ReadCaptureResume(const Config& config, Lsn* out) {
  *out = 0;
  return IsMysql(config) ? ReadMysqlConfirmedPosition(config, out) : Status::Ok();
}

Status PeekOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                               std::optional<TimestampUs>* commit_time) {
  return IsMysql(config) ? PeekMysqlOldestPendingCommit(config, applied, timeout, commit_time)
                         : PeekPostgresOldestPendingCommit(config, applied, timeout, commit_time);
}

struct HeartbeatWriter::State {
  const Config& config;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  explicit State(const Config& c) : config(c) {}
};

HeartbeatWriter::HeartbeatWriter(const Config& config) : state_(std::make_unique<State>(config)) {}
HeartbeatWriter::~HeartbeatWriter() {
  Stop();
}

void HeartbeatWriter::Start() {
  state_->thread = std::thread([s = state_.get()] {
    HeartbeatBeat beat;
    bool warned = false;
    std::unique_lock lock(s->mutex);
    while (!s->stop) {
      lock.unlock();
      try {
        if (!beat)
          beat = IsMysql(s->config) ? MysqlHeartbeat(s->config) : PostgresHeartbeat(s->config);
        beat();
        warned = false;
      } catch (const std::exception& e) {
        beat = nullptr;
        if (!warned) LOG_WARN("heartbeat: " << e.what() << " (will retry)");
        warned = true;
      }
      lock.lock();
      s->wake.wait_for(lock, s->config.monitor.heartbeat_interval, [s] { return s->stop; });
    }
  });
}

void HeartbeatWriter::Stop() {
  if (!state_ || !state_->thread.joinable()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
}

}  // namespace stagesync::capture
