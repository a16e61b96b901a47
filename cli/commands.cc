#include "commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/cutover.h"
#include "stagesync/log.h"

namespace stagesync::cli {
namespace {

int ReportProblems(const char* command, const std::vector<std::string>& problems) {
  std::fprintf(stderr, "stagesync %s: %zu problem%s to fix:\n", command, problems.size(),
               problems.size() == 1 ? "" : "s");
  for (const auto& p : problems) std::fprintf(stderr, "  - %s\n", p.c_str());
  return kExitUsage;
}

int Fail(const char* command, const Status& s) {
  std::fprintf(stderr, "stagesync %s: %s\n", command, s.message().c_str());
  return s.exit_code() == kExitOk ? kExitFailure : s.exit_code();
}

// Blocks SIGINT/SIGTERM in every thread and turns them into a stop flag.
class StopSignals {
 public:
  explicit StopSignals(std::atomic<bool>& stop) : stop_(stop) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR2);  // our own wake-up at shutdown
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (sig == SIGUSR2) return;
        LOG_INFO("received " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping cleanly");
        stop_ = true;
      }
    });
  }
  ~StopSignals() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  std::atomic<bool>& stop_;
  sigset_t set_;
  std::thread thread_;
};

}  // namespace

int Setup(const Config& config, const Options&) {
  capture::SourceCheck check;
  if (Status s = capture::CheckPostgresSource(config, &check); !s.ok()) return Fail("setup", s);
  if (!check.problems.empty()) return ReportProblems("setup", check.problems);
  std::vector<std::string> notes, warnings;
  if (Status s = capture::PreparePostgresSource(config, check, &notes); !s.ok())
    return Fail("setup", s);
  if (Status s = apply::PreparePostgresTarget(config, check.tables, &warnings); !s.ok()) {
    return Fail("setup", s);
  }
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& n : notes) std::printf("%s\n", n.c_str());
  std::printf("ready: %zu table%s selected on the source; slot %s, publication %s\n",
              check.tables.size(), check.tables.size() == 1 ? "" : "s", config.source.slot.c_str(),
              config.source.publication.c_str());
  return kExitOk;
}

int Teardown(const Config& config, const Options&) {
  std::vector<std::string> notes;
  if (Status s = capture::TeardownPostgresSource(config, &notes); !s.ok())
    return Fail("teardown", s);
  for (const auto& n : notes) std::printf("%s\n", n.c_str());
  return kExitOk;
}

int StatusCommand(const Config& config, const Options& options) {
  bool tty = isatty(STDOUT_FILENO);
  std::atomic<bool> stop{false};
  std::unique_ptr<StopSignals> signals;
  if (options.watch) signals = std::make_unique<StopSignals>(stop);
  while (true) {
    cutover::SyncStatus st = cutover::ReadStatus(config);
    std::string text = options.json ? cutover::StatusJson(st) + "\n" : cutover::StatusText(st);
    if (options.watch && tty) std::fputs("\033[H\033[2J", stdout);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (!options.watch) break;
    for (int i = 0; i < 10 && !stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stop) break;
  }
  return kExitOk;
}

