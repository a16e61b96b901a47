// PostgreSQL helpers every stage needs: identifier quoting and opening connections with the
// session settings that make text values exact (ISO dates, shortest-exact floats).
#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "stagesync/config.h"

namespace stagesync::pg {

std::string QuoteIdent(const std::string& ident);
std::string QuoteLiteral(const std::string& text);
// "schema.table" -> {schema, table}; no dot -> {"public", name}.
std::pair<std::string, std::string> SplitQualified(const std::string& name);
std::string QualifiedIdent(const std::string& schema, const std::string& table);

// libpq "options" that pin the output formats apply and capture rely on.
inline constexpr const char* kSessionOptions =
    "-c datestyle=ISO,YMD -c intervalstyle=postgres -c extra_float_digits=3 "
    "-c bytea_output=hex -c TimeZone=UTC -c client_encoding=UTF8";

// Opens a SQL connection. Throws pqxx::broken_connection with a message that names the
// endpoint (password redacted).
std::unique_ptr<pqxx::connection> Connect(const EndpointConfig& endpoint,
                                          const std::string& application_name);

// Turns a libpqxx/libpq exception into one line for the user.
std::string Describe(const std::exception& e);

}  // namespace stagesync::pg
