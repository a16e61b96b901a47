// Child processes for integration tests: the stagesync binary under test, and the
// PostgreSQL tools (initdb, pg_ctl, pg_dump, pgbench) the scenarios drive.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stagesync::testing {

// A directory for this test process's scratch files (configs, child output). Created on
// first use under $TMPDIR (or /tmp); kept after the run so failures can be inspected.
const std::string& ScratchDir();

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
int FreeTcpPort();

// Reads a whole file; empty string if it does not exist.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// One spawned child. stdout and stderr go to files under ScratchDir() so that a process
// killed with SIGKILL still leaves its output behind. The child runs in its own process
// group. The destructor ends a still-running child (SIGTERM, then SIGKILL) and reaps it.
// Not thread-safe; not copyable.
class Process {
 public:
  // argv[0] is the executable path (no PATH search). `name` labels the output files.
  Process(std::vector<std::string> argv, const std::string& name);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // True while the child has not been reaped.
  bool Running();
  // Waits up to `timeout` for the child to end. Returns its exit code, 128 + signal number
  // if a signal ended it, or nullopt if it is still running.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Sends `sig` to the child only (not its group).
  void Signal(int sig);
  // SIGKILL and reap.
  int Kill();

  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Stderr() const { return ReadFile(stderr_path_); }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  // "argv..." joined by spaces, for messages.
  std::string CommandLine() const;

 private:
  std::vector<std::string> argv_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;  // as Process::Wait; -1 if it timed out (and was killed)
  std::string out;
  std::string err;
  std::string command;
  // Everything above in one string, for assertion messages.
  std::string Describe() const;
};

// Runs argv to completion (killing it after `timeout`).
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& name,
                         std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace stagesync::testing
