#include "apply_audit.h"

#include <algorithm>
#include <sstream>
#include <unordered_map>

namespace stagesync::testing {
namespace {

// Qualified names throughout: apply's session runs with search_path = pg_catalog, pg_temp.
constexpr const char* kAuditSchema = R"(
  CREATE SCHEMA IF NOT EXISTS apply_audit;
  CREATE SEQUENCE IF NOT EXISTS apply_audit.attempts;
  CREATE TABLE IF NOT EXISTS apply_audit.applied (
    attempt bigint NOT NULL DEFAULT nextval('apply_audit.attempts'),
    table_name text NOT NULL,
    row_key text,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id());
  CREATE OR REPLACE FUNCTION apply_audit.record() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO apply_audit.applied (table_name, row_key)
      VALUES (TG_TABLE_NAME, pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.->>) TG_ARGV[0]);
    RETURN NEW;
  END $$;
)";

std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Sample(const std::vector<std::string>& keys) {
  std::ostringstream out;
  out << keys.size();
  if (!keys.empty()) out << " (";
  for (size_t i = 0; i < keys.size() && i < 10; ++i) out << (i ? ", " : "") << keys[i];
  if (keys.size() > 10) out << ", ...";
  if (!keys.empty()) out << ")";
  return out.str();
}

}  // namespace

void InstallApplyAudit(const PgCluster& target, const std::string& db, const std::string& table,
                       const std::string& key_column) {
  target.Exec(db, kAuditSchema);
  target.Exec(db, "CREATE TRIGGER apply_audit BEFORE INSERT ON " + table +
                      " FOR EACH ROW EXECUTE FUNCTION apply_audit.record(" + Quoted(key_column) +
                      "); ALTER TABLE " + table + " ENABLE ALWAYS TRIGGER apply_audit");
}

uint64_t AuditAttempts(const PgCluster& target, const std::string& db) {
  auto rows = target.Query(db,
                           "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM "
                           "apply_audit.attempts");
  return rows.empty() || !rows[0][0] ? 0 : std::stoull(*rows[0][0]);
}

uint64_t AuditedRows(const PgCluster& target, const std::string& db, const std::string& table) {
  return std::stoull(target
                         .QueryValue(db,
                                     "SELECT count(*) FROM apply_audit.applied WHERE "
                                     "table_name = " +
                                         Quoted(table))
                         .value_or("0"));
}

AuditFindings CheckApplyAudit(const PgCluster& source, const PgCluster& target,
                              const std::string& db, const std::string& table,
                              const std::string& key_column) {
  AuditFindings f;
  std::unordered_map<std::string, uint64_t> recorded;
  for (const auto& row :
       target.Query(db, "SELECT row_key, count(*) FROM apply_audit.applied WHERE table_name = " +
                            Quoted(table) + " GROUP BY row_key")) {
    uint64_t n = std::stoull(*row[1]);
    recorded[row[0].value_or("NULL")] = n;
    f.audited_rows += n;
  }
  for (const auto& row : source.Query(db, "SELECT " + key_column + "::text FROM " + table)) {
    f.source_rows++;
    auto it = recorded.find(row[0].value_or("NULL"));
    if (it == recorded.end()) {
      f.lost.push_back(row[0].value_or("NULL"));
      continue;
    }
    if (it->second > 1) f.doubled.push_back(it->first + " x" + std::to_string(it->second));
    recorded.erase(it);
  }
  for (const auto& [key, n] : recorded) f.unexpected.push_back(key);
  std::sort(f.unexpected.begin(), f.unexpected.end());
  return f;
}

::testing::AssertionResult AppliedExactlyOnce(const PgCluster& source, const PgCluster& target,
                                              const std::string& db, const std::string& table,
                                              const std::string& key_column) {
  AuditFindings f = CheckApplyAudit(source, target, db, table, key_column);
  if (f.source_rows > 0 && f.doubled.empty() && f.lost.empty() && f.unexpected.empty()) {
    return ::testing::AssertionSuccess()
           << table << ": " << f.source_rows << " source rows, each applied once";
  }
  return ::testing::AssertionFailure()
         << table << ": " << f.source_rows << " source rows, " << f.audited_rows
         << " audited applies; doubled " << Sample(f.doubled) << "; lost " << Sample(f.lost)
         << "; unexpected " << Sample(f.unexpected);
}

}  // namespace stagesync::testing
