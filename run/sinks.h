// The two sinks of the pipeline: the target's applier (`run`) and Kafka (`capture`).
#pragma once

#include <memory>

#include "stagesync/run.h"

namespace stagesync::run {

// Connects to the target (target.kind) and reads the applied position; the applier counts
// into `metrics`, which outlives restarts. `config` must outlive the sink.
Status OpenApplySink(const Config& config, std::shared_ptr<apply::ApplyMetrics> metrics,
                     std::unique_ptr<Sink>* out);

// Connects to Kafka and reads where capture resumes; the lag goes to the source.
// `config` must outlive the sink.
Status OpenKafkaSink(const Config& config, std::unique_ptr<Sink>* out);

}  // namespace stagesync::run
