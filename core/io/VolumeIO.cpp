#include "io/VolumeIO.h"

#include <itkGDCMImageIO.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkImageSeriesReader.h>

#include <gdcmDirectory.h>
#include <gdcmScanner.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <unistd.h>

#include "support/AtomicFile.h"
#include "support/Error.h"
#include "support/Feedback.h"
#include "support/FileChecks.h"
#include "io/ImageFileChecks.h"
#include "support/LibraryMessages.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

template <typename TPixel>
using Image3 = itk::Image<TPixel, 3>;

// ITK's description, one line, with the library's own printed reason when it says more.
std::string shortReason(const itk::ExceptionObject& e, LibraryMessageCapture* capture = nullptr) {
  std::istringstream lines(e.GetDescription());
  std::string line, reason;
  while (std::getline(lines, line)) {
    const std::string clean = cleanLibraryLine(line);
    if (clean.empty()) continue;
    reason += reason.empty() ? clean : " " + clean;
    // "Error reading X:" announces the reason on the next line (NRRD's biff messages).
    if (reason.back() != ':') break;
  }
  if (reason.size() > 300) reason = reason.substr(0, 300) + "...";
  const std::string printed = capture ? capture->summary() : std::string();
  if (!printed.empty() && reason.find(printed) == std::string::npos)
    reason = reason.empty() ? printed : reason + " (" + printed + ")";
  return reason.empty() ? "unknown reason" : reason;
}

// Reads only the header, so that dimensionality and size are checked before any voxel
// is allocated (a 4D or absurdly large file is refused up front).
itk::ImageIOBase::Pointer probeHeader(const std::string& path, const char* what, double bytesPerVoxel) {
  checkInputPath(path, false, what);
  checkImageFile(path);
  LibraryMessageCapture capture;
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io) throw Error(path + ": not a readable image (unknown or corrupt format)");
  io->SetFileName(path);
  try {
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw Error(path + ": cannot read the image header: " + shortReason(e, &capture));
  }
  const unsigned dims = io->GetNumberOfDimensions();
  ImageGeometry g;
  for (unsigned d = 3; d < dims; ++d) {
    if (io->GetDimensions(d) != 1)
      throw Error(path + ": " + std::to_string(dims) + "D image (extra dimension " + std::to_string(d + 1) + " has " +
                  std::to_string(io->GetDimensions(d)) + " samples); a 3D " + what + " is expected");
  }
  if (dims < 3 || io->GetDimensions(2) < 1)
    throw Error(path + ": " + std::to_string(dims) + "D image; a 3D " + what + " is expected");
  if (io->GetNumberOfComponents() != 1)
    throw Error(path + ": " + std::to_string(io->GetNumberOfComponents()) + " components per voxel; a scalar " +
                what + " is expected");
  for (unsigned d = 0; d < 3; ++d) {
    g.size[d] = static_cast<int64_t>(io->GetDimensions(d));
    g.spacing[d] = io->GetSpacing(d);
  }
  if (g.size[2] < 2) throw Error(path + ": a single-slice (2D) image; a 3D " + what + " is expected");
  for (unsigned d = 0; d < 3; ++d) {
    g.origin[d] = io->GetOrigin(d);
    for (unsigned k = 0; k < 3; ++k) g.direction[d * 3 + k] = io->GetDirection(k)[d];
  }
  for (double v : g.origin)
    if (!std::isfinite(v)) throw Error(path + ": the image origin holds NaN or infinite values");
  for (double v : g.direction)
    if (!std::isfinite(v)) throw Error(path + ": the image orientation holds NaN or infinite values");
  checkAllocatable(g, bytesPerVoxel, path);
  return io;
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

struct DicomSlice {
  std::string file;
  std::array<double, 6> orientation{};
  std::array<double, 3> position{};
  std::string rows, columns;
  double pixelBytes = 0, fileBytes = 0;  // uncompressed slices only
};

std::vector<double> dicomNumbers(const char* value) {
  std::vector<double> out;
  if (!value) return out;
  std::string text(value);
  std::replace(text.begin(), text.end(), '\\', ' ');
  std::istringstream in(text);
  double v;
  while (in >> v) out.push_back(v);
  return out;
}

