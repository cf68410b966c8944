#pragma once
// Checks made on paths before any work starts: an input is opened only when it is a regular
// file (or a folder where a DICOM series folder is allowed), never a pipe, socket or device that
// could block forever; an output must be writable, not a folder or device, and not one of the
// inputs, so a long run never ends in "cannot write" and never replaces its own input.
#include <string>
#include <vector>

namespace mqb {

// "a named pipe", "a socket", "a character device", ... for what `path` is; "" for a regular
// file or folder (following symbolic links).
std::string specialFileKind(const std::string& path);

// Throws mqb::Error("<path>: ...") unless path names an existing regular file, or a folder
// when folderAllowed. `what` names the role in the message ("volume", "model").
void checkInputPath(const std::string& path, bool folderAllowed, const std::string& what = "input");

// Throws for any entry of `folder` that is not a regular file or folder (e.g. a named pipe
// among the DICOM slices, which would block the series scan).
void checkFolderEntries(const std::string& folder);

// Throws mqb::Error("<path>: ...") unless `path` can be created or replaced as a regular
// file: it is not a folder, device, pipe or socket; it is not the same file (inode) as any of
// `inputs` (folders among them are skipped); and its folder is writable.
void checkOutputPath(const std::string& path, const std::vector<std::string>& inputs);

// Whether `path` ends with `lowerSuffix` (given in lower case, e.g. ".nii.gz"), ignoring the
// case of the path: file formats are chosen by extension, and ".NII.GZ" is the same format.
bool hasSuffixIgnoringCase(const std::string& path, const std::string& lowerSuffix);

// Every output path of one command must differ from the others.
void checkDistinctOutputs(const std::vector<std::string>& outputs);

}  // namespace mqb
