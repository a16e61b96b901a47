// Exactly-once evidence for kill -9 scenarios. Equal tables do not prove it: apply writes an
// insert as an upsert, so a transaction applied twice leaves the same rows. The audit records
// every row apply writes into an append-only target table, inside apply's own transaction, so
// a doubled transaction shows as a key recorded twice and a lost one as a key never recorded.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pg_cluster.h"

namespace stagesync::testing {

// Installs the audit on `table` of the target database `db` (schema `apply_audit`, target
// only, so never selected for sync): a BEFORE INSERT row trigger, enabled ALWAYS because
// apply runs with session_replication_role = replica, which skips ordinary triggers. BEFORE
// INSERT fires for every row an INSERT proposes, also when ON CONFLICT turns it into an
// update, so a replayed insert is recorded too. `key_column` names the table's unique key.
// Meant for tables whose source rows are only ever inserted, each key once.
void InstallApplyAudit(const PgCluster& target, const std::string& db, const std::string& table,
                       const std::string& key_column);

// Rows recorded so far, counting those whose apply transaction was rolled back since (a
// sequence numbers the records, and sequences ignore rollbacks).
uint64_t AuditAttempts(const PgCluster& target, const std::string& db);
// Records of `table` kept (committed) now.
uint64_t AuditedRows(const PgCluster& target, const std::string& db, const std::string& table);

// Source rows of `table` against the audit of the target.
struct AuditFindings {
  uint64_t source_rows = 0;
  uint64_t audited_rows = 0;
  std::vector<std::string> doubled;     // keys recorded more than once: applied twice
  std::vector<std::string> lost;        // source keys never recorded
  std::vector<std::string> unexpected;  // recorded keys the source does not have
};
AuditFindings CheckApplyAudit(const PgCluster& source, const PgCluster& target,
                              const std::string& db, const std::string& table,
                              const std::string& key_column);

// Success when every source row of `table` was applied exactly once (and there were some);
// otherwise the failure lists doubled, lost and unexpected keys.
::testing::AssertionResult AppliedExactlyOnce(const PgCluster& source, const PgCluster& target,
                                              const std::string& db, const std::string& table,
                                              const std::string& key_column);

}  // namespace stagesync::testing
