// One life of the pipeline: capture on the calling thread feeds the queue, the sink consumes
// it on a thread of its own, and a third thread keeps the live status and the progress log.
// Capture acknowledges to the source only what the sink reports durable.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "stagesync/log.h"
#include "stagesync/run.h"

namespace stagesync::run {

std::string LiveState(const Config& config, double lag_seconds) {
  double beat = static_cast<double>(config.monitor.heartbeat_interval.count()) / 1000.0;
  return lag_seconds > std::max(1.0, 2 * beat) ? "catching_up" : "streaming";
}

Status RunPipeline(const Config& config, Sink& sink, const std::atomic<bool>& stop,
                   std::atomic<bool>& up) {
  std::atomic<bool> halt{false};  // this pipeline's stop: a signal, or the consumer failing
  EventQueue queue(64u * 1024u * 1024u);
  capture::CaptureProgress capture_progress;
  // Until the stream delivers something, the oldest unapplied change is no older than the
  // last delivered commit: lag estimates start from there.
  const TimestampUs last_commit_time = sink.last_commit_time();
  const Lsn resume = sink.resume_position();  // read before the sink starts consuming
  capture_progress.last_received_commit_time = last_commit_time ? last_commit_time : NowUs();

  Status consume_status;
  std::thread consume_thread([&] {
    consume_status = sink.Consume(queue);
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
        double lag = sink.LagSeconds(capture_progress);
        std::string state = LiveState(config, lag);
        Status s = sink.WriteLive(lag, state);
        if (!s.ok() && !writer_failing) LOG_WARN("live status: " << s.message() << " (will retry)");
        writer_failing = !s.ok();
        if (now - last_log >= std::chrono::seconds(10)) {
          last_log = now;
          LOG_INFO(state << ", lag " << lag << " s, " << sink.DescribeProgress());
        }
      }
      lock.lock();
      live_wake.wait_for(lock, std::chrono::milliseconds(100), [&] { return live_done; });
    }
  });

  // Capture's final acknowledgement must wait for the sink to commit what it will.
  std::function<void()> await_consumer = [&] {
    if (consume_thread.joinable()) consume_thread.join();
  };
  Status capture_status = capture::RunCapture(
      config, resume, queue, [&sink] { return sink.durable_position(); }, await_consumer, halt,
      &capture_progress);
  if (consume_thread.joinable()) consume_thread.join();
  heartbeat.Stop();
  {
    std::lock_guard lock(live_mutex);
    live_done = true;
  }
  live_wake.notify_all();
  live_thread.join();
  LOG_INFO(sink.DescribeProgress());
  if (!consume_status.ok()) return consume_status;
  return capture_status;
}

}  // namespace stagesync::run
