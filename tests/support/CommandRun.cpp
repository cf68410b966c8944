#include "CommandRun.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace mqb::test {

CommandRun runCommand(const std::string& commandLine) {
  const std::string cmd = commandLine + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

}  // namespace mqb::test
