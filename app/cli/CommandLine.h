#pragma once
// A small declarative option parser for the CLI subcommands: every option is declared
// once with its help text, so `--help` and the error for an unknown option stay in sync.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mqb::cli {

class CommandLine {
 public:
  CommandLine(std::string command, std::string summary);
  void option(const std::string& name, const std::string& valueName, const std::string& help, bool required = false,
              const std::string& defaultValue = "");
  void flag(const std::string& name, const std::string& help);

  // Returns false when --help was given (usage already printed). Throws mqb::Error on
  // unknown options, missing values or missing required options.
  bool parse(int argc, char** argv);
  std::string usage() const;

  bool has(const std::string& name) const;
  std::string get(const std::string& name) const;  // value or declared default
  double getDouble(const std::string& name) const;
  int getInt(const std::string& name) const;
  std::vector<std::string> getList(const std::string& name) const;  // comma-separated

 private:
  struct Spec {
    std::string name, valueName, help, defaultValue;
    bool required = false, isFlag = false;
  };
  const Spec* find(const std::string& name) const;
  std::string command_, summary_;
  std::vector<Spec> specs_;
  std::map<std::string, std::string> values_;
};

}  // namespace mqb::cli
