// Minimal leveled logging to stderr; one line per event, timestamped.
#pragma once

#include <sstream>
#include <string>

namespace stagesync {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const std::string& line);

}  // namespace stagesync

#define SS_LOG(level, expr)                                                     \
  do {                                                                          \
    if (::stagesync::LogEnabled(::stagesync::LogLevel::level)) {                \
      std::ostringstream ss_log_stream_;                                        \
      ss_log_stream_ << expr;                                                   \
      ::stagesync::LogLine(::stagesync::LogLevel::level, ss_log_stream_.str()); \
    }                                                                           \
  } while (0)
#define LOG_DEBUG(expr) SS_LOG(kDebug, expr)
#define LOG_INFO(expr) SS_LOG(kInfo, expr)
#define LOG_WARN(expr) SS_LOG(kWarn, expr)
#define LOG_ERROR(expr) SS_LOG(kError, expr)
