#include "VolumeIO.h"

#include <itkGDCMImageIO.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkImageSeriesReader.h>

#include <zlib.h>

#include <filesystem>
#include <unistd.h>

#include "Error.h"
#include "Feedback.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

template <typename TPixel>
using Image3 = itk::Image<TPixel, 3>;

std::string shortReason(const itk::ExceptionObject& e) {
  std::string d = e.GetDescription();
  while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
  return d;
}

// ITK's NIfTI reader accepts a .gz stream that ends early and fills the rest of the volume
// with whatever is in memory; decompressing once to the end (zlib checks the length and
// CRC trailer) turns a truncated download into a clear error instead of a silent wrong volume.
void verifyCompressedStream(const std::string& path) {
  if (path.size() < 3 || path.compare(path.size() - 3, 3, ".gz") != 0) return;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open");
  std::vector<char> buf(1 << 20);
  int n = 0;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
  }
  int code = Z_OK;
  const char* msg = gzerror(f, &code);
  const std::string reason = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END))
    throw Error(path + ": the compressed file is truncated or corrupt (" + reason + ")");
}

// Reads only the header, so that dimensionality and size are checked before any voxel
// is allocated (a 4D or absurdly large file is refused up front).
ImageGeometry probeHeader(const std::string& path, const char* what, double bytesPerVoxel) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": file not found");
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io) throw Error(path + ": not a readable image (unknown or corrupt format)");
  io->SetFileName(path);
  try {
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw Error(path + ": cannot read the image header: " + shortReason(e));
  }
  const unsigned dims = io->GetNumberOfDimensions();
  ImageGeometry g;
  for (unsigned d = 3; d < dims; ++d) {
    if (io->GetDimensions(d) != 1)
      throw Error(path + ": " + std::to_string(dims) + "D image (extra dimension " +
                  std::to_string(d + 1) + " has " + std::to_string(io->GetDimensions(d)) +
                  " samples); a 3D " + what + " is expected");
  }
  if (dims < 3 || io->GetDimensions(2) < 1)
    throw Error(path + ": " + std::to_string(dims) + "D image; a 3D " + what + " is expected");
  if (io->GetNumberOfComponents() != 1)
    throw Error(path + ": " + std::to_string(io->GetNumberOfComponents()) +
                " components per voxel; a scalar " + what + " is expected");
  for (unsigned d = 0; d < 3; ++d) {
    g.size[d] = static_cast<int64_t>(io->GetDimensions(d));
    g.spacing[d] = io->GetSpacing(d);
  }
  if (g.size[2] < 2)
    throw Error(path + ": a single-slice (2D) image; a 3D " + what + " is expected");
  checkAllocatable(g, bytesPerVoxel, path);
  return g;
}

template <typename TImage>
ImageGeometry geometryOf(const TImage* image) {
  ImageGeometry g;
  const auto region = image->GetLargestPossibleRegion();
  for (int i = 0; i < 3; ++i) {
    g.size[i] = static_cast<int64_t>(region.GetSize()[i]);
    g.spacing[i] = image->GetSpacing()[i];
    g.origin[i] = image->GetOrigin()[i];
    for (int j = 0; j < 3; ++j) g.direction[i * 3 + j] = image->GetDirection()[i][j];
  }
  return g;
}

template <typename TImage>
typename TImage::Pointer makeItkImage(const ImageGeometry& g) {
  auto image = TImage::New();
  typename TImage::RegionType region;
  typename TImage::SpacingType spacing;
  typename TImage::PointType origin;
  typename TImage::DirectionType direction;
  for (int i = 0; i < 3; ++i) {
    region.SetSize(i, static_cast<itk::SizeValueType>(g.size[i]));
    spacing[i] = g.spacing[i];
    origin[i] = g.origin[i];
    for (int j = 0; j < 3; ++j) direction[i][j] = g.direction[i * 3 + j];
  }
  image->SetRegions(region);
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  return image;
}

