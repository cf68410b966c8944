// OutputTransaction: the outputs of one command appear together at commit() or not at all,
// with a writer's companion files (MetaImage .mhd + .zraw) kept consistent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/AtomicFile.h"
#include "support/Error.h"
#include "TestSupport.h"
#include "io/VolumeIO.h"

namespace fs = std::filesystem;
using namespace mqb;

namespace {
std::string readText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
ImageVolume tinyVolume() {
  ImageVolume v;
  v.geometry.size = {4, 3, 2};
  v.voxels.assign(24, 5.0f);
  return v;
}
}  // namespace

TEST(OutputTransaction, NothingAppearsBeforeCommitAndAllAfter) {
  const std::string dir = test::tempDir();
  std::ofstream(dir + "/report.json") << "old";
  {
    OutputTransaction out;
    out.writeText(dir + "/report.json", "new");
    writeImage(tinyVolume(), dir + "/image.mhd", out);
    writeImage(tinyVolume(), dir + "/image.nii.gz", out);
    EXPECT_EQ(readText(dir + "/report.json"), "old");
    EXPECT_FALSE(fs::exists(dir + "/image.nii.gz"));
    out.commit();
  }
  EXPECT_EQ(readText(dir + "/report.json"), "new");
  // The .mhd names its data file; both moved together and it reads back.
  EXPECT_EQ(readImage(dir + "/image.mhd").voxels, tinyVolume().voxels);
  EXPECT_EQ(readImage(dir + "/image.nii.gz").voxels, tinyVolume().voxels);
  EXPECT_EQ(entries(dir), 4u) << "report.json, image.mhd, its .zraw, image.nii.gz and nothing else";
}

TEST(OutputTransaction, DestroyedWithoutCommitLeavesNothing) {
  const std::string dir = test::tempDir();
  std::ofstream(dir + "/keep.json") << "previous";
  {
    OutputTransaction out;
    out.writeText(dir + "/keep.json", "half of a new run");
    out.writeText(dir + "/sub/new.json", "x");
    writeImage(tinyVolume(), dir + "/image.mhd", out);
  }
  EXPECT_EQ(readText(dir + "/keep.json"), "previous");
  EXPECT_FALSE(fs::exists(dir + "/image.mhd"));
  EXPECT_EQ(entries(dir), 2u) << "keep.json and the created folder sub/";
  EXPECT_EQ(entries(dir + "/sub"), 0u);
}

TEST(OutputTransaction, WriteErrorsNameTheTargetNotTheTemporary) {
  const std::string dir = test::tempDir();
  OutputTransaction out;
  try {
    out.write(dir + "/r.json",
              [](const std::string& temporary) { throw Error(temporary + ": cannot write: disk full"); });
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/r.json: cannot write: disk full");
  }
}
