// Rendering SyncConfigSpec as TOML.
#include "sync_config.h"

#include <cstdio>

#include "process.h"

namespace stagesync::testing {
namespace {

std::string TomlArray(const std::vector<std::string>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + TomlString(values[i]);
  return s + "]";
}

void AddKey(std::string* out, const char* key, const std::string& value) {
  if (!value.empty()) *out += std::string(key) + " = " + TomlString(value) + "\n";
}

}  // namespace

std::string TomlString(const std::string& value) {
  std::string s = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        s += "\\\"";
        break;
      case '\\':
        s += "\\\\";
        break;
      case '\n':
        s += "\\n";
        break;
      case '\t':
        s += "\\t";
        break;
      case '\r':
        s += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          s += buf;
        } else {
          s += static_cast<char>(c);
        }
    }
  }
  return s + "\"";
}

std::string RenderConfig(const SyncConfigSpec& spec) {
  std::string t = "# written by the stagesync integration tests\n[source]\n";
  AddKey(&t, "kind", spec.source_kind);
  AddKey(&t, "dsn", spec.source_dsn);
  AddKey(&t, "password_file", spec.source_password_file);
  if (!spec.server_id.empty()) t += "server_id = " + spec.server_id + "\n";
  t += "tables = " + TomlArray(spec.tables) + "\n";
  t += "exclude = " + TomlArray(spec.exclude) + "\n";
  if (spec.allow_keyless) t += "allow_keyless = true\n";
  AddKey(&t, "slot", spec.slot);
  AddKey(&t, "publication", spec.publication);
  t += "\n[target]\n";
  AddKey(&t, "kind", spec.target_kind);
  AddKey(&t, "dsn", spec.target_dsn);
  AddKey(&t, "password_file", spec.target_password_file);
  t += "\n[monitor]\n";
  AddKey(&t, "listen", spec.monitor_listen);
  AddKey(&t, "heartbeat_interval", spec.heartbeat_interval);
  AddKey(&t, "token_file", spec.monitor_token_file);
  if (!spec.extra_toml.empty()) t += "\n" + spec.extra_toml + "\n";
  return t;
}

std::string WriteConfig(const std::string& path, const SyncConfigSpec& spec) {
  WriteFile(path, RenderConfig(spec));
  return path;
}

}  // namespace stagesync::testing
