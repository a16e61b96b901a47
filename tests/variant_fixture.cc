#include "variant_fixture.h"

namespace stagesync::testing {

std::unique_ptr<PgCluster> VariantSyncTest::pg_source_, VariantSyncTest::pg_target_;
std::unique_ptr<MariaDbServer> VariantSyncTest::my_source_, VariantSyncTest::my_target_;

void VariantSyncTest::TearDownTestSuite() {
  pg_source_.reset();
  pg_target_.reset();
  my_source_.reset();
  my_target_.reset();
}

void VariantSyncTest::PrepareVariant(const std::string& tag) {
  const std::string prefix = tag + (mysql() ? "m" : "p") + (kafka() ? "k_" : "d_");
  if (mysql()) {
    if (!my_source_) my_source_ = std::make_unique<MariaDbServer>();
    if (!my_target_) my_target_ = std::make_unique<MariaDbServer>();
    Prepare({nullptr, my_source_.get()}, {nullptr, my_target_.get()}, prefix);
  } else {
    if (!pg_source_) pg_source_ = std::make_unique<PgCluster>();
    if (!pg_target_) pg_target_ = std::make_unique<PgCluster>();
    Prepare({pg_source_.get(), nullptr}, {pg_target_.get(), nullptr}, prefix);
  }
}

void VariantSyncTest::UseTransport() {
  if (!kafka()) return;
  ASSERT_TRUE(kafka::MockCluster::Start(1, &mock_).ok());
  UseKafka(mock_->bootstrap_servers(), /*schemas_enable=*/true);
}

void VariantSyncTest::StartStream() {
  if (!kafka()) return StartRun();
  capture_ = Start("capture");
  apply_ = Start("apply");
}

bool VariantSyncTest::StreamRunning() const {
  return kafka() ? capture_->Running() && apply_->Running() : run_->Running();
}

std::string VariantSyncTest::Logs() const {
  if (!kafka()) return RunLog();
  return "capture:\n" + capture_->Stderr() + "\napply:\n" + apply_->Stderr();
}

}  // namespace stagesync::testing
