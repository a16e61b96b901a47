// The pipelines of `run`, `capture` and `apply`: which sink each life gets, and what each
// leaves on the target for `status` when it ends.
#include "stagesync/run.h"

#include <chrono>
#include <thread>

#include "sinks.h"
#include "stagesync/log.h"
#include "stagesync/secrets.h"
#include "supervise.h"

namespace stagesync::run {
namespace {

// Keeps the reason a process stopped on the target, so `status` says "error" and why.
void RecordError(const Config& config, const Status& failure) {
  // Scrubbed before it is stored: status and the monitor print it from the target.
  if (Status w = apply::LiveStatusWriter(config).WriteError(ScrubSecrets(failure.message()));
      !w.ok()) {
    LOG_WARN("could not record the error on the target: " << w.message());
  }
}

// After a clean stop `status` says "idle" at once instead of waiting for the live view to age.
void RecordIdle(const Config& config) {
  (void)apply::LiveStatusWriter(config).Write(0, "idle");
}

}  // namespace

Status RunDirect(const Config& config, const std::shared_ptr<apply::ApplyMetrics>& metrics,
                 const std::atomic<bool>& stop) {
  Status s = RunWithRetries(
      "run", stop, [&](const std::atomic<bool>& life_stop, std::atomic<bool>& up) -> Status {
        std::unique_ptr<Sink> sink;
        if (Status open = OpenApplySink(config, metrics, &sink); !open.ok()) return open;
        return RunPipeline(config, *sink, life_stop, up);
      });
  if (s.ok()) {
    RecordIdle(config);
  } else {
    RecordError(config, s);
  }
  return s;
}

Status RunCaptureToKafka(const Config& config, const std::atomic<bool>& stop) {
  return RunWithRetries("capture", stop,
                        [&](const std::atomic<bool>& life_stop, std::atomic<bool>& up) -> Status {
                          std::unique_ptr<Sink> sink;
                          if (Status open = OpenKafkaSink(config, &sink); !open.ok()) return open;
                          return RunPipeline(config, *sink, life_stop, up);
                        });
}

Status RunApplyFromKafka(const Config& config, const std::atomic<bool>& stop) {
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
  Status s =
      RunWithRetries("apply", stop, [&](const std::atomic<bool>& life_stop, std::atomic<bool>& up) {
        return apply::RunKafkaApply(config, life_stop, &up);
      });
  // Only once `alive` is done, so its "streaming" cannot overwrite what is recorded here.
  done = true;
  alive.join();
  if (s.ok()) {
    RecordIdle(config);
  } else {
    RecordError(config, s);
  }
  return s;
}

}  // namespace stagesync::run
