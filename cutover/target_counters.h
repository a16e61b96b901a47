// The target's side of step 4: raising its sequences / AUTO_INCREMENT to at least the
// source's, and putting them back if the cutover fails afterwards.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "production.h"
#include "stagesync/config.h"

namespace stagesync::cutover {

class TargetCounters {
 public:
  static std::unique_ptr<TargetCounters> Open(const Config& config);  // throws
  virtual ~TargetCounters() = default;
  // Raises every target counter behind its source counter; one line per counter for the
  // report. `tables` are the selected source tables (for the mapping). Throws on failure.
  virtual std::vector<std::string> Sync(const std::vector<SourceCounter>& counters,
                                        const std::vector<TableShape>& tables) = 0;
  // Puts back what Sync changed.
  virtual void Restore() = 0;
};

}  // namespace stagesync::cutover
