#pragma once
// Byte-level tools the corpus uses to damage files written by the project's own writers:
// patch a NIfTI header field, cut a file, gzip bytes, write a DICOM slice with given tags.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace mqb::corpus {

std::string readBytes(const std::string& path);
void writeBytes(const std::string& path, const std::string& bytes);
std::string gunzip(const std::string& path);
void gzipTo(const std::string& bytes, const std::string& path);

template <typename T>
void put(std::string& bytes, size_t offset, T value) {
  std::memcpy(&bytes[offset], &value, sizeof(T));
}

// One 2D DICOM CT slice (int16, rows x columns) with the given series, position and orientation.
struct DicomSliceSpec {
  std::string seriesUid = "1.2.826.0.1.3680043.2.1125.777.1";
  std::array<double, 3> position{0, 0, 0};
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};
  int rows = 16, columns = 16;
  int instance = 1;
  int16_t value = 1064;  // stored; with intercept -1024 -> 40 HU
};
void writeDicomSlice(const std::string& path, const DicomSliceSpec& spec);

// A named pipe / a listening Unix socket at `path`.
void makeFifo(const std::string& path);
void makeSocket(const std::string& path);

}  // namespace mqb::corpus
