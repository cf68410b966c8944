#pragma once
// ITK, its NIfTI / MetaIO / NRRD readers and GDCM print warnings and errors straight to the
// process's stderr (itk::OutputWindow, gdcm::Trace, nifti's fprintf, MetaIO's std::cerr).
// While one of these captures is alive that text goes into a buffer instead, so a user sees
// one line of ours, with the library's reason folded in where it explains the failure.
#include <string>

namespace mqb {

class LibraryMessageCapture {
 public:
  LibraryMessageCapture();
  ~LibraryMessageCapture();
  LibraryMessageCapture(const LibraryMessageCapture&) = delete;
  LibraryMessageCapture& operator=(const LibraryMessageCapture&) = delete;

  // Everything captured so far (all lines).
  std::string text();
  // The most informative line, cleaned of ITK's "file:line" noise; "" when nothing was printed.
  std::string summary();

 private:
  bool active_ = false;
};

// One line of an ITK exception description or library text: trims whitespace and drops
// location prefixes such as "/build/itk/Modules/IO/...cxx:123:".
std::string cleanLibraryLine(const std::string& line);

}  // namespace mqb
