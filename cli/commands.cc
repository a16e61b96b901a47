// The commands: each calls the stage that does the work and prints the outcome; the pipeline
// behind run, capture and apply is run/'s.
#include "commands.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/copy.h"
#include "stagesync/cutover.h"
#include "stagesync/log.h"
#include "stagesync/monitor.h"
#include "stagesync/run.h"
#include "stagesync/secrets.h"
#include "stagesync/verify.h"

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

// run's and capture's checks before they stream: prints what stands in the way, if anything.
bool Preflight(const Config& config, const char* command, bool check_target) {
  capture::SourceCheck check;
  if (Status s = run::PreflightSource(config, check_target, &check); !s.ok()) {
    Fail(command, s);
    return false;
  }
  if (!check.problems.empty()) {
    ReportProblems(command, check.problems);
    return false;
  }
  LOG_INFO(command << ": " << check.tables.size() << " tables selected");
  return true;
}

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
  if (config.source.kind == Engine::kMysql) {
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
  std::unique_ptr<run::StopSignals> signals;
  if (options.watch) signals = std::make_unique<run::StopSignals>(stop);
  std::optional<monitor::SyncStatus> previous;
  auto previous_at = std::chrono::steady_clock::now();
  while (true) {
    monitor::SyncStatus st = monitor::ReadStatus(config);
    auto now = std::chrono::steady_clock::now();
    std::string text = options.json ? monitor::StatusJson(st) + "\n" : monitor::StatusText(st);
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
  verify::VerifyReport report;
  Status s = verify::Verify(
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
  Print(stdout, options.json ? verify::VerifyJson(report) + "\n" : verify::VerifyText(report));
  return report.equal() ? kExitOk : kExitDifferences;
}

int Copy(const Config& config, const Options& options) {
  std::atomic<bool> stop{false};
  run::StopSignals signals(stop);
  copy::CopyOptions copy_options;
  copy_options.jobs = options.jobs;
  copy_options.tables = options.tables;
  copy_options.truncate = options.truncate;
  copy_options.create_tables = options.create_tables;
  copy_options.rebuild_indexes = options.rebuild_indexes;
  // /metrics, /status and the dashboard while the copy runs (its committed ranges).
  monitor::MonitorServer monitor(config);
  if (Status s = monitor.Start(); !s.ok()) return Fail("copy", s);
  copy::CopyProgress progress;
  std::atomic<bool> done{false};
  const bool tty = !options.json && isatty(STDERR_FILENO);
  // A line per table under way and a total, redrawn in place each second on a terminal; a
  // JSON line each second with --json.
  std::thread display([&] {
    size_t drawn = 0;
    while (!done) {
      for (int i = 0; i < 10 && !done; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (done || progress.started_us == 0) continue;
      if (options.json) {
        Print(stdout, copy::ProgressJson(progress, NowUs()) + "\n");
        std::fflush(stdout);
      } else if (tty) {
        std::string text = drawn ? "\033[" + std::to_string(drawn) + "A" : "";
        auto lines = copy::RenderProgress(progress, NowUs(), 160);
        for (const auto& l : lines) text += "\r\033[K" + l + "\n";
        text += "\033[J";
        drawn = lines.size();
        Print(stderr, text);
        std::fflush(stderr);
      }
    }
  });
  Status s = copy::RunCopy(config, copy_options, stop, &progress);
  done = true;
  display.join();
  if (options.json) {
    Print(stdout, copy::ProgressJson(progress, NowUs(), &s) + "\n");
    return s.ok() ? kExitOk : s.exit_code();
  }
  if (!s.ok()) return Fail("copy", s);
  if (progress.started_us != 0) {
    for (const auto& l : copy::RenderProgress(progress, NowUs(), 160)) Print(stdout, l + "\n");
    Print(stdout, "copied from snapshot " + progress.snapshot + "; the stream starts at " +
                      progress.position + ": start `stagesync run`\n");
  }
  return kExitOk;
}

int Cutover(const Config& config, const Options& options) {
  std::atomic<bool> stop{false};
  run::StopSignals signals(stop);
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

int Run(const Config& config, const Options&) {
  if (config.stream.transport != Transport::kDirect) {
    std::fprintf(stderr,
                 "stagesync run: stream.transport = \"%s\": `run` is capture and apply in one "
                 "process without a broker; use `stagesync capture` and `stagesync apply` with "
                 "Kafka, or set transport = \"direct\"\n",
                 Name(config.stream.transport));
    return kExitUsage;
  }
  if (!Preflight(config, "run", /*check_target=*/true)) return kExitUsage;
  std::atomic<bool> stop{false};
  // Before the monitor starts: its threads must leave SIGINT/SIGTERM to StopSignals.
  run::StopSignals signals(stop);
  // Outlives each restart of the pipeline, so the monitor's counters keep counting.
  auto metrics = std::make_shared<apply::ApplyMetrics>();
  monitor::MonitorServer monitor(config, metrics);
  if (Status s = monitor.Start(); !s.ok()) return Fail("run", s);
  if (Status s = run::RunDirect(config, metrics, stop); !s.ok()) return Fail("run", s);
  return kExitOk;
}

int Capture(const Config& config, const Options&) {
  if (config.stream.transport != Transport::kKafka) {
    std::fprintf(stderr,
                 "stagesync capture: writes to Kafka: set [stream] transport = \"kafka\" and "
                 "brokers (or use `stagesync run` for the direct path)\n");
    return kExitUsage;
  }
  if (!Preflight(config, "capture", /*check_target=*/false)) return kExitUsage;
  std::atomic<bool> stop{false};
  run::StopSignals signals(stop);
  if (Status s = run::RunCaptureToKafka(config, stop); !s.ok()) return Fail("capture", s);
  return kExitOk;
}

int Apply(const Config& config, const Options&) {
  if (config.stream.transport != Transport::kKafka) {
    std::fprintf(stderr,
                 "stagesync apply: reads from Kafka: set [stream] transport = \"kafka\" and "
                 "brokers (or use `stagesync run` for the direct path)\n");
    return kExitUsage;
  }
  std::atomic<bool> stop{false};
  run::StopSignals signals(stop);  // before the monitor, as in Run
  // apply serves the monitor in Kafka mode (capture, on the same config, does not). Several
  // apply processes may share the group: the first to bind monitor.listen serves it.
  monitor::MonitorServer monitor(config);
  if (Status s = monitor.Start(); !s.ok()) {
    LOG_WARN("apply: no monitor in this process: " << s.message());
  }
  if (Status s = run::RunApplyFromKafka(config, stop); !s.ok()) return Fail("apply", s);
  return kExitOk;
}

}  // namespace stagesync::cli