std::string trimmed(const char* value) {
  std::string s = value ? value : "";
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// The files of one series, sorted along the slice normal, after checking that they form one
// regular volume: one orientation, one in-plane size, no duplicate or missing positions.
std::vector<std::string> dicomSeriesFiles(const std::string& dir, const std::string& seriesUid) {
  checkFolderEntries(dir);
  const gdcm::Tag seriesTag(0x0020, 0x000e), orientationTag(0x0020, 0x0037), positionTag(0x0020, 0x0032),
      rowsTag(0x0028, 0x0010), columnsTag(0x0028, 0x0011), descriptionTag(0x0008, 0x103e), syntaxTag(0x0002, 0x0010),
      bitsTag(0x0028, 0x0100), samplesTag(0x0028, 0x0002), framesTag(0x0028, 0x0008);
  gdcm::Directory directory;
  directory.Load(dir, false);
  gdcm::Scanner scanner;
  for (const auto& t : {seriesTag, orientationTag, positionTag, rowsTag, columnsTag, descriptionTag, syntaxTag,
                        bitsTag, samplesTag, framesTag})
    scanner.AddTag(t);
  {
    LibraryMessageCapture capture;
    if (!scanner.Scan(directory.GetFilenames())) throw Error(dir + ": cannot scan the DICOM folder");
  }
  std::map<std::string, std::vector<std::string>> bySeries;
  std::map<std::string, std::string> descriptions;
  for (const auto& f : directory.GetFilenames()) {
    if (!scanner.IsKey(f.c_str())) continue;
    const std::string uid = trimmed(scanner.GetValue(f.c_str(), seriesTag));
    bySeries[uid].push_back(f);
    descriptions[uid] = trimmed(scanner.GetValue(f.c_str(), descriptionTag));
  }
  if (bySeries.empty()) throw Error(dir + ": folder holds no DICOM series (no readable DICOM files)");
  std::vector<std::string> files;
  if (!seriesUid.empty()) {
    auto it = bySeries.find(seriesUid);
    if (it == bySeries.end()) {
      std::string list;
      for (const auto& [uid, f] : bySeries) list += (list.empty() ? "" : ", ") + uid;
      throw Error(dir + ": no DICOM series " + seriesUid + " in the folder (series: " + list + ")");
    }
    files = it->second;
  } else if (bySeries.size() > 1) {
    std::string list;
    for (const auto& [uid, f] : bySeries)
      list += (list.empty() ? "" : "; ") + (uid.empty() ? std::string("(no UID)") : uid) + " (" +
              std::to_string(f.size()) + " files" + (descriptions[uid].empty() ? "" : ", " + descriptions[uid]) + ")";
    throw Error(dir + ": the folder holds " + std::to_string(bySeries.size()) +
                " DICOM series; choose one with --series UID: " + list);
  } else {
    files = bySeries.begin()->second;
  }

  std::vector<DicomSlice> slices;
  for (const auto& f : files) {
    DicomSlice s;
    s.file = f;
    const auto o = dicomNumbers(scanner.GetValue(f.c_str(), orientationTag));
    const auto p = dicomNumbers(scanner.GetValue(f.c_str(), positionTag));
    if (o.size() != 6 || p.size() != 3)
      throw Error(f + ": DICOM slice without a valid Image Orientation/Position (Patient)");
    for (double v : o)
      if (!std::isfinite(v)) throw Error(f + ": DICOM Image Orientation (Patient) is not finite");
    for (double v : p)
      if (!std::isfinite(v)) throw Error(f + ": DICOM Image Position (Patient) is not finite");
    std::copy(o.begin(), o.end(), s.orientation.begin());
    std::copy(p.begin(), p.end(), s.position.begin());
    s.rows = trimmed(scanner.GetValue(f.c_str(), rowsTag));
    s.columns = trimmed(scanner.GetValue(f.c_str(), columnsTag));
    // GDCM reads an uncompressed slice whose pixel data ends early without complaint; its
    // file must hold rows x columns x samples x bits of pixel data, and (headers of one series
    // being alike) not be shorter than the series' typical file by half of that.
    const std::string syntax = trimmed(scanner.GetValue(f.c_str(), syntaxTag));
    if (syntax == "1.2.840.10008.1.2" || syntax == "1.2.840.10008.1.2.1" || syntax == "1.2.840.10008.1.2.2") {
      const auto number = [&](const gdcm::Tag& t, double fallback) {
        const auto v = dicomNumbers(scanner.GetValue(f.c_str(), t));
        return v.empty() ? fallback : v[0];
      };
      s.pixelBytes = number(rowsTag, 0) * number(columnsTag, 0) * number(samplesTag, 1) * number(framesTag, 1) *
                     number(bitsTag, 16) / 8.0;
      std::error_code ec;
      s.fileBytes = static_cast<double>(fs::file_size(f, ec));
    }
    slices.push_back(s);
  }
  if (slices.size() < 2) throw Error(dir + ": the DICOM series has a single slice; a 3D volume is expected");
  {
    std::vector<double> sizes;
    for (const auto& s : slices)
      if (s.pixelBytes > 0) sizes.push_back(s.fileBytes);
    if (!sizes.empty()) {
      std::nth_element(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(sizes.size() / 2), sizes.end());
      const double typical = sizes[sizes.size() / 2];
      for (const auto& s : slices)
        if (s.pixelBytes > 0 && (s.fileBytes < s.pixelBytes || s.fileBytes < typical - s.pixelBytes / 2))
          throw Error(s.file + ": truncated DICOM slice (" + std::to_string(static_cast<long long>(s.fileBytes)) +
                      " bytes where the series' slices have " + std::to_string(static_cast<long long>(typical)) + ")");
    }
  }
  const DicomSlice& first = slices.front();
  for (const auto& s : slices) {
    for (int i = 0; i < 6; ++i)
      if (std::abs(s.orientation[i] - first.orientation[i]) > 1e-4)
        throw Error(s.file + ": slice orientation differs from " + first.file +
                    " (a folder mixing orientations is not one volume)");
    if (s.rows != first.rows || s.columns != first.columns)
      throw Error(s.file + ": slice size " + s.columns + "x" + s.rows + " differs from " + first.file + " (" +
                  first.columns + "x" + first.rows + ")");
  }
  const auto& o = first.orientation;
  const std::array<double, 3> normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                        o[0] * o[4] - o[1] * o[3]};
  auto along = [&](const DicomSlice& s) {
    return s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  };
  std::sort(slices.begin(), slices.end(),
            [&](const DicomSlice& a, const DicomSlice& b) { return along(a) < along(b); });
  std::vector<double> gaps;
  for (size_t i = 1; i < slices.size(); ++i) {
    const double gap = along(slices[i]) - along(slices[i - 1]);
    if (gap < 1e-3)
      throw Error(slices[i].file + ": same slice position as " + slices[i - 1].file + " (duplicate slice)");
    gaps.push_back(gap);
  }
  std::vector<double> sorted = gaps;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
  const double typical = sorted[sorted.size() / 2];
  for (size_t i = 0; i < gaps.size(); ++i)
    if (std::abs(gaps[i] - typical) > 0.05 * typical + 0.01) {
      std::ostringstream m;
      m << slices[i + 1].file << ": slice gap of " << gaps[i] << " mm after " << slices[i].file
        << " where the series has " << typical << " mm (missing or extra slices)";
      throw Error(m.str());
    }
  std::vector<std::string> out;
  for (const auto& s : slices) out.push_back(s.file);
  return out;
}

