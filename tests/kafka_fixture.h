// The fixture of the Kafka scenarios: the PostgreSQL servers of SyncTest plus librdkafka's
// mock cluster (the Kafka protocol on loopback, shared by the tests of a suite), and the
// `capture` and `apply` processes of one test. The mock keeps only about 5 MB per partition
// and silently drops older records, so workloads stay well under that.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stagesync/kafka.h"
#include "sync_fixture.h"

namespace stagesync::testing {

class KafkaSyncTest : public SyncTest {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

 protected:
  void TearDown() override;
  // Writes the config with Kafka as the transport (topic prefix db_) and `extra` TOML.
  void UseKafka(const std::string& extra = "");
  // `stagesync <command> -c config_path_`, running.
  std::unique_ptr<Process> Start(const std::string& command);
  // kcat on the mock cluster; `input` (if any) on its stdin.
  CommandResult Kcat(const std::vector<std::string>& args, const std::string& input = "");
  // stderr of capture and apply, for messages.
  std::string Logs() const;

  static std::unique_ptr<kafka::MockCluster> mock_;
  std::unique_ptr<Process> capture_, apply_;
};

}  // namespace stagesync::testing
