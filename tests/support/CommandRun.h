#pragma once
// Runs a program as a user would from a shell and keeps what they would see: the exit code
// and stdout + stderr together. Shared by the CLI, INT8 and corpus suites.
#include <string>

namespace mqb::test {

struct CommandRun {
  int code = -1;    // exit code; 128 + signal when a signal ended it
  std::string out;  // stdout and stderr together
};

// `commandLine` through /bin/sh with stderr folded into stdout.
CommandRun runCommand(const std::string& commandLine);

}  // namespace mqb::test
