#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "demo/DemoData.h"
#include "TestSupport.h"
#include "io/VolumeIO.h"

using namespace mqb;
namespace fs = std::filesystem;

namespace {
// Points the sample-data lookup somewhere for one test.
struct ScopedDataDir {
  std::string old;
  bool had;
  explicit ScopedDataDir(const std::string& dir) {
    const char* o = std::getenv("MQB_DATA_DIR");
    had = o != nullptr;
    if (had) old = o;
    setenv("MQB_DATA_DIR", dir.c_str(), 1);
  }
  ~ScopedDataDir() {
    if (had)
      setenv("MQB_DATA_DIR", old.c_str(), 1);
    else
      unsetenv("MQB_DATA_DIR");
  }
};
}  // namespace

TEST(DemoData, UserPathComesFirst) {
  DemoVolume v = resolveDemoVolume("/some/ct.nii.gz", test::tempDir());
  EXPECT_EQ(v.origin, "user");
  EXPECT_EQ(v.ct, "/some/ct.nii.gz");
}

TEST(DemoData, SampleDataFolderBeforeDownloadAndPhantom) {
  MQB_REQUIRE_DATA(ct, "abdomen-ct/example_ct.nii.gz");
  ScopedDataDir scoped(test::dataDir());
  DemoVolume v = resolveDemoVolume("", test::tempDir());
  EXPECT_EQ(v.origin, "sample data");
  EXPECT_EQ(fs::path(v.ct).filename(), "example_ct.nii.gz");
  EXPECT_EQ(v.labelMap, "totalsegmentator-to-btcv");
}

TEST(DemoData, WithoutDataOrNetworkFallsBackToAPhantomWithLabels) {
  ScopedDataDir scoped(test::tempDir() + "/no-such-folder");
  const std::string cache = test::tempDir();
  DemoVolume v = resolveDemoVolume("", cache);
  // On a machine with network the public example CT may be downloaded instead.
  ASSERT_TRUE(v.origin == "phantom" || v.origin == "download") << v.origin;
  ImageVolume ct = readImage(v.ct);
  LabelVolume labels = readLabelMap(v.labels);
  EXPECT_TRUE(labels.geometry.sameGrid(ct.geometry));
  if (v.origin == "phantom") {
    // Generated once, reused afterwards.
    const auto stamp = fs::last_write_time(v.ct);
    EXPECT_EQ(resolveDemoVolume("", cache).ct, v.ct);
    EXPECT_EQ(fs::last_write_time(v.ct), stamp);
  }
}
