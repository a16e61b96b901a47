// capture.h's entry points, over the source engine source.kind names (SourceFor).
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sources.h"
#include "stagesync/log.h"
#include "stagesync/mysql.h"

namespace stagesync::capture {
namespace {

// One source engine's side of capture.h, chosen once per call by source.kind.
class SourceEngine {
 public:
  virtual ~SourceEngine() = default;
  virtual Status Check(const Config& config, SourceCheck* check) const = 0;
  virtual Status Prepare(const Config& config, const SourceCheck& check,
                         std::vector<std::string>* notes) const = 0;
  virtual Status Teardown(const Config& config, std::vector<std::string>* notes) const = 0;
  virtual Status ReadPosition(const Config& config, SourcePosition* out) const = 0;
  virtual std::string FormatPosition(const SourcePosition& source, Lsn lsn) const = 0;
  virtual Status Run(const Config& config, Lsn start, EventQueue& queue,
                     const std::function<Lsn()>& durable_position,
                     const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
                     CaptureProgress* progress) const = 0;
  // Where a restarted `capture` resumes when the source keeps no slot (0: from the start).
  virtual Status ReadResume(const Config& config, Lsn* out) const = 0;
  virtual Status PeekOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                         std::optional<TimestampUs>* commit_time) const = 0;
  virtual HeartbeatBeat Heartbeat(const Config& config) const = 0;
  virtual Status Snapshot(const Config& config, int readers,
                          std::unique_ptr<SourceSnapshot>* out) const = 0;
  virtual Status Resume(const Config& config, const std::string& id, Lsn position,
                        int64_t holder_pid, int readers,
                        std::unique_ptr<SourceSnapshot>* out) const = 0;
};

class PostgresSource : public SourceEngine {
 public:
  Status Check(const Config& config, SourceCheck* check) const override {
    return CheckPostgresSource(config, check);
  }
  Status Prepare(const Config& config, const SourceCheck& check,
                 std::vector<std::string>* notes) const override {
    return PreparePostgresSource(config, check, notes);
  }
  Status Teardown(const Config& config, std::vector<std::string>* notes) const override {
    return TeardownPostgresSource(config, notes);
  }
  Status ReadPosition(const Config& config, SourcePosition* out) const override {
    return ReadPostgresSourcePosition(config, out);
  }
  std::string FormatPosition(const SourcePosition&, Lsn lsn) const override {
    return FormatLsn(lsn);
  }
  Status Run(const Config& config, Lsn start, EventQueue& queue,
             const std::function<Lsn()>& durable_position,
             const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
             CaptureProgress* progress) const override {
    return RunPostgresCapture(config, start, queue, durable_position, await_consumer, stop,
                              progress);
  }
  // The slot holds the position.
  Status ReadResume(const Config&, Lsn* out) const override {
    *out = 0;
    return Status::Ok();
  }
  Status PeekOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                 std::optional<TimestampUs>* commit_time) const override {
    return PeekPostgresOldestPendingCommit(config, applied, timeout, commit_time);
  }
  HeartbeatBeat Heartbeat(const Config& config) const override { return PostgresHeartbeat(config); }
  Status Snapshot(const Config& config, int readers,
                  std::unique_ptr<SourceSnapshot>* out) const override {
    return TakePostgresSnapshot(config, readers, out);
  }
  Status Resume(const Config& config, const std::string& id, Lsn position, int64_t holder_pid,
                int readers, std::unique_ptr<SourceSnapshot>* out) const override {
    return ResumePostgresSnapshot(config, id, position, holder_pid, readers, out);
  }
};

