#pragma once
// Checks of an image file's own bytes that ITK's readers skip: ITK reads a NIfTI whose data
// ends early, whose vox_offset lies past the end, or whose magic is wrong (as Analyze 7.5),
// invents a spacing for pixdim NaN or 0, and reads a MetaImage with a short raw file while
// only printing "data not read completely". Each of these is a clear mqb::Error here.
#include <string>

namespace mqb {

// Runs the checks that apply to the file's format (by extension: .nii, .nii.gz, .mha, .mhd).
// Compressed files are decompressed once to their end (zlib verifies length and CRC).
void checkImageFile(const std::string& path);

}  // namespace mqb
