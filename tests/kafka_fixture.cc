#include "kafka_fixture.h"

namespace stagesync::testing {

std::unique_ptr<kafka::MockCluster> KafkaSyncTest::mock_;

void KafkaSyncTest::SetUpTestSuite() {
  StartClusters();
  ASSERT_TRUE(kafka::MockCluster::Start(3, &mock_).ok());
}

void KafkaSyncTest::TearDownTestSuite() {
  mock_.reset();
  SyncTest::TearDownTestSuite();
}

void KafkaSyncTest::TearDown() {
  capture_.reset();
  apply_.reset();
  SyncTest::TearDown();
}

void KafkaSyncTest::UseKafka(const std::string& extra) {
  spec_.extra_toml = "[stream]\ntransport = \"kafka\"\nbrokers = \"" + mock_->bootstrap_servers() +
                     "\"\ntopic_prefix = \"" + db_ + "\"\n" + extra;
  WriteConfig();
}

std::unique_ptr<Process> KafkaSyncTest::Start(const std::string& command) {
  return std::make_unique<Process>(
      std::vector<std::string>{StagesyncBinary(), command, "-c", config_path_},
      "stagesync-" + command);
}

CommandResult KafkaSyncTest::Kcat(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {"/usr/bin/kcat", "-b", mock_->bootstrap_servers()};
  argv.insert(argv.end(), args.begin(), args.end());
  if (input.empty()) return RunCommand(argv, "kcat", 60s);
  std::string file = ScratchDir() + "/" + db_ + "-kcat-input";
  WriteFile(file, input);
  std::string quoted;
  for (const auto& a : args) quoted += "'" + a + "' ";
  return RunCommand(
      {"/bin/sh", "-c",
       "kcat -b '" + mock_->bootstrap_servers() + "' " + quoted + " < '" + file + "'"},
      "kcat", 60s);
}

std::string KafkaSyncTest::Logs() const {
  return "capture:\n" + (capture_ ? capture_->Stderr() : "") + "\napply:\n" +
         (apply_ ? apply_->Stderr() : "");
}

}  // namespace stagesync::testing