ImageVolume readDicomSeries(const std::string& dir, Feedback* feedback) {
  auto names = itk::GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(true);
  names->SetDirectory(dir);
  std::vector<std::string> files;
  try {
    // Pick the series with the most slices: a folder may also hold scouts or dose reports.
    for (const auto& uid : names->GetSeriesUIDs()) {
      auto f = names->GetFileNames(uid);
      if (f.size() > files.size()) files = f;
    }
  } catch (const itk::ExceptionObject& e) {
    throw Error(dir + ": cannot scan the DICOM folder: " + shortReason(e));
  }
  if (files.empty()) throw Error(dir + ": folder holds no DICOM series");
  if (files.size() < 2)
    throw Error(dir + ": the DICOM series has a single slice; a 3D volume is expected");
  if (feedback) feedback->report(0.05, "reading DICOM series (" + std::to_string(files.size()) + " files)");

  // Header of the first slice tells the in-plane size, to refuse absurd sizes before reading.
  ImageGeometry probe;
  {
    itk::ImageIOBase::Pointer sliceIo = itk::ImageIOFactory::CreateImageIO(
        files.front().c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    if (!sliceIo) throw Error(files.front() + ": not a readable DICOM file");
    sliceIo->SetFileName(files.front());
    try {
      sliceIo->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
      throw Error(files.front() + ": cannot read the DICOM header: " + shortReason(e));
    }
    probe.size[0] = static_cast<int64_t>(sliceIo->GetDimensions(0));
    probe.size[1] = static_cast<int64_t>(sliceIo->GetDimensions(1));
    probe.spacing = {sliceIo->GetSpacing(0), sliceIo->GetSpacing(1), 1.0};
  }
  probe.size[2] = static_cast<int64_t>(files.size());
  checkAllocatable(probe, 8.0, dir);

  using Reader = itk::ImageSeriesReader<Image3<float>>;
  auto reader = Reader::New();
  auto io = itk::GDCMImageIO::New();
  reader->SetImageIO(io);
  reader->SetFileNames(files);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error(dir + ": cannot read the DICOM series: " + shortReason(e));
  }
  auto image = reader->GetOutput();
  ImageVolume v;
  v.geometry = geometryOf(image);
  const float* buf = image->GetBufferPointer();
  v.voxels.assign(buf, buf + v.geometry.voxelCount());
  return v;
}

template <typename TPixel>
typename Image3<TPixel>::Pointer readFile(const std::string& path) {
  verifyCompressedStream(path);
  auto reader = itk::ImageFileReader<Image3<TPixel>>::New();
  reader->SetFileName(path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error(path + ": cannot read the image (truncated or corrupt?): " + shortReason(e));
  }
  return reader->GetOutput();
}

template <typename TImage>
void writeAtomically(TImage* image, const std::string& path) {
  const fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
  }
  // The temporary keeps the full extension (e.g. ".nii.gz") so ITK picks the same writer.
  const fs::path temp = target.parent_path() /
                        (".tmp-" + std::to_string(::getpid()) + "-" + target.filename().string());
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetFileName(temp.string());
  writer->SetInput(image);
  writer->SetUseCompression(true);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw Error(path + ": cannot write: " + shortReason(e));
  }
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error(path + ": cannot write: " + ec.message());
  }
}

}  // namespace

ImageVolume readImage(const std::string& path, Feedback* feedback) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return readDicomSeries(path, feedback);
  // float voxels plus ITK's own read buffer of the same size
  probeHeader(path, "image", 8.0);
  auto image = readFile<float>(path);
  ImageVolume v;
  v.geometry = geometryOf(image.GetPointer());
  const float* buf = image->GetBufferPointer();
  v.voxels.assign(buf, buf + v.geometry.voxelCount());
  for (float x : v.voxels)
    if (!std::isfinite(x)) throw Error(path + ": the image contains NaN or infinite values");
  return v;
}

LabelVolume readLabelMap(const std::string& path, const LabelRemap& remap) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": a label map file is expected, not a folder");
  probeHeader(path, "label map", 5.0);
  auto image = readFile<int32_t>(path);
  LabelVolume v;
  v.geometry = geometryOf(image.GetPointer());
  const int32_t* buf = image->GetBufferPointer();
  const int64_t n = v.geometry.voxelCount();
  v.voxels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t raw = buf[i];
    if (raw < 0 || raw > 65535)
      throw Error(path + ": label value " + std::to_string(raw) + " is out of range (0..65535)");
    if (remap.name() == "identity" && raw > 255)
      throw Error(path + ": label value " + std::to_string(raw) +
                  " exceeds 255; choose a label remapping table (--label-map)");
    v.voxels[static_cast<size_t>(i)] = remap(raw);
  }
  return v;
}

void writeLabelMap(const LabelVolume& labels, const std::string& path) {
  auto image = makeItkImage<Image3<uint8_t>>(labels.geometry);
  std::copy(labels.voxels.begin(), labels.voxels.end(), image->GetBufferPointer());
  writeAtomically(image.GetPointer(), path);
}

void writeImage(const ImageVolume& volume, const std::string& path) {
  auto image = makeItkImage<Image3<float>>(volume.geometry);
  std::copy(volume.voxels.begin(), volume.voxels.end(), image->GetBufferPointer());
  writeAtomically(image.GetPointer(), path);
}

}  // namespace mqb