namespace {

// One life of the pipeline: applier, capture, heartbeat and live status until `stop` is set
// or something fails. Transient failures (a connection lost) come back as such.
Status RunPipeline(const Config& config, const std::atomic<bool>& stop) {
  std::unique_ptr<apply::PostgresApplier> applier;
  if (Status s = apply::PostgresApplier::Open(config, &applier); !s.ok()) return s;
  const Lsn resume = applier->resume_position();
  LOG_INFO("run: applied position " << (resume ? FormatLsn(resume) : "none yet"));

  std::atomic<bool> halt{false};  // this pipeline's stop: a signal, or apply failing
  EventQueue queue(64u * 1024u * 1024u);
  capture::CaptureProgress capture_progress;
  apply::ApplyProgress& apply_progress = applier->progress();
  // Until the stream delivers something, the oldest unapplied change is no older than the
  // last applied commit: lag estimates start from there.
  capture_progress.last_received_commit_time = apply_progress.applied_commit_time.load();

  Status apply_status;
  std::thread apply_thread([&] {
    apply_status = applier->Run(queue);
    if (!apply_status.ok()) {
      halt = true;
      queue.Close();
    }
  });

  capture::HeartbeatWriter heartbeat(config);
  heartbeat.Start();

  // Publishes the live view for `status`, logs progress now and then, and passes a stop
  // request on to this pipeline.
  std::mutex live_mutex;
  std::condition_variable live_wake;
  bool live_done = false;
  std::thread live_thread([&] {
    apply::LiveStatusWriter writer(config);
    const auto interval =
        std::max(std::chrono::milliseconds(200), config.monitor.heartbeat_interval);
    auto last_write = std::chrono::steady_clock::time_point{};
    auto last_log = std::chrono::steady_clock::now();
    bool writer_failing = false;
    std::unique_lock lock(live_mutex);
    while (!live_done) {
      lock.unlock();
      if (stop) halt = true;
      auto now = std::chrono::steady_clock::now();
      if (now - last_write >= interval) {
        last_write = now;
        double lag = cutover::LiveLagSeconds(config, apply_progress, capture_progress, NowUs());
        std::string state = cutover::LiveState(config, lag);
        Status s = writer.Write(lag, state);
        if (!s.ok() && !writer_failing) LOG_WARN("live status: " << s.message() << " (will retry)");
        writer_failing = !s.ok();
        if (now - last_log >= std::chrono::seconds(10)) {
          last_log = now;
          LOG_INFO("run: " << state << ", lag " << lag << " s, applied "
                           << FormatLsn(apply_progress.durable.load()) << ", "
                           << apply_progress.events_applied.load() << " events, "
                           << apply_progress.transactions_applied.load() << " transactions");
        }
      }
      lock.lock();
      live_wake.wait_for(lock, std::chrono::milliseconds(100), [&] { return live_done; });
    }
  });

  std::function<Lsn()> durable = [&] { return apply_progress.durable.load(); };
  std::function<void()> await_apply = [&] {
    if (apply_thread.joinable()) apply_thread.join();
  };
  Status capture_status = capture::RunPostgresCapture(config, resume, queue, durable, await_apply,
                                                      halt, &capture_progress);
  if (apply_thread.joinable()) apply_thread.join();
  heartbeat.Stop();
  {
    std::lock_guard lock(live_mutex);
    live_done = true;
  }
  live_wake.notify_all();
  live_thread.join();
  LOG_INFO("run: applied position " << FormatLsn(apply_progress.durable.load()));
  if (!apply_status.ok()) return apply_status;
  return capture_status;
}

}  // namespace

int Run(const Config& config, const Options&) {
  if (config.stream.transport != "direct") {
    std::fprintf(stderr,
                 "stagesync run: stream.transport = \"%s\" is not supported by `run` in this "
                 "build; use transport = \"direct\"\n",
                 config.stream.transport.c_str());
    return kExitUsage;
  }
  capture::SourceCheck check;
  if (Status s = capture::CheckPostgresSource(config, &check); !s.ok()) return Fail("run", s);
  std::vector<std::string> problems = check.problems;
  if (Status s = apply::CheckPostgresTargetMapping(config, check.tables, &problems); !s.ok()) {
    return Fail("run", s);
  }
  capture::SourcePosition source;
  if (Status s = capture::ReadSourcePosition(config, &source); !s.ok()) return Fail("run", s);
  if (!source.slot_exists) {
    problems.push_back("slot " + config.source.slot +
                       " does not exist on the source: run `stagesync setup`");
  } else if (source.slot_active) {
    problems.push_back("slot " + config.source.slot +
                       " is already being streamed (another `stagesync run`?): stop it first");
  }
  if (!problems.empty()) return ReportProblems("run", problems);
  LOG_INFO("run: " << check.tables.size() << " tables selected");

  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  auto backoff = std::chrono::seconds(1);
  while (true) {
    auto started = std::chrono::steady_clock::now();
    Status s = RunPipeline(config, stop);
    if (s.ok() && stop) break;
    if (!s.ok() && !s.transient()) return Fail("run", s);
    if (stop) break;
    if (std::chrono::steady_clock::now() - started > std::chrono::minutes(1)) {
      backoff = std::chrono::seconds(1);
    }
    LOG_WARN("run: " << (s.ok() ? std::string("the stream ended") : s.message()) << "; retrying in "
                     << backoff.count() << " s");
    for (int i = 0; i < backoff.count() * 10 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (stop) break;
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
  apply::LiveStatusWriter(config).Write(0, "idle");
  LOG_INFO("run: stopped cleanly");
  return kExitOk;
}

}  // namespace stagesync::cli
