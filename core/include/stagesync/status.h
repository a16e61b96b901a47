// Errors as values: what failed, and how the caller should exit.
#pragma once

#include <string>
#include <utility>

namespace stagesync {

// Exit codes shared by every command (see CONTRACT.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;  // bad usage, bad config, or a precondition not met
inline constexpr int kExitDifferences = 3;

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message, int exit_code = kExitFailure) {
    return Status(std::move(message), exit_code);
  }
  static Status Usage(std::string message) { return Status(std::move(message), kExitUsage); }
  // A failure that may pass by itself (a connection lost): the caller may retry.
  static Status Transient(std::string message) {
    Status s(std::move(message), kExitFailure);
    s.transient_ = true;
    return s;
  }

  bool ok() const { return exit_code_ == kExitOk; }
  int exit_code() const { return exit_code_; }
  const std::string& message() const { return message_; }
  bool transient() const { return transient_; }

 private:
  Status(std::string message, int exit_code)
      : message_(std::move(message)), exit_code_(exit_code) {}
  std::string message_;
  int exit_code_ = kExitOk;
  bool transient_ = false;
};

}  // namespace stagesync
