// verify: every selected source table against its target table, by row count and, with a
// checksum, row by row. `stagesync verify` prints the report; the cutover's verify step gates
// the switch on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "stagesync/config.h"
#include "stagesync/status.h"

namespace stagesync::verify {

// One selected source table against its target table.
struct TableVerdict {
  std::string source_table, target_table;
  int64_t source_rows = -1, target_rows = -1;
  bool checksummed = false, checksum_equal = false;
  std::vector<std::string> differences;  // the first few: missing rows, differing values
  std::string note;                      // e.g. why the content was not compared
  std::string error;                     // the table could not be compared
};
struct VerifyReport {
  std::vector<TableVerdict> tables;
  bool equal() const;
};
// Called before each table (and once at the end with an empty name), for a progress line.
using VerifyProgress = std::function<void(const std::string& table, size_t done, size_t total)>;
// Compares every selected table: row counts, and with `checksum` every row in key order,
// values normalised across engines (numbers, booleans, bytes, timestamps, JSON). A table
// that cannot be compared is reported in its verdict; a non-ok Status means none could be.
Status Verify(const Config& config, bool checksum, const VerifyProgress& progress,
              VerifyReport* report);
// `verify --json` (one object: equal, tables) and the table a terminal shows.
std::string VerifyJson(const VerifyReport& report);
std::string VerifyText(const VerifyReport& report);

}  // namespace stagesync::verify
