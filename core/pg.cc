#include "stagesync/pg.h"

namespace stagesync::pg {

std::string QuoteIdent(const std::string& ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(const std::string& text) {
  std::string out = "'";
  bool backslash = false;
  for (char c : text) {
    if (c == '\'') out += '\'';
    if (c == '\\') backslash = true;
    out += c;
  }
  out += '\'';
  // standard_conforming_strings is on by default; E'' is not needed.
  (void)backslash;
  return out;
}

std::pair<std::string, std::string> SplitQualified(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos) return {"public", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

std::string QualifiedIdent(const std::string& schema, const std::string& table) {
  return QuoteIdent(schema) + "." + QuoteIdent(table);
}

std::unique_ptr<pqxx::connection> Connect(const EndpointConfig& endpoint,
                                          const std::string& application_name) {
  // Later keywords override the dsn's, so the session options always apply.
  std::string conninfo = endpoint.ConnectionString();
  bool uri = conninfo.find("://") != std::string::npos;
  std::string extra_opts = std::string(kSessionOptions);
  std::string options;
  if (uri) {
    std::string encoded;
    for (char c : extra_opts)
      encoded +=
          (c == ' ') ? std::string("%20") : (c == '=' ? std::string("%3D") : std::string(1, c));
    options = std::string(conninfo.find('?') == std::string::npos ? "?" : "&") +
              "application_name=" + application_name + "&options=" + encoded;
  } else {
    options = " application_name=" + QuoteLiteral(application_name) +
              " options=" + QuoteLiteral(extra_opts);
  }
  try {
    return std::make_unique<pqxx::connection>(conninfo + options);
  } catch (const std::exception& e) {
    throw pqxx::broken_connection("cannot connect to " + endpoint.RedactedDsn() + ": " +
                                  Describe(e));
  }
}

std::string Describe(const std::exception& e) {
  std::string msg = e.what();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  for (auto& c : msg) {
    if (c == '\n') c = ' ';
  }
  return msg;
}

}  // namespace stagesync::pg
