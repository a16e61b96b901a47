#include "commands.h"

#include <signal.h>
#include <unistd.h>

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
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (sig == SIGUSR2) return;  // our own wake-up at shutdown
        LOG_INFO("received " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping cleanly");
        stop_ = true;
      }
    });
  }
  ~StopSignals() {
    sigaddset(&set_, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
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

  std::unique_ptr<apply::PostgresApplier> applier;
  if (Status s = apply::PostgresApplier::Open(config, &applier); !s.ok()) return Fail("run", s);
  const Lsn resume = applier->resume_position();
  LOG_INFO("run: " << check.tables.size() << " tables; applied position "
                   << (resume ? FormatLsn(resume) : "none yet"));

  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  EventQueue queue(64u * 1024u * 1024u);
  capture::CaptureProgress capture_progress;
  apply::ApplyProgress& apply_progress = applier->progress();

  Status apply_status;
  std::thread apply_thread([&] {
    apply_status = applier->Run(queue);
    if (!apply_status.ok()) {
      LOG_ERROR(apply_status.message());
      stop = true;
      queue.Close();
    }
  });

  capture::HeartbeatWriter heartbeat(config);
  heartbeat.Start();

  // Publishes the live view for `status` and logs progress now and then.
  std::mutex live_mutex;
  std::condition_variable live_wake;
  bool live_done = false;
  std::thread live_thread([&] {
    apply::LiveStatusWriter writer(config);
    auto interval = std::max(
        std::chrono::milliseconds(200),
        std::chrono::duration_cast<std::chrono::milliseconds>(config.monitor.heartbeat_interval));
    auto last_log = std::chrono::steady_clock::now();
    std::unique_lock lock(live_mutex);
    while (!live_done) {
      lock.unlock();
      double lag = cutover::LiveLagSeconds(config, apply_progress, capture_progress, NowUs());
      std::string state = cutover::LiveState(config, lag);
      if (Status s = writer.Write(lag, state); !s.ok()) LOG_WARN("live status: " << s.message());
      if (std::chrono::steady_clock::now() - last_log >= std::chrono::seconds(10)) {
        last_log = std::chrono::steady_clock::now();
        LOG_INFO("run: " << state << ", lag " << lag << " s, applied "
                         << FormatLsn(apply_progress.durable.load()) << ", "
                         << apply_progress.events_applied.load() << " events, "
                         << apply_progress.transactions_applied.load() << " transactions");
      }
      lock.lock();
      live_wake.wait_for(lock, interval, [&] { return live_done; });
    }
  });

  std::function<Lsn()> durable = [&] { return apply_progress.durable.load(); };
  std::function<void()> await_apply = [&] {
    if (apply_thread.joinable()) apply_thread.join();
  };
  Status capture_status = capture::RunPostgresCapture(config, resume, queue, durable, await_apply,
                                                      stop, &capture_progress);
  if (apply_thread.joinable()) apply_thread.join();
  heartbeat.Stop();
  {
    std::lock_guard lock(live_mutex);
    live_done = true;
  }
  live_wake.notify_all();
  live_thread.join();
  apply::LiveStatusWriter(config).Write(0, "idle");

  if (!apply_status.ok()) return Fail("run", apply_status);
  if (!capture_status.ok()) return Fail("run", capture_status);
  LOG_INFO("run: stopped cleanly at applied position " << FormatLsn(apply_progress.durable.load()));
  return kExitOk;
}

}  // namespace stagesync::cli
