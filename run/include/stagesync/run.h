// run: the pipeline behind `run`, `capture` and `apply`: capture streams the source into a
// queue, a Sink takes it (the target's applier, or Kafka), and what the sink has durably
// taken is acknowledged back to the source. Restarts with backoff until SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "stagesync/apply.h"
#include "stagesync/capture.h"
#include "stagesync/change.h"
#include "stagesync/config.h"
#include "stagesync/event_queue.h"
#include "stagesync/status.h"

namespace stagesync::run {

// Blocks SIGINT/SIGTERM in the calling thread and every thread it starts from now on, and
// turns them into `stop`. Create it before starting threads (the monitor, librdkafka's), so
// none of them takes a signal meant for the whole process. `stop` must outlive it.
class StopSignals {
 public:
  explicit StopSignals(std::atomic<bool>& stop);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What `run` and `capture` check before they stream: the source's settings and tables
// (capture::CheckSource), that the slot exists and no other process streams it, and with
// `check_target` that every selected table maps onto the target. Each problem found is added
// to check->problems with its fix; a non-ok Status means something could not be checked.
Status PreflightSource(const Config& config, bool check_target, capture::SourceCheck* check);

// Where captured events go during one life of the pipeline. The pipeline reads
// resume_position and last_commit_time before Consume starts on a thread of its own; the
// other methods it calls from its threads meanwhile, WriteLive always from the same one.
class Sink {
 public:
  virtual ~Sink() = default;
  // Where the source resumes (0: the slot's confirmed position, or what MySQL setup recorded).
  virtual Lsn resume_position() const = 0;
  // The source commit time of the last transaction taken before this life (0: none).
  virtual TimestampUs last_commit_time() const = 0;
  // Takes events until the queue is closed and drained, or fails.
  virtual Status Consume(EventQueue& queue) = 0;
  // The end of what the sink has durably taken: all that may be acknowledged to the source.
  virtual Lsn durable_position() const = 0;
  // Seconds since the source commit of the oldest change not yet durably taken.
  virtual double LagSeconds(const capture::CaptureProgress& capture) const = 0;
  // How far the sink got, for the log.
  virtual std::string DescribeProgress() const = 0;
  // Publishes the live lag and state for `status`.
  virtual Status WriteLive(double lag_seconds, const std::string& state) = 0;
};

// One life of the pipeline: capture into `sink`, the source heartbeat and the live status,
// until `stop` is set or something fails; sets `up` once the source streams to it. A failure
// that may pass (a connection lost) comes back transient.
Status RunPipeline(const Config& config, Sink& sink, const std::atomic<bool>& stop,
                   std::atomic<bool>& up);

// "streaming" when the lag is within a couple of heartbeats, else "catching_up".
std::string LiveState(const Config& config, double lag_seconds);

// The commands' pipelines. Each runs until `stop`, restarting after transient failures
// (1 s, doubling to 30 s, afresh after a life that reached its source), and returns Ok after
// the stop or the failure that ended it. `run` and `apply` record that failure on the target
// for `status`, and "idle" after a clean stop; none of them prints.
//
// `run`: capture straight into the target's applier; `metrics` (the monitor's) counts across
// restarts.
Status RunDirect(const Config& config, const std::shared_ptr<apply::ApplyMetrics>& metrics,
                 const std::atomic<bool>& stop);
// `capture`: the source into Kafka; its lag is kept on the source.
Status RunCaptureToKafka(const Config& config, const std::atomic<bool>& stop);
// `apply`: Kafka into the target, saying on the target that it is alive while it runs.
Status RunApplyFromKafka(const Config& config, const std::atomic<bool>& stop);

}  // namespace stagesync::run
