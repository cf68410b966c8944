#pragma once
// Runs a program as a user would from a shell and keeps what they would see: the exit code
// and stdout + stderr together. Shared by the CLI, INT8 and corpus suites.
#include <string>
#include <vector>

namespace mqb::test {

struct CommandRun {
  int code = -1;    // exit code; 128 + signal when a signal ended it
  std::string out;  // stdout and stderr together
};

// `commandLine` through /bin/sh with stderr folded into stdout.
CommandRun runCommand(const std::string& commandLine);

// The lines of `output` that hold more than blanks (what a user reads of a command's output).
std::vector<std::string> nonEmptyLines(const std::string& output);

}  // namespace mqb::test
