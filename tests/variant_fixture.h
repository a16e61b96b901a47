// Scenarios run on each engine and transport: a source and a target server of the variant's
// engine (shared by the suite), and `run`, or `capture` and `apply` through the mock cluster.
#pragma once

#include <memory>
#include <string>

#include "engine_fixture.h"
#include "stagesync/kafka.h"

namespace stagesync::testing {

struct EngineVariant {
  const char* name;
  bool mysql;
  bool kafka;
};

class VariantSyncTest : public EngineSyncTest, public ::testing::WithParamInterface<EngineVariant> {
 public:
  static void TearDownTestSuite();

 protected:
  bool mysql() const { return GetParam().mysql; }
  bool kafka() const { return GetParam().kafka; }
  // Prepare()s db_ on the variant's servers, named "<tag><m|p><k|d>_<test>": one database
  // per variant, since the servers (and a MariaDB source's binlog) are shared.
  void PrepareVariant(const std::string& tag);
  // Through Kafka: starts the mock cluster and adds [stream] (with schemas).
  void UseTransport();
  // `run`, or `capture` and `apply`.
  void StartStream();
  bool StreamRunning() const;
  // The process that applies: `run` or `apply`.
  Process& Applier() { return kafka() ? *apply_ : *run_; }
  std::string Logs() const;

  static std::unique_ptr<PgCluster> pg_source_, pg_target_;
  static std::unique_ptr<MariaDbServer> my_source_, my_target_;
  std::unique_ptr<kafka::MockCluster> mock_;
  std::unique_ptr<Process> capture_, apply_;
};

// Both engines, both transports.
inline auto AllVariants() {
  return ::testing::Values(
      EngineVariant{"postgres", false, false}, EngineVariant{"mariadb", true, false},
      EngineVariant{"postgres_kafka", false, true}, EngineVariant{"mariadb_kafka", true, true});
}
inline std::string VariantName(const ::testing::TestParamInfo<EngineVariant>& info) {
  return info.param.name;
}

}  // namespace stagesync::testing