class MysqlSource : public SourceEngine {
 public:
  Status Check(const Config& config, SourceCheck* check) const override {
    return CheckMysqlSource(config, check);
  }
  Status Prepare(const Config& config, const SourceCheck& check,
                 std::vector<std::string>* notes) const override {
    return PrepareMysqlSource(config, check, notes);
  }
  Status Teardown(const Config& config, std::vector<std::string>* notes) const override {
    return TeardownMysqlSource(config, notes);
  }
  Status ReadPosition(const Config& config, SourcePosition* out) const override {
    return ReadMysqlSourcePosition(config, out);
  }
  std::string FormatPosition(const SourcePosition& source, Lsn lsn) const override {
    if (lsn == 0) return "";
    return mysql::FormatPosition(source.binlog_file.empty() ? "binlog.000000" : source.binlog_file,
                                 lsn);
  }
  Status Run(const Config& config, Lsn start, EventQueue& queue,
             const std::function<Lsn()>& durable_position,
             const std::function<void()>& await_consumer, const std::atomic<bool>& stop,
             CaptureProgress* progress) const override {
    return RunMysqlCapture(config, start, queue, durable_position, await_consumer, stop, progress);
  }
  Status ReadResume(const Config& config, Lsn* out) const override {
    *out = 0;
    return ReadMysqlConfirmedPosition(config, out);
  }
  Status PeekOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                                 std::optional<TimestampUs>* commit_time) const override {
    return PeekMysqlOldestPendingCommit(config, applied, timeout, commit_time);
  }
  HeartbeatBeat Heartbeat(const Config& config) const override { return MysqlHeartbeat(config); }
  Status Snapshot(const Config& config, int readers,
                  std::unique_ptr<SourceSnapshot>* out) const override {
    return TakeMysqlSnapshot(config, readers, out);
  }
  Status Resume(const Config& config, const std::string& id, Lsn position, int64_t, int readers,
                std::unique_ptr<SourceSnapshot>* out) const override {
    return ResumeMysqlSnapshot(config, id, position, readers, out);
  }
};

const SourceEngine& SourceFor(const Config& config) {
  static const PostgresSource postgres;
  static const MysqlSource mysql;
  if (config.source.kind == Engine::kMysql) return mysql;
  return postgres;
}

}  // namespace

bool Selected(const Config& config, const std::string& qualified) {
  return config.source.Selects(qualified);
}

std::string MysqlStreamLock(const Config& config) {
  return "stagesync:" + config.source.slot;
}

Status CheckSource(const Config& config, SourceCheck* check) {
  return SourceFor(config).Check(config, check);
}

Status PrepareSource(const Config& config, const SourceCheck& check,
                     std::vector<std::string>* notes) {
  return SourceFor(config).Prepare(config, check, notes);
}

Status TakeSnapshot(const Config& config, int readers, std::unique_ptr<SourceSnapshot>* out) {
  return SourceFor(config).Snapshot(config, readers, out);
}

Status ResumeSnapshot(const Config& config, const std::string& id, Lsn position, int64_t holder_pid,
                      int readers, std::unique_ptr<SourceSnapshot>* out) {
  return SourceFor(config).Resume(config, id, position, holder_pid, readers, out);
}

Status TeardownSource(const Config& config, std::vector<std::string>* notes) {
  return SourceFor(config).Teardown(config, notes);
}

Status ReadSourcePosition(const Config& config, SourcePosition* out) {
  return SourceFor(config).ReadPosition(config, out);
}

std::string FormatSourcePosition(const Config& config, const SourcePosition& source, Lsn lsn) {
  return SourceFor(config).FormatPosition(source, lsn);
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
  return SourceFor(config).Run(config, start, queue, durable_position, await_consumer, stop,
                               progress);
}

Status ReadCaptureResume(const Config& config, Lsn* out) {
  return SourceFor(config).ReadResume(config, out);
}

Status PeekOldestPendingCommit(const Config& config, Lsn applied, Duration timeout,
                               std::optional<TimestampUs>* commit_time) {
  return SourceFor(config).PeekOldestPendingCommit(config, applied, timeout, commit_time);
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
        if (!beat) beat = SourceFor(s->config).Heartbeat(s->config);
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
