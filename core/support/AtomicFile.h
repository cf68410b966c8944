#pragma once
#include <functional>
#include <string>
#include <vector>

namespace mqb {

// Writes to a temporary file beside `path` and renames it into place, so a failure or a
// crash never leaves a truncated report where a previous good one was.
void writeTextFileAtomically(const std::string& path, const std::string& text);

// All outputs of one command: each is written to a temporary beside its target, and commit()
// renames them all at the end, so a failure or a cancel before commit leaves none of them
// (the destructor removes the temporaries). Missing folders are created when staging.
class OutputTransaction {
 public:
  OutputTransaction();
  ~OutputTransaction();
  OutputTransaction(const OutputTransaction&) = delete;
  OutputTransaction& operator=(const OutputTransaction&) = delete;

  // The temporary path to write `target`'s content to: the same file name (so writers pick the
  // same format) in a hidden staging folder beside the target, ".tmp-<pid>-<id>-output/". Files a
  // writer adds beside it (a MetaImage's .zraw) are committed with it.
  std::string stage(const std::string& target);
  // Runs write(temporary); an mqb::Error it throws is reported with the target's name.
  void write(const std::string& target, const std::function<void(const std::string& temporary)>& write);
  void writeText(const std::string& target, const std::string& text);
  // Renames every staged temporary onto its target.
  void commit();

  // Removes the temporaries of every uncommitted transaction in the process. For an
  // interrupt that ends the process without unwinding (see app/cli/Interrupts.h).
  static void discardAllPending();

 private:
  struct Staged {
    std::string target, temporary;
  };
  void discard();
  std::vector<Staged> staged_;
  int id_ = 0;  // staging folders are per transaction: ".tmp-<pid>-<id>-output"
  bool committed_ = false;
};

}  // namespace mqb
