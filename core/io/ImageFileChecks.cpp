#include "io/ImageFileChecks.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/Error.h"
#include "support/FileChecks.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Reads the first `head.size()` bytes (fewer when the file is shorter) and the total
// decompressed length. gzopen reads uncompressed files transparently.
uint64_t readHeadAndLength(const std::string& path, std::vector<unsigned char>& head) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  uint64_t total = 0;
  std::vector<unsigned char> buf(1 << 20);
  size_t kept = 0;
  int n = 0;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    if (kept < head.size()) {
      const size_t take = std::min(head.size() - kept, static_cast<size_t>(n));
      std::memcpy(head.data() + kept, buf.data(), take);
      kept += take;
    }
    total += static_cast<uint64_t>(n);
  }
  int code = Z_OK;
  const char* msg = gzerror(f, &code);
  const std::string reason = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END))
    throw Error(path + ": the compressed file is truncated or corrupt (" + reason + ")");
  head.resize(kept);
  return total;
}

template <typename T>
T load(const std::vector<unsigned char>& b, size_t offset, bool swap) {
  T v;
  unsigned char tmp[sizeof(T)];
  std::memcpy(tmp, b.data() + offset, sizeof(T));
  if (swap)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(tmp[i], tmp[sizeof(T) - 1 - i]);
  std::memcpy(&v, tmp, sizeof(T));
  return v;
}

// Bits per voxel of the NIfTI datatypes a scalar image may use; 0 for the others.
int scalarBits(int datatype) {
  switch (datatype) {
    case 2:
    case 256: return 8;
    case 4:
    case 512: return 16;
    case 8:
    case 16:
    case 768: return 32;
    case 64:
    case 1024:
    case 1280: return 64;
    default: return 0;
  }
}

std::string datatypeName(int datatype) {
  switch (datatype) {
    case 32: return "complex64";
    case 128: return "RGB";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "RGBA";
    case 1: return "binary";
    default: return "unknown datatype code " + std::to_string(datatype);
  }
}

void checkNiftiFloatsFinite(const std::string& path, uint64_t offset, int bits, bool swap);

