// The command line: every command with its summary and its flags, declared once here, and
// the parser and help texts that read them.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "commands.h"
#include "stagesync/status.h"

namespace stagesync::cli {

// A flag one command takes, besides --config, --verbose, --help and --version (every
// command's). It sets a switch in Options, or a duration, a count or a text read from the
// next argument.
struct Flag {
  const char* name;
  std::variant<bool Options::*, Duration Options::*, int Options::*, std::string Options::*> target;
  const char* help;
};

struct Command {
  const char* summary;
  std::vector<Flag> flags;
  int (*run)(const Config& config, const Options& options);
};

// Every command by name; `stagesync --help` lists them in the map's (alphabetical) order.
const std::map<std::string, Command>& Commands();

// What the command line asks for: a command to run with its options, or (command null) text
// to print and the exit code to end with: help, the version, or bad usage.
struct CommandLine {
  const Command* command = nullptr;
  std::string name;
  Options options;
  bool verbose = false;
  std::string out, err;
  int exit_code = kExitOk;
};

// `args` are the arguments after the program's name.
CommandLine ParseCommandLine(const std::vector<std::string>& args);

std::string UsageText();
std::string CommandHelp(const std::string& name, const Command& command);

}  // namespace stagesync::cli
