// The validated configuration ("spec") read from the TOML file; see CONTRACT.md for keys.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stagesync/change.h"
#include "stagesync/status.h"
#include "stagesync/upgrade_rules.h"

namespace stagesync {

// The modes the config chooses between, parsed once from their names (Name gives it back).
enum class Transport : uint8_t { kDirect, kKafka };             // stream.transport
enum class FenceMode : uint8_t { kReadOnly, kCommand, kNone };  // cutover.fence
enum class VerifyMode : uint8_t { kCount, kChecksum, kNone };   // cutover.verify
enum class OnError : uint8_t { kStop, kDeadLetter };            // apply.on_error
const char* Name(Engine engine);                                // "postgres" | "mysql"
const char* Name(Transport transport);
const char* Name(FenceMode fence);
const char* Name(VerifyMode verify);
const char* Name(OnError on_error);

using Duration = std::chrono::milliseconds;

// The longest duration any key or flag accepts: a year, far past every sensible timeout, and
// far from the int64 milliseconds where arithmetic on it would overflow.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);

// Parses "500ms", "2s", "5m", "1h" (also "1.5s"), at most kMaxDuration. Returns nullopt on
// anything else, with the reason (the text quoted, how to write it) in `problem` if given.
std::optional<Duration> ParseDuration(const std::string& text, std::string* problem = nullptr);
std::string FormatDuration(Duration d);

// monitor.listen taken apart: "host:port", "[v6 address]:port", or ":port" for every address.
struct ListenAddress {
  std::string host;   // without the brackets; "" means every address
  uint16_t port = 0;  // 1-65535
};
// The one parser of monitor.listen, used by the config reader and by the monitor. Returns
// nullopt and sets *why (what is wrong and the expected form) on anything else.
std::optional<ListenAddress> ParseListenAddress(const std::string& listen, std::string* why);

struct EndpointConfig {
  Engine kind = Engine::kPostgres;
  std::string dsn;
  std::string password_file;
  // Connection string with the password (if any) added; never logged.
  std::string ConnectionString() const;
  // The dsn with any password removed, for messages.
  std::string RedactedDsn() const;
  std::string password;  // read from password_file
};

struct SourceConfig : EndpointConfig {
  // The database name in the dsn (dbname=... or the URI path), for source.db in events.
  std::string DatabaseName() const;
  std::vector<std::string> tables = {"public.*"};
  std::vector<std::string> exclude;
  // Whether "schema.table" is selected: matched by a `tables` glob and by no `exclude` glob.
  bool Selects(const std::string& qualified) const;
  // Keyless tables (REPLICA IDENTITY FULL, no key) are refused by setup unless set: a replay
  // onto a copy that already holds some of their rows doubles those rows.
  bool allow_keyless = false;
  std::string slot = "stagesync";
  std::string publication = "stagesync";
  uint32_t server_id = 4711;
};

struct TableMapping {
  std::string target_table;                    // "schema.table"; empty = same name
  std::map<std::string, std::string> columns;  // source column as written -> target column
};

struct StreamConfig {
  Transport transport = Transport::kDirect;
  std::string brokers;
  std::string topic_prefix = "stagesync";
  bool schemas_enable = true;                     // JsonConverter schemas.enable
  std::string decimal_handling_mode = "precise";  // precise | string | double
  std::string group_id;                           // apply's consumer group; default <prefix>-apply
  std::string dead_letter_topic;                  // default <prefix>.dead-letter
  // Topics whose records name another table than the topic does (a Kafka Connect router
  // renamed them): topic -> glob of the source "schema.table" its records may name.
  std::map<std::string, std::string> routes;
};

struct MonitorConfig {
  std::string listen = "127.0.0.1:8321";
  Duration heartbeat_interval = std::chrono::seconds(1);
  std::string token_file;
};

struct ApplyConfig {
  size_t batch_rows = 50000;             // rows grouped into one target transaction at most
  Duration batch_delay = Duration(500);  // time a group may stay open at most
  OnError on_error = OnError::kStop;
};

// `stagesync copy`: how many tables (or parts of a large one) are copied at once, and into how
// many key ranges one table may be cut at most.
struct CopyConfig {
  int jobs = 2;
  int max_parts = 16;
  int64_t part_bytes = 64ll << 20;  // a table is cut into parts of about this much
  Duration snapshot_hold = std::chrono::minutes(10);  // PostgreSQL: kept for a resume this long
};

struct CutoverConfig {
  Duration max_lag = std::chrono::seconds(2);
  FenceMode fence = FenceMode::kReadOnly;
  std::string fence_command;
  std::string unfence_command;  // with fence = "command": undoes it when the cutover fails
  std::vector<std::string> fence_roles;
  Duration drain_timeout = std::chrono::seconds(30);  // fenced: how long the marker may take
  std::string switch_command;
  VerifyMode verify = VerifyMode::kCount;
  std::vector<std::string> checks;
};

struct UpgradeConfig {
  std::string rules_file;  // as the config names it; "" for none
  UpgradeRules rules;      // read from it
};

struct Config {
  std::string path;
  SourceConfig source;
  EndpointConfig target;
  StreamConfig stream;
  std::map<std::string, TableMapping> mapping;  // key: source "schema.table" as written
  MonitorConfig monitor;
  ApplyConfig apply;
  CopyConfig copy;
  CutoverConfig cutover;
  UpgradeConfig upgrade;
};

// Reads and validates the file. Any problem (unknown key, wrong type, bad value) is a usage
// error (exit 2) whose message names the key and says how to fix it.
Status LoadConfig(const std::string& path, Config* out);
Status ParseConfig(const std::string& toml_text, const std::string& origin, Config* out);

// Names pair up by one rule everywhere (source and target tables and columns, [mapping] keys
// and renames): an exact match wins; failing that, names that differ only in the case of
// ASCII letters match. Never locale or Unicode folding: PostgreSQL and MySQL
// (lower_case_table_names = 0) hold "Täble" and "täble" as two tables, and so do we.
std::string AsciiLower(std::string s);  // A-Z to a-z, every other byte as it is
bool AsciiEqualFold(std::string_view a, std::string_view b);

// The index in `items` of the element whose name (`name_of(element)`) `wanted` pairs with by
// that rule; -1 if none.
template <typename Range, typename NameOf>
int FindName(const Range& items, std::string_view wanted, NameOf name_of) {
  int i = 0, folded = -1;
  for (const auto& item : items) {
    std::string_view name = name_of(item);
    if (name == wanted) return i;
    if (folded < 0 && AsciiEqualFold(name, wanted)) folded = i;
    ++i;
  }
  return folded;
}

// The entry of a map keyed by name that `wanted` pairs with by that rule; end() if none.
template <typename Map>
typename Map::const_iterator FindByName(const Map& map, const std::string& wanted) {
  auto it = map.find(wanted);
  if (it != map.end()) return it;
  for (it = map.begin(); it != map.end(); ++it) {
    if (AsciiEqualFold(it->first, wanted)) return it;
  }
  return map.end();
}

// Of (schema, table) candidates, the one "schema.table" pairs with: both parts exact, else
// the schema exact and the table folded, else both folded; -1 if none.
int FindQualifiedName(const std::vector<std::pair<std::string, std::string>>& candidates,
                      std::string_view schema, std::string_view table);

// True if "schema.table" matches a glob such as "public.*" or "public.um_?ser"
// (ASCII letters case-insensitively, as above).
bool GlobMatch(const std::string& pattern, const std::string& name);

}  // namespace stagesync
