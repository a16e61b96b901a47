#include <algorithm>

#include "stagesync/apply.h"

namespace stagesync::apply {

const std::vector<double>& ApplyMetrics::BatchBuckets() {
  static const std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

void ApplyMetrics::Committed(double seconds) {
  std::lock_guard lock(mutex_);
  for (const auto& [key, entry] : pending_) {
    auto& total = applied_.tables[entry.first->QualifiedName()];
    for (int i = 0; i < kOps; ++i) total[i] += entry.second[i];
  }
  pending_.clear();
  const auto& bounds = BatchBuckets();
  applied_.batch_buckets.resize(bounds.size());
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (seconds <= bounds[i]) applied_.batch_buckets[i]++;
  }
  applied_.batch_count++;
  applied_.batch_sum_seconds += seconds;
  applied_.last_batch_seconds = seconds;
}

ApplyMetrics::Snapshot ApplyMetrics::Read() const {
  std::lock_guard lock(mutex_);
  Snapshot s = applied_;
  s.batch_buckets.resize(BatchBuckets().size());
  return s;
}

}  // namespace stagesync::apply