ImageVolume readDicomSeries(const std::string& dir, Feedback* feedback, const std::string& seriesUid) {
  const std::vector<std::string> files = dicomSeriesFiles(dir, seriesUid);
  if (feedback) {
    feedback->throwIfCanceled();
    feedback->report(0.05, "reading DICOM series (" + std::to_string(files.size()) + " files)");
  }
  LibraryMessageCapture capture;
  // Header of the first slice tells the in-plane size, to refuse absurd sizes before reading.
  ImageGeometry probe;
  {
    itk::ImageIOBase::Pointer sliceIo =
        itk::ImageIOFactory::CreateImageIO(files.front().c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    if (!sliceIo) throw Error(files.front() + ": not a readable DICOM file");
    sliceIo->SetFileName(files.front());
    try {
      sliceIo->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
      throw Error(files.front() + ": cannot read the DICOM header: " + shortReason(e, &capture));
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
  // A series of hundreds of (JPEG 2000) slices takes many seconds: the reader reports each
  // slice, and is told to abort at the next one once the job was cancelled.
  if (feedback) {
    reader->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject&) {
      if (feedback->isCanceled())
        reader->AbortGenerateDataOn();
      else
        feedback->report(0.05 + 0.9 * reader->GetProgress(), "reading DICOM series");
    });
  }
  try {
    reader->Update();
  } catch (const itk::ProcessAborted&) {
    throw Canceled();
  } catch (const itk::ExceptionObject& e) {
    if (feedback && feedback->isCanceled()) throw Canceled();
    throw Error(dir + ": cannot read the DICOM series: " + shortReason(e, &capture));
  }
  if (feedback) feedback->throwIfCanceled();
  auto image = reader->GetOutput();
  ImageVolume v;
  v.geometry = geometryOf(image);
  const float* buf = image->GetBufferPointer();
  v.voxels.assign(buf, buf + v.geometry.voxelCount());
  return v;
}

template <typename TPixel>
typename Image3<TPixel>::Pointer readFile(const std::string& path) {
  LibraryMessageCapture capture;
  auto reader = itk::ImageFileReader<Image3<TPixel>>::New();
  reader->SetFileName(path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error(path + ": cannot read the image (truncated or corrupt?): " + shortReason(e, &capture));
  }
  // MetaIO reports a short read only by printing it.
  const std::string printed = capture.text();
  if (printed.find("not read completely") != std::string::npos || printed.find("data not read") != std::string::npos)
    throw Error(path + ": truncated: " + capture.summary());
  return reader->GetOutput();
}

template <typename TImage>
void writeItkImage(TImage* image, const std::string& path, const std::string& reportedPath) {
  LibraryMessageCapture capture;
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetFileName(path);
  writer->SetInput(image);
  writer->SetUseCompression(true);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    std::error_code ec;
    fs::remove(path, ec);
    const int err = errno;
    std::string reason = shortReason(e, &capture);
    if (err != 0 && reason.find(std::strerror(err)) == std::string::npos) reason = std::strerror(err);
    throw Error(reportedPath + ": cannot write: " + reason);
  }
}

