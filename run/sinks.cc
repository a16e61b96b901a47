// The sinks: each is the back-channel from where events land to what capture may
// acknowledge, and the source of the live lag that `status` shows.
#include "sinks.h"

#include <algorithm>
#include <string>
#include <utility>

#include "stagesync/kafka.h"
#include "stagesync/log.h"

namespace stagesync::run {
namespace {

double SecondsSince(TimestampUs since, TimestampUs now) {
  return std::max(0.0, static_cast<double>(now - since) / 1e6);
}

// The lag of the direct pipeline, from what apply holds pending and what capture last saw.
double DirectLagSeconds(const Config& config, const apply::ApplyProgress& apply,
                        const capture::CaptureProgress& capture, TimestampUs now) {
  double lag = 0;
  if (TimestampUs pending = apply.pending_since.load(); pending > 0) {
    lag = SecondsSince(pending, now);
  }
  // Nothing pending here, but heartbeats stopped arriving: the source is still decoding
  // something large (or is unreachable), so the oldest unapplied change is at least this old.
  int64_t beat =
      std::chrono::duration_cast<std::chrono::microseconds>(config.monitor.heartbeat_interval)
          .count();
  TimestampUs last_seen = capture.last_received_commit_time.load();
  if (last_seen > 0 && now - last_seen > 2 * beat + 500'000) {
    lag = std::max(lag, SecondsSince(last_seen + beat, now));
  }
  return lag;
}

class ApplySink : public Sink {
 public:
  ApplySink(const Config& config, std::unique_ptr<apply::Applier> applier)
      : config_(config),
        applier_(std::move(applier)),
        progress_(applier_->progress()),
        writer_(config) {}

  Lsn resume_position() const override { return applier_->resume_position(); }
  TimestampUs last_commit_time() const override { return progress_.applied_commit_time.load(); }
  Status Consume(EventQueue& queue) override { return applier_->Run(queue); }
  Lsn durable_position() const override { return progress_.durable.load(); }
  double LagSeconds(const capture::CaptureProgress& capture) const override {
    return DirectLagSeconds(config_, progress_, capture, NowUs());
  }
  std::string DescribeProgress() const override {
    return "applied " + DescribePosition(config_.source.kind, progress_.durable.load()) + ", " +
           std::to_string(progress_.events_applied.load()) + " events, " +
           std::to_string(progress_.transactions_applied.load()) + " transactions";
  }
  Status WriteLive(double lag_seconds, const std::string& state) override {
    return writer_.Write(lag_seconds, state);
  }

 private:
  const Config& config_;
  std::unique_ptr<apply::Applier> applier_;
  apply::ApplyProgress& progress_;  // the applier's
  apply::LiveStatusWriter writer_;
};

class KafkaSink : public Sink {
 public:
  KafkaSink(const Config& config, std::unique_ptr<kafka::Publisher> publisher, Lsn resume)
      : config_(config),
        publisher_(std::move(publisher)),
        progress_(publisher_->progress()),
        resume_(resume),
        writer_(config) {}

  Lsn resume_position() const override { return resume_; }
  TimestampUs last_commit_time() const override { return 0; }
  Status Consume(EventQueue& queue) override { return publisher_->Run(queue); }
  Lsn durable_position() const override { return progress_.confirmed.load(); }
  // Kafka takes a record within moments; the lag is how long the oldest unconfirmed waits.
  double LagSeconds(const capture::CaptureProgress&) const override {
    TimestampUs pending = progress_.pending_since.load();
    return pending ? SecondsSince(pending, NowUs()) : 0.0;
  }
  std::string DescribeProgress() const override {
    return "confirmed by Kafka up to " +
           DescribePosition(config_.source.kind, progress_.confirmed.load()) + ", " +
           std::to_string(progress_.records_sent.load()) + " records sent";
  }
  // `status` reads capture's state from the lag alone.
  Status WriteLive(double lag_seconds, const std::string&) override {
    return writer_.Write(lag_seconds);
  }

 private:
  const Config& config_;
  std::unique_ptr<kafka::Publisher> publisher_;
  kafka::PublishProgress& progress_;  // the publisher's
  const Lsn resume_;
  capture::CaptureLiveWriter writer_;
};

}  // namespace

Status OpenApplySink(const Config& config, std::shared_ptr<apply::ApplyMetrics> metrics,
                     std::unique_ptr<Sink>* out) {
  std::unique_ptr<apply::Applier> applier;
  if (Status s = apply::OpenApplier(config, &applier); !s.ok()) return s;
  applier->progress().metrics = std::move(metrics);
  Lsn resume = applier->resume_position();
  LOG_INFO("run: applied position "
           << (resume ? DescribePosition(config.source.kind, resume) : "none yet"));
  *out = std::make_unique<ApplySink>(config, std::move(applier));
  return Status::Ok();
}

Status OpenKafkaSink(const Config& config, std::unique_ptr<Sink>* out) {
  std::unique_ptr<kafka::Publisher> publisher;
  if (Status s = kafka::Publisher::Open(config, &publisher); !s.ok()) return s;
  Lsn resume = 0;
  if (Status s = capture::ReadCaptureResume(config, &resume); !s.ok()) return s;
  *out = std::make_unique<KafkaSink>(config, std::move(publisher), resume);
  return Status::Ok();
}

}  // namespace stagesync::run
