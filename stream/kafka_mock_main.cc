// stagesync-kafka-mock: runs librdkafka's mock cluster (3 brokers, real Kafka protocol on
// loopback) and prints its bootstrap servers; stops on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "stagesync/kafka.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: stagesync-kafka-mock [--brokers N]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  std::unique_ptr<stagesync::kafka::MockCluster> cluster;
  if (auto s = stagesync::kafka::MockCluster::Start(brokers, &cluster); !s.ok()) {
    std::fprintf(stderr, "stagesync-kafka-mock: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("%s\n", cluster->bootstrap_servers().c_str());
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