template <typename TImage>
void writeAtomically(TImage* image, const std::string& path) {
  checkImageOutputFormat(path);
  OutputTransaction output;
  writeItkImage(image, output.stage(path), path);
  output.commit();
}

ImageVolume toImageVolume(const Image3<float>* image) {
  ImageVolume v;
  v.geometry = geometryOf(image);
  const float* buf = image->GetBufferPointer();
  v.voxels.assign(buf, buf + v.geometry.voxelCount());
  return v;
}

}  // namespace

void checkImageOutputFormat(const std::string& path) {
  LibraryMessageCapture capture;
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::WriteMode);
  if (!io) throw Error(path + ": unknown image format for writing (use .nii.gz, .nii, .nrrd, .mha or .mhd)");
}

ImageVolume readImage(const std::string& path, Feedback* feedback, const std::string& dicomSeriesUid) {
  checkInputPath(path, true, "volume");
  std::error_code ec;
  if (fs::is_directory(path, ec)) return readDicomSeries(path, feedback, dicomSeriesUid);
  if (!dicomSeriesUid.empty()) throw Error(path + ": --series applies to DICOM folders only");
  // float voxels plus ITK's own read buffer of the same size
  probeHeader(path, "image", 8.0);
  if (feedback) feedback->throwIfCanceled();
  auto image = readFile<float>(path);
  ImageVolume v = toImageVolume(image.GetPointer());
  for (size_t i = 0; i < v.voxels.size(); ++i)
    if (!std::isfinite(v.voxels[i]))
      throw Error(path + ": the image contains NaN or infinite values (first at voxel index " + std::to_string(i) + ")");
  return v;
}

LabelVolume readLabelMap(const std::string& path, const LabelRemap& remap) {
  checkInputPath(path, false, "label map");
  itk::ImageIOBase::Pointer io = probeHeader(path, "label map", 17.0);
  const auto type = io->GetComponentType();
  const bool floating = type == itk::IOComponentEnum::FLOAT || type == itk::IOComponentEnum::DOUBLE;
  LabelVolume v;
  std::vector<double> values;
  if (floating) {
    // Read as double so fractions and NaN are seen, not truncated into valid-looking ids.
    auto image = readFile<double>(path);
    v.geometry = geometryOf(image.GetPointer());
    const double* buf = image->GetBufferPointer();
    values.assign(buf, buf + v.geometry.voxelCount());
  } else {
    auto image = readFile<int64_t>(path);
    v.geometry = geometryOf(image.GetPointer());
    const int64_t* buf = image->GetBufferPointer();
    values.assign(buf, buf + v.geometry.voxelCount());
  }
  const int64_t n = v.geometry.voxelCount();
  v.voxels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double raw = values[static_cast<size_t>(i)];
    if (!std::isfinite(raw))
      throw Error(path + ": label map holds NaN or infinite values (first at voxel index " + std::to_string(i) + ")");
    if (raw != std::floor(raw)) {
      std::ostringstream m;
      m << path << ": label map holds the non-integer value " << raw << " (voxel index " << i
        << "); label ids must be whole numbers";
      throw Error(m.str());
    }
    if (raw < 0 || raw > 65535)
      throw Error(path + ": label value " + std::to_string(static_cast<int64_t>(raw)) + " is out of range (0..65535)");
    if (remap.name() == "identity" && raw > 255)
      throw Error(path + ": label value " + std::to_string(static_cast<int64_t>(raw)) +
                  " exceeds 255; choose a label remapping table (--label-map)");
    v.voxels[static_cast<size_t>(i)] = remap(static_cast<int64_t>(raw));
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

void writeLabelMap(const LabelVolume& labels, const std::string& path, OutputTransaction& output) {
  auto image = makeItkImage<Image3<uint8_t>>(labels.geometry);
  std::copy(labels.voxels.begin(), labels.voxels.end(), image->GetBufferPointer());
  writeItkImage(image.GetPointer(), output.stage(path), path);
}

void writeImage(const ImageVolume& volume, const std::string& path, OutputTransaction& output) {
  auto image = makeItkImage<Image3<float>>(volume.geometry);
  std::copy(volume.voxels.begin(), volume.voxels.end(), image->GetBufferPointer());
  writeItkImage(image.GetPointer(), output.stage(path), path);
}

}  // namespace mqb
