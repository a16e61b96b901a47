// Internal helpers shared by the Kafka sources of this folder.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "stagesync/status.h"

namespace stagesync::kafka {

// Applies settings to a librdkafka configuration; a rejected one is a usage error naming it.
Status SetAll(rd_kafka_conf_t* conf,
              const std::vector<std::pair<std::string, std::string>>& settings);

}  // namespace stagesync::kafka
