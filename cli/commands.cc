#include "commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/cutover.h"
#include "stagesync/kafka.h"
#include "stagesync/log.h"
#include "stagesync/secrets.h"

namespace stagesync::cli {
namespace {

// Everything a command prints goes through here: a driver's message may quote a secret.
void Print(FILE* out, const std::string& text) {
  std::fputs(ScrubSecrets(text).c_str(), out);
}

int ReportProblems(const char* command, const std::vector<std::string>& problems) {
  std::string text = "stagesync " + std::string(command) + ": " + std::to_string(problems.size()) +
                     " problem" + (problems.size() == 1 ? "" : "s") + " to fix:\n";
  for (const auto& p : problems) text += "  - " + p + "\n";
  Print(stderr, text);
  return kExitUsage;
}

int Fail(const char* command, const Status& s) {
  Print(stderr, "stagesync " + std::string(command) + ": " + s.message() + "\n");
  return s.exit_code() == kExitOk ? kExitFailure : s.exit_code();
}

// Blocks SIGINT/SIGTERM (and our wake-up) in the calling thread and the threads it starts.
void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
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
  if (Status s = capture::CheckSource(config, &check); !s.ok()) return Fail("setup", s);
  // Before anything is created: a mistyped [mapping] column is a problem like the source's.
  std::vector<std::string> problems = check.problems;
  if (Status s = apply::CheckMappingColumns(config, check.tables, &problems); !s.ok()) {
    return Fail("setup", s);
  }
  if (!problems.empty()) return ReportProblems("setup", problems);
  std::vector<std::string> notes, warnings;
  if (Status s = capture::PrepareSource(config, check, &notes); !s.ok()) return Fail("setup", s);
  if (Status s = apply::PrepareTarget(config, check.tables, &warnings); !s.ok()) {
    return Fail("setup", s);
  }
  for (const auto& w : check.warnings) Print(stderr, "warning: " + w + "\n");
  for (const auto& w : warnings) Print(stderr, "warning: " + w + "\n");
  for (const auto& n : notes) Print(stdout, n + "\n");
  if (config.source.kind == "mysql") {
    std::printf("ready: %zu table%s selected on the source; stream %s, server_id %u\n",
                check.tables.size(), check.tables.size() == 1 ? "" : "s",
                config.source.slot.c_str(), config.source.server_id);
  } else {
    std::printf("ready: %zu table%s selected on the source; slot %s, publication %s\n",
                check.tables.size(), check.tables.size() == 1 ? "" : "s",
                config.source.slot.c_str(), config.source.publication.c_str());
  }
  return kExitOk;
}

int Teardown(const Config& config, const Options&) {
  std::vector<std::string> notes;
  if (Status s = capture::TeardownSource(config, &notes); !s.ok()) return Fail("teardown", s);
  for (const auto& n : notes) Print(stdout, n + "\n");
  return kExitOk;
}

int StatusCommand(const Config& config, const Options& options) {
  bool tty = isatty(STDOUT_FILENO);
  std::atomic<bool> stop{false};
  std::unique_ptr<StopSignals> signals;
  if (options.watch) signals = std::make_unique<StopSignals>(stop);
  std::optional<cutover::SyncStatus> previous;
  auto previous_at = std::chrono::steady_clock::now();
  while (true) {
    cutover::SyncStatus st = cutover::ReadStatus(config);
    auto now = std::chrono::steady_clock::now();
    std::string text = options.json ? cutover::StatusJson(st) + "\n" : cutover::StatusText(st);
    if (options.watch && !options.json && previous) {
      // Rates between two refreshes: what the sync is doing right now.
      double secs = std::chrono::duration<double>(now - previous_at).count();
      char line[128];
      std::snprintf(
          line, sizeof line, "rate                  %.0f events/s, %.0f transactions/s\n",
          (st.events_applied - std::min(st.events_applied, previous->events_applied)) / secs,
          (st.transactions_applied -
           std::min(st.transactions_applied, previous->transactions_applied)) /
              secs);
      text += line;
    }
    if (options.watch && tty) {
      // Redraw in place: home, each line cleared to its end, then the rest of the screen.
      std::string framed = "\033[H";
      for (size_t at = 0; at < text.size();) {
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        framed += text.substr(at, nl - at) + "\033[K\n";
        at = nl + 1;
      }
      text = framed + "\033[J";
    }
    Print(stdout, text);
    std::fflush(stdout);
    if (!options.watch) break;
    previous = st;
    previous_at = now;
    for (int i = 0; i < 10 && !stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stop) break;
  }
  return kExitOk;
}

int Verify(const Config& config, const Options& options) {
  const bool tty = isatty(STDERR_FILENO);
  cutover::VerifyReport report;
  Status s = cutover::Verify(
      config, options.checksum,
      [&](const std::string& table, size_t done, size_t total) {
        if (!tty) return;
        if (table.empty()) {
          std::fprintf(stderr, "\r\033[K");
        } else {
          std::fprintf(stderr, "\r\033[Kverify: [%zu/%zu] %s", done + 1, total, table.c_str());
        }
        std::fflush(stderr);
      },
      &report);
  if (!s.ok()) return Fail("verify", s);
  Print(stdout, options.json ? cutover::VerifyJson(report) + "\n" : cutover::VerifyText(report));
  return report.equal() ? kExitOk : kExitDifferences;
}

int Cutover(const Config& config, const Options& options) {
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  cutover::CutoverOptions cutover_options;
  cutover_options.max_lag = options.max_lag;
  cutover_options.timeout = options.timeout;
  cutover_options.dry_run = options.dry_run;
  cutover::CutoverReport report;
  Status s = cutover::RunCutover(config, cutover_options, stop, nullptr, &report);
  if (s.exit_code() == kExitUsage) return Fail("cutover", s);
  Print(stdout, options.json ? cutover::CutoverJson(report) + "\n" : cutover::CutoverText(report));
  if (!s.ok()) return Fail("cutover", s);
  return kExitOk;
}

namespace {

// Where captured events go: the applier (run) or Kafka (capture).
struct Downstream {
  Lsn resume = 0;                              // where the slot should start (0: its own)
  TimestampUs last_commit_time = 0;            // of the last transaction already delivered
  std::function<Status(EventQueue&)> consume;  // until the queue closes
  std::function<Lsn()> durable;                // what may be acknowledged to the source
  std::function<double(const capture::CaptureProgress&)> lag;  // live lag, for status
  std::function<std::string()> progress_line;
  // Publishes the live lag and state for `status` (run: on the target; capture: on the source).
  std::function<Status(double lag, const std::string& state)> write_live;
};

// One life of the pipeline: capture into `downstream`, heartbeat and live status, until
// `stop` is set or something fails. Transient failures (a connection lost) come back as such.
Status RunPipeline(const Config& config, const std::atomic<bool>& stop, std::atomic<bool>& up,
                   Downstream downstream) {
  std::atomic<bool> halt{false};  // this pipeline's stop: a signal, or the consumer failing
  EventQueue queue(64u * 1024u * 1024u);
  capture::CaptureProgress capture_progress;
  // Until the stream delivers something, the oldest unapplied change is no older than the
  // last delivered commit: lag estimates start from there.
  capture_progress.last_received_commit_time =
      downstream.last_commit_time ? downstream.last_commit_time : NowUs();

  Status consume_status;
  std::thread consume_thread([&] {
    consume_status = downstream.consume(queue);
    if (!consume_status.ok()) {
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
    const auto interval =
        std::clamp(config.monitor.heartbeat_interval, std::chrono::milliseconds(200),
                   std::chrono::milliseconds(500));
    auto last_write = std::chrono::steady_clock::time_point{};
    auto last_log = std::chrono::steady_clock::now();
    bool writer_failing = false;
    std::unique_lock lock(live_mutex);
    while (!live_done) {
      lock.unlock();
      if (stop) halt = true;
      if (capture_progress.messages.load() > 0) up = true;  // the source is streaming to us
      auto now = std::chrono::steady_clock::now();
      if (now - last_write >= interval) {
        last_write = now;
        double lag = downstream.lag(capture_progress);
        std::string state = cutover::LiveState(config, lag);
        if (downstream.write_live) {
          Status s = downstream.write_live(lag, state);
          if (!s.ok() && !writer_failing)
            LOG_WARN("live status: " << s.message() << " (will retry)");
          writer_failing = !s.ok();
        }
        if (now - last_log >= std::chrono::seconds(10)) {
          last_log = now;
          LOG_INFO(state << ", lag " << lag << " s, " << downstream.progress_line());
        }
      }
      lock.lock();
      live_wake.wait_for(lock, std::chrono::milliseconds(100), [&] { return live_done; });
    }
  });

  std::function<void()> await_consumer = [&] {
    if (consume_thread.joinable()) consume_thread.join();
  };
  Status capture_status = capture::RunCapture(config, downstream.resume, queue, downstream.durable,
                                              await_consumer, halt, &capture_progress);
  if (consume_thread.joinable()) consume_thread.join();
  heartbeat.Stop();
  {
    std::lock_guard lock(live_mutex);
    live_done = true;
  }
  live_wake.notify_all();
  live_thread.join();
  LOG_INFO(downstream.progress_line());
  if (!consume_status.ok()) return consume_status;
  return capture_status;
}

// One life of a pipeline: it ends when `stop` is set or something fails, and sets `up` once
// it reached its source and streams from it.
using Life = std::function<Status(const std::atomic<bool>& stop, std::atomic<bool>& up)>;

// Runs `life` until a signal, restarting it with backoff after transient failures; a life
// that got up starts the backoff afresh. A failure that is not transient ends it, and
// `on_error` hears why.
int RunWithRetries(const char* command, const Life& life,
                   const std::function<void(const Status&)>& on_error = nullptr) {
  std::atomic<bool> stop{false};
  StopSignals signals(stop);
  auto backoff = std::chrono::seconds(1);
  while (true) {
    std::atomic<bool> up{false};
    Status s = life(stop, up);
    if (stop) break;
    if (!s.ok() && !s.transient()) {
      if (on_error) on_error(s);
      return Fail(command, s);
    }
    if (up) backoff = std::chrono::seconds(1);
    LOG_WARN(command << ": " << (s.ok() ? std::string("the stream ended") : s.message())
                     << "; retrying in " << backoff.count() << " s");
    for (int i = 0; i < backoff.count() * 10 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (stop) break;
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
  LOG_INFO(command << ": stopped cleanly");
  return kExitOk;
}

// Keeps the reason a process stopped on the target, so `status` says "error" and why.
std::function<void(const Status&)> RecordError(const Config& config) {
  return [&config](const Status& s) {
    // Scrubbed before it is stored: status and the monitor print it from the target.
    if (Status w = apply::LiveStatusWriter(config).WriteError(ScrubSecrets(s.message())); !w.ok())
      LOG_WARN("could not record the error on the target: " << w.message());
  };
}

// Checks shared by run and capture; prints the problems and returns false if any.
bool PreflightSource(const Config& config, const char* command, bool check_target,
                     capture::SourceCheck* check) {
  if (Status s = capture::CheckSource(config, check); !s.ok()) {
    Fail(command, s);
    return false;
  }
  std::vector<std::string> problems = check->problems;
  if (check_target) {
    if (Status s = apply::CheckTargetMapping(config, check->tables, &problems); !s.ok()) {
      Fail(command, s);
      return false;
    }
  }
  capture::SourcePosition source;
  // A `status` peeking at the slot holds it for a moment: only a slot busy for a few seconds
  // means another consumer.
  for (int attempt = 0;; ++attempt) {
    source = capture::SourcePosition{};
    if (Status s = capture::ReadSourcePosition(config, &source); !s.ok()) {
      Fail(command, s);
      return false;
    }
    if (!source.slot_active || attempt >= 25) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!source.slot_exists) {
    problems.push_back(config.source.kind == "mysql"
                           ? "stream " + config.source.slot +
                                 " has no start position on the source: run `stagesync setup`"
                           : "slot " + config.source.slot +
                                 " does not exist on the source: run `stagesync setup`");
  } else if (source.slot_active) {  // MySQL: the stream's lock is held
    problems.push_back(
        "slot " + config.source.slot +
        " is already being streamed (another `stagesync run` or `capture`?): stop it first");
  }
  if (!problems.empty()) {
    ReportProblems(command, problems);
    return false;
  }
  LOG_INFO(command << ": " << check->tables.size() << " tables selected");
  return true;
}

}  // namespace

int Run(const Config& config, const Options&) {
  if (config.stream.transport != "direct") {
    std::fprintf(stderr,
                 "stagesync run: stream.transport = \"%s\": `run` is capture and apply in one "
                 "process without a broker; use `stagesync capture` and `stagesync apply` with "
                 "Kafka, or set transport = \"direct\"\n",
                 config.stream.transport.c_str());
    return kExitUsage;
  }
  capture::SourceCheck check;
  if (!PreflightSource(config, "run", /*check_target=*/true, &check)) return kExitUsage;
  // The monitor's thread must inherit the blocked stop signals, so they reach StopSignals.
  BlockStopSignals();
  // Outlives each restart of the pipeline, so the monitor's counters keep counting.
  auto metrics = std::make_shared<apply::ApplyMetrics>();
  cutover::MonitorServer monitor(config, metrics);
  if (Status s = monitor.Start(); !s.ok()) return Fail("run", s);
  int rc = RunWithRetries(
      "run",
      [&](const std::atomic<bool>& stop, std::atomic<bool>& up) -> Status {
        std::unique_ptr<apply::Applier> applier;
        if (Status s = apply::OpenApplier(config, &applier); !s.ok()) return s;
        apply::ApplyProgress& progress = applier->progress();
        progress.metrics = metrics;
        Downstream d;
        d.resume = applier->resume_position();
        d.last_commit_time = progress.applied_commit_time.load();
        d.consume = [&](EventQueue& q) { return applier->Run(q); };
        d.durable = [&] { return progress.durable.load(); };
        d.lag = [&](const capture::CaptureProgress& c) {
          return cutover::LiveLagSeconds(config, progress, c, NowUs());
        };
        d.progress_line = [&] {
          return "applied " + DescribePosition(config.source.kind, progress.durable.load()) + ", " +
                 std::to_string(progress.events_applied.load()) + " events, " +
                 std::to_string(progress.transactions_applied.load()) + " transactions";
        };
        LOG_INFO("run: applied position "
                 << (d.resume ? DescribePosition(config.source.kind, d.resume) : "none yet"));
        auto writer = std::make_shared<apply::LiveStatusWriter>(config);
        d.write_live = [writer](double lag, const std::string& state) {
          return writer->Write(lag, state);
        };
        return RunPipeline(config, stop, up, d);
      },
      RecordError(config));
  if (rc == kExitOk) apply::LiveStatusWriter(config).Write(0, "idle");
  return rc;
}

int Capture(const Config& config, const Options&) {
  if (config.stream.transport != "kafka") {
    std::fprintf(stderr,
                 "stagesync capture: writes to Kafka: set [stream] transport = \"kafka\" and "
                 "brokers (or use `stagesync run` for the direct path)\n");
    return kExitUsage;
  }
  capture::SourceCheck check;
  if (!PreflightSource(config, "capture", /*check_target=*/false, &check)) return kExitUsage;
  return RunWithRetries(
      "capture", [&](const std::atomic<bool>& stop, std::atomic<bool>& up) -> Status {
        std::unique_ptr<kafka::Publisher> publisher;
        if (Status s = kafka::Publisher::Open(config, &publisher); !s.ok()) return s;
        kafka::PublishProgress& progress = publisher->progress();
        Downstream d;
        if (Status s = capture::ReadCaptureResume(config, &d.resume); !s.ok()) return s;
        d.consume = [&](EventQueue& q) { return publisher->Run(q); };
        d.durable = [&] { return progress.confirmed.load(); };
        d.lag = [&](const capture::CaptureProgress&) {
          TimestampUs pending = progress.pending_since.load();
          return pending ? std::max(0.0, static_cast<double>(NowUs() - pending) / 1e6) : 0.0;
        };
        d.progress_line = [&] {
          return "confirmed by Kafka up to " +
                 DescribePosition(config.source.kind, progress.confirmed.load()) + ", " +
                 std::to_string(progress.records_sent.load()) + " records sent";
        };
        auto writer = std::make_shared<capture::CaptureLiveWriter>(config);
        d.write_live = [writer](double lag, const std::string&) { return writer->Write(lag); };
        return RunPipeline(config, stop, up, d);
      });
}

int Apply(const Config& config, const Options&) {
  if (config.stream.transport != "kafka") {
    std::fprintf(stderr,
                 "stagesync apply: reads from Kafka: set [stream] transport = \"kafka\" and "
                 "brokers (or use `stagesync run` for the direct path)\n");
    return kExitUsage;
  }
  // apply serves the monitor in Kafka mode (capture, on the same config, does not). Several
  // apply processes may share the group: the first to bind monitor.listen serves it.
  BlockStopSignals();
  cutover::MonitorServer monitor(config);
  if (Status s = monitor.Start(); !s.ok()) {
    LOG_WARN("apply: no monitor in this process: " << s.message());
  }
  // Says apply is up, for `status` and the cutover (the lag comes from Kafka and the source).
  std::atomic<bool> done{false};
  std::thread alive([&] {
    apply::LiveStatusWriter writer(config);
    while (!done) {
      (void)writer.Write(0, "streaming");
      for (int i = 0; i < 5 && !done; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  Status failure;
  int rc = RunWithRetries(
      "apply",
      [&](const std::atomic<bool>& stop, std::atomic<bool>& up) {
        return apply::RunKafkaApply(config, stop, &up);
      },
      [&](const Status& s) { failure = s; });
  done = true;
  alive.join();
  if (rc == kExitOk) {
    apply::LiveStatusWriter(config).Write(0, "idle");
  } else {
    RecordError(config)(failure);
  }
  return rc;
}

}  // namespace stagesync::cli
