#include "CorpusFiles.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <itkGDCMImageIO.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkMetaDataObject.h>

namespace mqb::corpus {

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

void gzipTo(const std::string& bytes, const std::string& path) {
  gzFile f = gzopen(path.c_str(), "wb6");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

void writeDicomSlice(const std::string& path, const DicomSliceSpec& s) {
  using Slice = itk::Image<int16_t, 2>;
  auto image = Slice::New();
  Slice::RegionType region;
  region.SetSize(0, static_cast<itk::SizeValueType>(s.columns));
  region.SetSize(1, static_cast<itk::SizeValueType>(s.rows));
  image->SetRegions(region);
  Slice::SpacingType spacing;
  spacing.Fill(3.0);
  image->SetSpacing(spacing);
  image->Allocate();
  image->FillBuffer(s.value);
  auto join = [](const auto& values) {
    std::ostringstream o;
    for (size_t i = 0; i < values.size(); ++i) o << (i ? "\\" : "") << values[i];
    return o.str();
  };
  itk::MetaDataDictionary& dict = image->GetMetaDataDictionary();
  auto set = [&](const char* tag, const std::string& value) {
    itk::EncapsulateMetaData<std::string>(dict, tag, value);
  };
  set("0008|0060", "CT");
  set("0008|0016", "1.2.840.10008.5.1.4.1.1.2");
  set("0008|0018", s.seriesUid + "." + std::to_string(s.instance));
  set("0020|000d", "1.2.826.0.1.3680043.2.1125.777");
  set("0020|000e", s.seriesUid);
  set("0020|0013", std::to_string(s.instance));
  set("0020|0032", join(s.position));
  set("0020|0037", join(s.orientation));
  set("0028|0030", "3\\3");
  set("0018|0050", "3");
  set("0028|1052", "-1024");
  set("0028|1053", "1");
  auto io = itk::GDCMImageIO::New();
  io->KeepOriginalUIDOn();
  auto writer = itk::ImageFileWriter<Slice>::New();
  writer->SetImageIO(io);
  writer->SetFileName(path);
  writer->SetInput(image);
  writer->Update();
}

void makeFifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0644) != 0) throw std::runtime_error("mkfifo " + path);
}

void makeSocket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind " + path);
  // The socket file stays after close; only its presence matters.
  ::close(fd);
}

}  // namespace mqb::corpus