void checkNifti(const std::string& path) {
  std::vector<unsigned char> h(540);
  const uint64_t length = readHeadAndLength(path, h);
  if (h.size() < 348)
    throw Error(path + ": file of " + std::to_string(length) + " bytes is shorter than a NIfTI header (348 bytes)");
  const int32_t size1 = load<int32_t>(h, 0, false);
  bool swap = false;
  int version = 0;
  if (size1 == 348 || load<int32_t>(h, 0, true) == 348) {
    version = 1;
    swap = size1 != 348;
  } else if (size1 == 540 || load<int32_t>(h, 0, true) == 540) {
    version = 2;
    swap = size1 != 540;
  } else {
    throw Error(path + ": not a NIfTI file (header size field is " + std::to_string(size1) + ", not 348 or 540)");
  }
  if (version == 1) {
    if (std::memcmp(h.data() + 344, "n+1\0", 4) != 0) {
      if (std::memcmp(h.data() + 344, "ni1\0", 4) == 0)
        throw Error(path + ": NIfTI header says the voxels are in a separate .img file (magic \"ni1\"); "
                           "a single-file .nii is expected");
      throw Error(path + ": bad NIfTI magic (not \"n+1\"); Analyze 7.5 and damaged headers are not read");
    }
  } else {
    if (h.size() < 540) throw Error(path + ": NIfTI-2 header is truncated");
    if (std::memcmp(h.data() + 4, "n+2\0", 4) != 0) throw Error(path + ": bad NIfTI-2 magic (not \"n+2\")");
  }

  int64_t dim[8];
  double pixdim[8];
  int datatype, bitpix, qformCode, sformCode;
  double voxOffset, sclSlope, sclInter;
  std::vector<double> transform;  // quaternion + offsets, srow_x/y/z
  if (version == 1) {
    for (int i = 0; i < 8; ++i) dim[i] = load<int16_t>(h, 40 + 2 * i, swap);
    datatype = load<int16_t>(h, 70, swap);
    bitpix = load<int16_t>(h, 72, swap);
    for (int i = 0; i < 8; ++i) pixdim[i] = load<float>(h, 76 + 4 * i, swap);
    voxOffset = load<float>(h, 108, swap);
    sclSlope = load<float>(h, 112, swap);
    sclInter = load<float>(h, 116, swap);
    qformCode = load<int16_t>(h, 252, swap);
    sformCode = load<int16_t>(h, 254, swap);
    for (int i = 0; i < 18; ++i) transform.push_back(load<float>(h, 256 + 4 * i, swap));
  } else {
    datatype = load<int16_t>(h, 12, swap);
    bitpix = load<int16_t>(h, 14, swap);
    for (int i = 0; i < 8; ++i) dim[i] = load<int64_t>(h, 16 + 8 * i, swap);
    for (int i = 0; i < 8; ++i) pixdim[i] = load<double>(h, 104 + 8 * i, swap);
    voxOffset = static_cast<double>(load<int64_t>(h, 168, swap));
    sclSlope = load<double>(h, 176, swap);
    sclInter = load<double>(h, 184, swap);
    qformCode = load<int32_t>(h, 344, swap);
    sformCode = load<int32_t>(h, 348, swap);
    for (int i = 0; i < 6; ++i) transform.push_back(load<double>(h, 352 + 8 * i, swap));
    for (int i = 0; i < 12; ++i) transform.push_back(load<double>(h, 400 + 8 * i, swap));
  }

  if (dim[0] < 1 || dim[0] > 7)
    throw Error(path + ": NIfTI header dim[0] is " + std::to_string(dim[0]) +
                " (the number of dimensions must be 1..7)");
  long double voxels = 1;
  for (int i = 1; i <= dim[0]; ++i) {
    if (dim[i] < 1)
      throw Error(path + ": NIfTI header dimension " + std::to_string(i) + " has size " + std::to_string(dim[i]) +
                  " (must be at least 1)");
    voxels *= static_cast<long double>(dim[i]);
  }
  if (voxels > 1.0e12L)
    throw Error(path + ": NIfTI header describes " + number(static_cast<double>(voxels)) +
                " voxels; refusing an absurd size");
  const int bits = scalarBits(datatype);
  if (bits == 0)
    throw Error(path + ": NIfTI datatype " + datatypeName(datatype) + " is not supported; a scalar image is expected");
  if (bitpix != bits)
    throw Error(path + ": NIfTI header bitpix is " + std::to_string(bitpix) + " but datatype " +
                std::to_string(datatype) + " has " + std::to_string(bits) + " bits");
  const int spatial = static_cast<int>(std::min<int64_t>(dim[0], 3));
  for (int i = 1; i <= spatial; ++i) {
    if (!std::isfinite(pixdim[i]))
      throw Error(path + ": NIfTI voxel spacing pixdim[" + std::to_string(i) + "] is " + number(pixdim[i]));
    // Without an sform the spacing comes from pixdim; ITK would invent 1 mm for 0.
    if (sformCode <= 0 && !(pixdim[i] > 0))
      throw Error(path + ": NIfTI voxel spacing pixdim[" + std::to_string(i) + "] is " + number(pixdim[i]) +
                  " (must be positive)");
  }
  if (qformCode > 0)
    for (int i = 0; i < 6; ++i)
      if (!std::isfinite(transform[i])) throw Error(path + ": NIfTI qform holds NaN or infinite values");
  if (sformCode > 0)
    for (int i = 6; i < 18; ++i)
      if (!std::isfinite(transform[i])) throw Error(path + ": NIfTI sform holds NaN or infinite values");

  // Intensity scaling (NIfTI-1 standard): y = scl_slope * x + scl_inter when scl_slope is not
  // 0; scl_slope 0 means no scaling (scl_inter is then ignored). niftilib turns a non-finite
  // slope into 0 and the image would be read unscaled without a word: refused here instead.
  if (!std::isfinite(sclSlope))
    throw Error(path + ": NIfTI scl_slope is " + number(sclSlope) +
                " (the intensity scale must be a finite number; 0 means no scaling)");
  if (sclSlope != 0 && !std::isfinite(sclInter))
    throw Error(path + ": NIfTI scl_inter is " + number(sclInter) + " (the intensity offset must be a finite number)");
  // ITK 5.2 reads scl_slope 0 as 1 but still adds scl_inter, against the standard: such a
  // file would be read shifted (a label map's ids too), so it is refused rather than misread.
  if (sclSlope == 0 && std::isfinite(sclInter) && sclInter != 0)
    throw Error(path + ": NIfTI scl_slope is 0 (no scaling) but scl_inter is " + number(sclInter) +
                "; the NIfTI standard ignores it, ITK would add it: set scl_inter to 0 (or scl_slope to 1)");

  const double headerBytes = version == 1 ? 352.0 : 544.0;
  if (!std::isfinite(voxOffset) || voxOffset < 0) throw Error(path + ": NIfTI vox_offset is " + number(voxOffset));
  const long double needed = std::max<long double>(voxOffset, headerBytes) + voxels * (bits / 8);
  if (voxOffset > static_cast<double>(length))
    throw Error(path + ": truncated or damaged: NIfTI vox_offset " + number(voxOffset) +
                " lies past the end of the file (" + std::to_string(length) + " bytes" +
                (hasSuffixIgnoringCase(path, ".gz") ? " uncompressed" : "") + ")");
  if (static_cast<long double>(length) < needed)
    throw Error(path + ": truncated: the file holds " + std::to_string(length) + " bytes" +
                (hasSuffixIgnoringCase(path, ".gz") ? " uncompressed" : "") + " but its header describes " +
                number(static_cast<double>(needed)));
  if (datatype == 16 || datatype == 64)
    checkNiftiFloatsFinite(path, static_cast<uint64_t>(std::max(voxOffset, headerBytes)), bits, swap);
}

