// stagesync-kafka-mock: runs librdkafka's mock cluster (3 brokers, real Kafka protocol on
// loopback) and prints its bootstrap servers; stops on SIGINT/SIGTERM. The mock keeps only a
// few MB per partition (older records are dropped), so consumers should keep up, or topics
// be created with enough partitions (--topic NAME:PARTITIONS).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "stagesync/kafka.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
    } else if (a == "--topic" && i + 1 < argc) {
      std::string spec = argv[++i];
      auto colon = spec.rfind(':');
      int partitions = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
      if (partitions <= 0) {
        std::fprintf(stderr, "stagesync-kafka-mock: --topic wants NAME:PARTITIONS, got \"%s\"\n",
                     spec.c_str());
        return 2;
      }
      topics.emplace_back(spec.substr(0, colon), partitions);
    } else {
      std::fprintf(stderr,
                   "usage: stagesync-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  std::unique_ptr<stagesync::kafka::MockCluster> cluster;
  if (auto s = stagesync::kafka::MockCluster::Start(brokers, &cluster); !s.ok()) {
    std::fprintf(stderr, "stagesync-kafka-mock: %s\n", s.message().c_str());
    return 1;
  }
  for (const auto& [name, partitions] : topics) {
    if (auto s = cluster->CreateTopic(name, partitions); !s.ok()) {
      std::fprintf(stderr, "stagesync-kafka-mock: %s\n", s.message().c_str());
      return 1;
    }
  }
  std::printf("%s\n", cluster->bootstrap_servers().c_str());
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
