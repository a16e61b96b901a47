// Each target engine's half of the public apply functions (apply.h dispatches by
// target.kind); internal to apply/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stagesync/apply.h"

namespace stagesync::apply {

Status PreparePostgresTarget(const Config& config, const std::vector<TableShape>& source_tables,
                             std::vector<std::string>* warnings);
Status PrepareMysqlTarget(const Config& config, const std::vector<TableShape>& source_tables,
                          std::vector<std::string>* warnings);
// The bookkeeping tables and the stream's row, created if missing (for `apply`, which may
// run without `setup` on this target). Idempotent.
Status EnsurePostgresBookkeeping(const Config& config);
Status EnsureMysqlBookkeeping(const Config& config);
Status CheckPostgresMappingColumns(const Config& config,
                                   const std::vector<TableShape>& source_tables,
                                   std::vector<std::string>* problems);
Status CheckMysqlMappingColumns(const Config& config, const std::vector<TableShape>& source_tables,
                                std::vector<std::string>* problems);
Status CheckPostgresTargetMapping(const Config& config,
                                  const std::vector<TableShape>& source_tables,
                                  std::vector<std::string>* problems);
Status CheckMysqlTargetMapping(const Config& config, const std::vector<TableShape>& source_tables,
                               std::vector<std::string>* problems);
Status ReadMysqlAppliedPosition(const Config& config, AppliedPosition* out);
Status ResolveMysqlTargetTable(const Config& config, const TableShape& source,
                               std::optional<TableCorrespondence>* out);
Status WriteMysqlLiveStatus(const Config& config, double lag_seconds, const std::string& state,
                            const std::string& error);

}  // namespace stagesync::apply
