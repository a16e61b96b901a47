// Values from either engine spelled one way, so that PostgreSQL's and MySQL's text of the same
// value compare equal, and keys ordered the way both servers were asked to order them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace stagesync::verify {

// One row as text, NULL as nullopt, in the order the columns were selected.
using Row = std::vector<std::optional<std::string>>;

// What a column's values are, for ordering keys and normalising values across engines.
enum class Kind { kText, kInteger, kDecimal, kFloat4, kFloat8, kJson, kTime };

// From information_schema's data_type, of either engine.
Kind KindOf(std::string type);
// The same value from either engine, spelled one way.
std::string Normalise(Kind kind, const std::string& v);
// Orders keys as both servers were asked to: numbers by value, text by bytes. -1, 0 or 1.
int CompareKeys(const Row& a, const Row& b, const std::vector<Kind>& kinds);

}  // namespace stagesync::verify
