#include "CommandLine.h"

#include <iostream>
#include <sstream>

#include "support/Error.h"

namespace mqb::cli {

CommandLine::CommandLine(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void CommandLine::option(const std::string& name, const std::string& valueName, const std::string& help,
                         bool required, const std::string& defaultValue) {
  specs_.push_back({name, valueName, help, defaultValue, required, false});
}

void CommandLine::flag(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, "", false, true});
}

const CommandLine::Spec* CommandLine::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

bool CommandLine::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage();
      return false;
    }
    if (arg.rfind("--", 0) != 0) throw Error(command_ + ": unexpected argument '" + arg + "' (see --help)");
    std::string name = arg.substr(2), value;
    const auto eq = name.find('=');
    const bool inlineValue = eq != std::string::npos;
    if (inlineValue) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Spec* spec = find(name);
    if (!spec) throw Error(command_ + ": unknown option --" + name + " (see --help)");
    if (spec->isFlag) {
      values_[name] = "1";
      continue;
    }
    if (!inlineValue) {
      if (i + 1 >= argc) throw Error(command_ + ": option --" + name + " needs a value");
      value = argv[++i];
    }
    // The last one silently winning would write an output, or read an input, the user did
    // not mean (issue 13: an output given twice).
    if (values_.count(name))
      throw Error(command_ + ": option --" + name + " is given twice ('" + values_[name] + "' and '" + value +
                  "'); give it once");
    values_[name] = value;
  }
  for (const auto& s : specs_)
    if (s.required && !values_.count(s.name))
      throw Error(command_ + ": missing required option --" + s.name + " (see --help)");
  return true;
}

std::string CommandLine::usage() const {
  std::ostringstream out;
  out << "usage: medquanbench-cli " << command_;
  for (const auto& s : specs_)
    if (s.required) out << " --" << s.name << " " << s.valueName;
  out << " [options]\n\n" << summary_ << "\n\noptions:\n";
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.isFlag ? "" : " " + s.valueName);
    out << left;
    out << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << s.help;
    if (s.required) out << " (required)";
    if (!s.defaultValue.empty()) out << " [default: " << s.defaultValue << "]";
    out << "\n";
  }
  out << "  --help                      show this help\n";
  return out.str();
}

bool CommandLine::has(const std::string& name) const { return values_.count(name) > 0; }

std::string CommandLine::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const Spec* s = find(name);
  return s ? s->defaultValue : std::string();
}

double CommandLine::getDouble(const std::string& name) const {
  const std::string v = get(name);
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    throw Error(command_ + ": --" + name + " expects a number, got '" + v + "'");
  }
}

int CommandLine::getInt(const std::string& name) const {
  const std::string v = get(name);
  try {
    size_t used = 0;
    int d = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    throw Error(command_ + ": --" + name + " expects an integer, got '" + v + "'");
  }
}

std::vector<std::string> CommandLine::getList(const std::string& name) const {
  std::vector<std::string> out;
  std::stringstream ss(get(name));
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace mqb::cli
