#include "stagesync/config.h"

#include <libpq-fe.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config_reader.h"
#include "stagesync/secrets.h"

namespace stagesync {

std::optional<ListenAddress> ParseListenAddress(const std::string& listen, std::string* why) {
  *why =
      "\"" + listen + "\" must be host:port with a port from 1 to 65535, e.g. \"127.0.0.1:8321\"";
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string digits = listen.substr(colon + 1);
  // At most five digits, so that a long number can neither overflow nor wrap into range.
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  int port = std::stoi(digits);
  if (port < 1 || port > 65535) return std::nullopt;
  ListenAddress out;
  out.host = listen.substr(0, colon);
  if (out.host.size() > 1 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  out.port = static_cast<uint16_t>(port);
  why->clear();
  return out;
}

namespace {

bool IsUri(const std::string& dsn) {
  return dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0 ||
         dsn.rfind("mysql://", 0) == 0;
}

const toml::table* Section(Reader& r, const toml::table& root, const char* name) {
  const toml::node* node = root.get(name);
  if (!node) return nullptr;
  if (!node->is_table()) {
    r.Problem(name, std::string("must be a section [") + name + "]");
    return nullptr;
  }
  return node->as_table();
}

void ReadEndpoint(Reader& r, const toml::table& t, const std::string& prefix, EndpointConfig* e) {
  r.Choice(t, prefix, "kind", {{"mysql", Engine::kMysql}, {"postgres", Engine::kPostgres}},
           &e->kind);
  r.String(t, prefix, "dsn", &e->dsn);
  r.String(t, prefix, "password_file", &e->password_file);
  if (e->dsn.empty()) {
    r.Problem(prefix + "dsn",
              "is required, e.g. dsn = \"host=127.0.0.1 port=5432 dbname=prod user=repl\"");
  } else if ((e->kind == Engine::kMysql) != (e->dsn.rfind("mysql://", 0) == 0)) {
    r.Problem(prefix + "dsn", e->kind == Engine::kMysql ? "kind = \"mysql\" needs a dsn like "
                                                          "\"mysql://user@127.0.0.1:3306/database\""
                                                        : "a mysql:// dsn needs kind = \"mysql\"");
  }
  if (!e->password_file.empty()) {
    std::ifstream in(e->password_file);
    if (!in) {
      r.Problem(prefix + "password_file", "cannot read \"" + e->password_file + "\"");
    } else {
      std::getline(in, e->password);
      while (!e->password.empty() && (e->password.back() == '\r' || e->password.back() == '\n')) {
        e->password.pop_back();
      }
    }
  }
  // Known before anything can fail with them: the dsn's passwords as written and decoded,
  // and the password file's in each form the connection string gives it.
  std::vector<std::string> secrets = {e->password};
  RedactDsn(e->ConnectionString(), &secrets);
  for (const auto& s : secrets) RegisterSecret(s);
  // libpq's own parser: a typo in a key or a quote fails here, before anything is contacted.
  if (e->kind == Engine::kPostgres && !e->dsn.empty()) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(e->dsn.c_str(), &error);
    if (!options) {
      std::string what = error ? error : "not a connection string";
      while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
      r.Problem(prefix + "dsn", what +
                                    "; write key=value pairs such as \"host=127.0.0.1 port=5432 "
                                    "dbname=prod user=repl\" or postgresql://user@host:port/db");
    }
    PQconninfoFree(options);
    PQfreemem(error);
  }
}

// A relative rule file is looked for in the current directory, then beside the config.
std::string RulesPath(const std::string& file, const std::string& config_path) {
  std::filesystem::path p(file);
  std::error_code ec;
  if (p.is_absolute() || std::filesystem::exists(p, ec)) return file;
  std::filesystem::path beside = std::filesystem::path(config_path).parent_path() / p;
  return std::filesystem::exists(beside, ec) ? beside.string() : file;
}

}  // namespace

std::string EndpointConfig::ConnectionString() const {
  if (password.empty()) return dsn;
  if (IsUri(dsn)) {
    std::string encoded;
    for (unsigned char c : password) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        encoded += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        encoded += buf;
      }
    }
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "password=" + encoded;
  }
  std::string escaped;
  for (char c : password) {
    if (c == '\'' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return dsn + " password='" + escaped + "'";
}

std::string SourceConfig::DatabaseName() const {
  if (IsUri(dsn)) {
    auto scheme = dsn.find("://");
    auto slash = dsn.find('/', scheme + 3);
    if (slash == std::string::npos) return "";
    return dsn.substr(slash + 1, dsn.find('?', slash) - slash - 1);
  }
  std::istringstream in(dsn);
  std::string word;
  while (in >> word) {
    if (word.rfind("dbname=", 0) == 0) return word.substr(7);
  }
  return "";
}

std::string EndpointConfig::RedactedDsn() const {
  return RedactDsn(dsn);
}

Status ParseConfig(const std::string& toml_text, const std::string& origin, Config* out) {
  Config cfg;
  cfg.path = origin;
  toml::table root;
  if (Status s = ParseToml(toml_text, origin, &root); !s.ok()) return s;
  Reader r(origin);
  r.CheckKeys(
      root, "",
      {"source", "target", "stream", "mapping", "monitor", "cutover", "apply", "upgrade", "copy"});

  if (const auto* t = Section(r, root, "source")) {
    r.CheckKeys(*t, "source.",
                {"kind", "dsn", "password_file", "tables", "exclude", "slot", "publication",
                 "server_id", "allow_keyless"});
    ReadEndpoint(r, *t, "source.", &cfg.source);
    r.StringList(*t, "source.", "tables", &cfg.source.tables);
    r.StringList(*t, "source.", "exclude", &cfg.source.exclude);
    r.String(*t, "source.", "slot", &cfg.source.slot);
    r.String(*t, "source.", "publication", &cfg.source.publication);
    r.Bool(*t, "source.", "allow_keyless", &cfg.source.allow_keyless);
    int64_t server_id = cfg.source.server_id;
    r.Integer(*t, "source.", "server_id", 1, 4294967295LL, &server_id);
    cfg.source.server_id = static_cast<uint32_t>(server_id);
    if (cfg.source.tables.empty())
      r.Problem("source.tables", "must list at least one table glob, e.g. [\"public.*\"]");
    for (const auto& g : cfg.source.tables) {
      if (g.find('.') == std::string::npos) {
        r.Problem("source.tables",
                  "\"" + g + "\" must be schema.table (globs allowed), e.g. \"public." + g + "\"");
      }
    }
    auto valid_slot = [](const std::string& s) {
      if (s.empty() || s.size() > 63) return false;
      for (char c : s) {
        if (!(std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
          return false;
      }
      return true;
    };
    if (!valid_slot(cfg.source.slot)) {
      r.Problem(
          "source.slot",
          "\"" + cfg.source.slot +
              "\" is not a valid slot name; use lower-case letters, digits and _ (at most 63)");
    }
    if (cfg.source.publication.empty()) r.Problem("source.publication", "must not be empty");
  } else {
    r.Problem("source", "section [source] is required (kind, dsn, tables)");
  }

  if (const auto* t = Section(r, root, "target")) {
    r.CheckKeys(*t, "target.", {"kind", "dsn", "password_file"});
    ReadEndpoint(r, *t, "target.", &cfg.target);
  } else {
    r.Problem("target", "section [target] is required (kind, dsn)");
  }

  if (const auto* t = Section(r, root, "stream")) {
    r.CheckKeys(*t, "stream.",
                {"transport", "brokers", "topic_prefix", "schemas_enable", "decimal_handling_mode",
                 "group_id", "dead_letter_topic", "routes"});
    r.Bool(*t, "stream.", "schemas_enable", &cfg.stream.schemas_enable);
    if (const toml::node* n = t->get("routes")) {
      const toml::table* routes = n->as_table();
      if (!routes)
        r.Problem("stream.routes", "must be a table such as { \"topic\" = \"schema.table\" }");
      for (const auto& [topic, glob] : routes ? *routes : toml::table{}) {
        std::string k = "stream.routes.\"" + std::string(topic.str()) + "\"";
        if (!glob.is_string() || glob.value<std::string>()->find('.') == std::string::npos) {
          r.Problem(
              k, "must be the source table its records name, as \"schema.table\" (globs allowed)");
          continue;
        }
        cfg.stream.routes[std::string(topic.str())] = *glob.value<std::string>();
      }
    }
    r.String(*t, "stream.", "decimal_handling_mode", &cfg.stream.decimal_handling_mode);
    r.OneOf("stream.decimal_handling_mode", cfg.stream.decimal_handling_mode,
            {"precise", "string", "double"});
    r.String(*t, "stream.", "group_id", &cfg.stream.group_id);
    r.String(*t, "stream.", "dead_letter_topic", &cfg.stream.dead_letter_topic);
    r.Choice(*t, "stream.", "transport",
             {{"direct", Transport::kDirect}, {"kafka", Transport::kKafka}}, &cfg.stream.transport);
    r.String(*t, "stream.", "brokers", &cfg.stream.brokers);
    r.String(*t, "stream.", "topic_prefix", &cfg.stream.topic_prefix);
    if (cfg.stream.transport == Transport::kKafka && cfg.stream.brokers.empty()) {
      r.Problem("stream.brokers",
                "is required with transport = \"kafka\", e.g. \"127.0.0.1:9092\"");
    }
  }

  if (const auto* t = Section(r, root, "mapping")) {
    for (const auto& [key, node] : *t) {
      std::string source_table(key.str());
      std::string k = "mapping.\"" + source_table + "\"";
      if (source_table.find('.') == std::string::npos) {
        r.Problem(k, "the source table must be written schema.table");
      }
      const toml::table* m = node.as_table();
      if (!m) {
        r.Problem(k, "must be { table = \"schema.table\", columns = { old = \"new\" } }");
        continue;
      }
      r.CheckKeys(*m, k + ".", {"table", "columns"});
      TableMapping tm;
      r.String(*m, k + ".", "table", &tm.target_table);
      bool whole_schema = source_table.size() > 2 && source_table.ends_with(".*");
      if (whole_schema != (tm.target_table.size() > 2 && tm.target_table.ends_with(".*")) ||
          (whole_schema && m->get("columns"))) {
        r.Problem(k,
                  "a whole schema maps to a whole schema: write \"db.*\" = { table = "
                  "\"schema.*\" } (no columns), or name single tables on both sides");
      }
      if (!tm.target_table.empty() && tm.target_table.find('.') == std::string::npos) {
        r.Problem(k + ".table", "\"" + tm.target_table + "\" must be schema.table");
      }
      if (AsciiLower(tm.target_table).starts_with("stagesync.")) {
        r.Problem(k + ".table",
                  "\"" + tm.target_table +
                      "\" is stagesync's own bookkeeping schema: map to a table of yours");
      }
      if (const toml::node* cols = m->get("columns")) {
        if (const toml::table* ct = cols->as_table()) {
          for (const auto& [ck, cv] : *ct) {
            if (!cv.is_string()) {
              r.Problem(k + ".columns." + std::string(ck.str()),
                        "must be the target column's name as a string");
              continue;
            }
            tm.columns[std::string(ck.str())] = *cv.value<std::string>();
          }
        } else {
          r.Problem(k + ".columns", "must be a table such as { old_name = \"new_name\" }");
        }
      }
      cfg.mapping[source_table] = std::move(tm);
    }
  }

  if (const auto* t = Section(r, root, "monitor")) {
    r.CheckKeys(*t, "monitor.", {"listen", "heartbeat_interval", "token_file"});
    r.String(*t, "monitor.", "listen", &cfg.monitor.listen);
    r.DurationKey(*t, "monitor.", "heartbeat_interval", &cfg.monitor.heartbeat_interval,
                  Duration(100));
    r.String(*t, "monitor.", "token_file", &cfg.monitor.token_file);
    std::string why;
    if (!ParseListenAddress(cfg.monitor.listen, &why)) r.Problem("monitor.listen", why);
  }

  if (const auto* t = Section(r, root, "apply")) {
    r.CheckKeys(*t, "apply.", {"batch_rows", "batch_delay", "on_error"});
    int64_t rows = static_cast<int64_t>(cfg.apply.batch_rows);
    r.Integer(*t, "apply.", "batch_rows", 1, 10000000, &rows);
    cfg.apply.batch_rows = static_cast<size_t>(rows);
    r.DurationKey(*t, "apply.", "batch_delay", &cfg.apply.batch_delay);
    r.Choice(*t, "apply.", "on_error",
             {{"dead-letter", OnError::kDeadLetter}, {"stop", OnError::kStop}},
             &cfg.apply.on_error);
  }

  if (const auto* t = Section(r, root, "copy")) {
    r.CheckKeys(*t, "copy.", {"jobs", "max_parts", "part_bytes", "snapshot_hold"});
    int64_t jobs = cfg.copy.jobs, parts = cfg.copy.max_parts;
    r.Integer(*t, "copy.", "jobs", 1, 64, &jobs);
    r.Integer(*t, "copy.", "max_parts", 1, 1024, &parts);
    r.Integer(*t, "copy.", "part_bytes", 65536, int64_t{1} << 40, &cfg.copy.part_bytes);
    cfg.copy.jobs = static_cast<int>(jobs);
    cfg.copy.max_parts = static_cast<int>(parts);
    r.DurationKey(*t, "copy.", "snapshot_hold", &cfg.copy.snapshot_hold);
  }

  if (const auto* t = Section(r, root, "cutover")) {
    r.CheckKeys(*t, "cutover.",
                {"max_lag", "fence", "fence_command", "unfence_command", "fence_roles",
                 "drain_timeout", "switch_command", "verify", "checks"});
    r.DurationKey(*t, "cutover.", "max_lag", &cfg.cutover.max_lag);
    r.Choice(*t, "cutover.", "fence",
             {{"command", FenceMode::kCommand},
              {"none", FenceMode::kNone},
              {"read-only", FenceMode::kReadOnly}},
             &cfg.cutover.fence);
    r.String(*t, "cutover.", "fence_command", &cfg.cutover.fence_command);
    r.String(*t, "cutover.", "unfence_command", &cfg.cutover.unfence_command);
    r.DurationKey(*t, "cutover.", "drain_timeout", &cfg.cutover.drain_timeout);
    r.StringList(*t, "cutover.", "fence_roles", &cfg.cutover.fence_roles);
    r.String(*t, "cutover.", "switch_command", &cfg.cutover.switch_command);
    r.Choice(*t, "cutover.", "verify",
             {{"checksum", VerifyMode::kChecksum},
              {"count", VerifyMode::kCount},
              {"none", VerifyMode::kNone}},
             &cfg.cutover.verify);
    r.StringList(*t, "cutover.", "checks", &cfg.cutover.checks);
    if (cfg.cutover.fence == FenceMode::kCommand && cfg.cutover.fence_command.empty()) {
      r.Problem("cutover.fence_command", "is required with fence = \"command\"");
    }
    if (cfg.cutover.fence == FenceMode::kCommand && cfg.cutover.unfence_command.empty()) {
      r.Problem("cutover.unfence_command",
                "is required with fence = \"command\": a failed cutover must make production "
                "writable again");
    }
  }

  if (const auto* t = Section(r, root, "upgrade")) {
    r.CheckKeys(*t, "upgrade.", {"rules"});
    r.String(*t, "upgrade.", "rules", &cfg.upgrade.rules_file);
  }

  if (r.HasProblems()) return Status::Usage(r.Joined());
  if (!cfg.upgrade.rules_file.empty()) {
    if (Status s = LoadUpgradeRules(RulesPath(cfg.upgrade.rules_file, origin), &cfg.upgrade.rules);
        !s.ok()) {
      return s;
    }
  }
  *out = std::move(cfg);
  return Status::Ok();
}

Status LoadConfig(const std::string& path, Config* out) {
  // A directory opens and reads as empty: it would be reported as a config without [source].
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Usage("--config \"" + path +
                         "\" is a directory, not a config file; pass the TOML file, e.g. "
                         "--config " +
                         (std::filesystem::path(path) / "stagesync.toml").string());
  }
  if (!std::filesystem::exists(path, ec)) {
    return Status::Usage("--config \"" + path +
                         "\": no such file; pass the path of an existing TOML config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Usage("cannot read config file \"" + path + "\" (" + std::strerror(errno) +
                         "); pass a readable file with --config FILE");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, out);
}

}  // namespace stagesync