// ITK's NIfTI reader turns NaN and infinite voxels into finite numbers (so they cannot be
// refused after reading, as in the other formats): float data is checked on the file.
void checkNiftiFloatsFinite(const std::string& path, uint64_t offset, int bits, bool swap) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  if (gzseek(f, static_cast<z_off_t>(offset), SEEK_SET) < 0) {
    gzclose(f);
    throw Error(path + ": truncated: cannot reach the voxel data");
  }
  const size_t size = static_cast<size_t>(bits / 8);
  std::vector<unsigned char> buf(size * (1 << 18));
  uint64_t index = 0;
  int n = 0;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    const size_t count = static_cast<size_t>(n) / size;
    for (size_t i = 0; i < count; ++i, ++index) {
      unsigned char tmp[8];
      std::memcpy(tmp, buf.data() + i * size, size);
      if (swap) std::reverse(tmp, tmp + size);
      double v;
      if (size == 4) {
        float x;
        std::memcpy(&x, tmp, 4);
        v = x;
      } else {
        std::memcpy(&v, tmp, 8);
      }
      if (!std::isfinite(v)) {
        gzclose(f);
        throw Error(path + ": the image contains NaN or infinite values (first at voxel index " +
                    std::to_string(index) + ")");
      }
    }
  }
  gzclose(f);
}

// MetaImage: header lines "Key = Value" up to ElementDataFile; the voxels follow in the same
// file (LOCAL) or in the named file.
void checkMetaImage(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string line, dataFile, elementType;
  std::vector<int64_t> dims;
  int channels = 1;
  bool compressed = false;
  int64_t headerSize = 0;
  int lines = 0;
  while (std::getline(in, line)) {
    if (++lines > 200) throw Error(path + ": MetaImage header has no ElementDataFile line");
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    std::istringstream vs(value);
    if (key == "DimSize") {
      int64_t d;
      while (vs >> d) dims.push_back(d);
    } else if (key == "ElementType") {
      elementType = value;
    } else if (key == "ElementNumberOfChannels") {
      vs >> channels;
    } else if (key == "CompressedData") {
      compressed = value == "True" || value == "true";
    } else if (key == "HeaderSize") {
      vs >> headerSize;
    } else if (key == "ElementDataFile") {
      dataFile = value;
      break;
    }
  }
  if (dataFile.empty()) throw Error(path + ": MetaImage header has no ElementDataFile line");
  if (dims.empty()) throw Error(path + ": MetaImage header has no DimSize");
  long double voxels = 1;
  for (int64_t d : dims) {
    if (d < 1) throw Error(path + ": MetaImage DimSize has a size " + std::to_string(d) + " (must be at least 1)");
    voxels *= static_cast<long double>(d);
  }
  static const std::pair<const char*, int> sizes[] = {{"MET_UCHAR", 1},     {"MET_CHAR", 1},  {"MET_USHORT", 2},
                                                      {"MET_SHORT", 2},     {"MET_UINT", 4},  {"MET_INT", 4},
                                                      {"MET_ULONG", 8},     {"MET_LONG", 8},  {"MET_ULONG_LONG", 8},
                                                      {"MET_LONG_LONG", 8}, {"MET_FLOAT", 4}, {"MET_DOUBLE", 8}};
  int bytes = 0;
  for (const auto& [name, size] : sizes)
    if (elementType == name) bytes = size;
  if (bytes == 0) throw Error(path + ": MetaImage ElementType '" + elementType + "' is not supported");
  if (voxels > 1.0e12L) throw Error(path + ": MetaImage DimSize describes an absurd size");
  if (compressed) return;  // zlib reports a short stream itself
  const long double needed = voxels * bytes * std::max(channels, 1);
  long double available = 0;
  std::string holder = path;
  if (dataFile == "LOCAL") {
    const std::streamoff at = in.tellg();
    in.seekg(0, std::ios::end);
    available = static_cast<long double>(in.tellg() - at);
  } else if (dataFile.rfind("LIST", 0) == 0 || dataFile.find('%') != std::string::npos) {
    return;  // slice lists and patterns: ITK checks each file
  } else {
    const fs::path raw = fs::path(dataFile).is_absolute() ? fs::path(dataFile)
                                                          : fs::path(path).parent_path() / dataFile;
    holder = raw.string();
    struct stat st {};
    if (::stat(raw.c_str(), &st) != 0) throw Error(path + ": its data file " + raw.string() + " is missing");
    if (!S_ISREG(st.st_mode)) throw Error(raw.string() + ": the MetaImage data file is not a regular file");
    available = static_cast<long double>(st.st_size) - std::max<int64_t>(headerSize, 0);
  }
  if (available < needed)
    throw Error(holder + ": truncated: holds " + number(static_cast<double>(available)) +
                " bytes of voxel data but the header of " + path + " describes " + number(static_cast<double>(needed)));
}

}  // namespace

void checkImageFile(const std::string& path) {
  if (hasSuffixIgnoringCase(path, ".nii") || hasSuffixIgnoringCase(path, ".nii.gz")) {
    checkNifti(path);
  } else if (hasSuffixIgnoringCase(path, ".mha") || hasSuffixIgnoringCase(path, ".mhd")) {
    checkMetaImage(path);
  } else if (hasSuffixIgnoringCase(path, ".gz")) {
    std::vector<unsigned char> none;
    readHeadAndLength(path, none);
  }
}

}  // namespace mqb
