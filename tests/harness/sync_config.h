// Writing stagesync TOML configs (see CONTRACT.md "Config") for integration tests.
#pragma once

#include <string>
#include <vector>

namespace stagesync::testing {

// The parts of a config that tests vary. Empty strings leave a key out.
struct SyncConfigSpec {
  std::string source_kind = "postgres";
  std::string target_kind = "postgres";
  std::string server_id;  // [source] server_id (MySQL sources)
  std::string source_dsn;
  std::string source_password_file;
  std::string target_dsn;
  std::string target_password_file;
  std::vector<std::string> tables = {"public.*"};
  std::vector<std::string> exclude;
  bool allow_keyless = false;  // [source] allow_keyless
  std::string slot;
  std::string publication;
  std::string monitor_listen;  // "127.0.0.1:PORT"
  std::string heartbeat_interval = "200ms";
  std::string monitor_token_file;
  std::string extra_toml;  // appended verbatim: [mapping], [apply], [cutover]...
};

// A TOML basic string literal, quoted and escaped: TomlString("a\"b") == "\"a\\\"b\"".
std::string TomlString(const std::string& value);
std::string RenderConfig(const SyncConfigSpec& spec);
// Renders `spec` into `path` and returns `path`.
std::string WriteConfig(const std::string& path, const SyncConfigSpec& spec);

}  // namespace stagesync::testing
