#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <tuple>
#include <zlib.h>

#include "support/Error.h"
#include "support/Feedback.h"
#include "TestSupport.h"
#include "io/Reorientation.h"
#include "io/VolumeIO.h"

namespace fs = std::filesystem;
using namespace mqb;

namespace {

ImageVolume smallVolume() {
  ImageVolume v;
  v.geometry.size = {5, 4, 3};
  v.geometry.spacing = {0.8, 1.25, 2.5};
  v.geometry.origin = {-10.0, 20.5, 3.25};
  v.geometry.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};  // RAS-stored, as many NIfTI files are
  v.voxels.resize(60);
  for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = float(i) * 3.5f - 100.0f;
  return v;
}

template <typename T>
void expectSameGeometry(const Volume<T>& a, const ImageGeometry& g) {
  EXPECT_EQ(a.geometry.size, g.size);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a.geometry.spacing[i], g.spacing[i], 1e-5);
    EXPECT_NEAR(a.geometry.origin[i], g.origin[i], 1e-4);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.geometry.direction[i], g.direction[i], 1e-5);
}

std::string expectError(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected mqb::Error";
  return {};
}

}  // namespace

class ImageRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(ImageRoundTrip, KeepsVoxelsAndGeometry) {
  const std::string path = test::tempDir() + "/image" + GetParam();
  const ImageVolume v = smallVolume();
  writeImage(v, path);
  ImageVolume r = readImage(path);
  expectSameGeometry(r, v.geometry);
  ASSERT_EQ(r.voxels.size(), v.voxels.size());
  for (size_t i = 0; i < v.voxels.size(); ++i) EXPECT_FLOAT_EQ(r.voxels[i], v.voxels[i]);
}
INSTANTIATE_TEST_SUITE_P(Formats, ImageRoundTrip, ::testing::Values(".nii.gz", ".nii", ".nrrd", ".mha", ".mhd"));

TEST(LabelMapIO, WritesAndReadsWithSourceGeometry) {
  const std::string path = test::tempDir() + "/labels.nii.gz";
  LabelVolume l;
  l.geometry = smallVolume().geometry;
  l.voxels.resize(60);
  for (size_t i = 0; i < 60; ++i) l.voxels[i] = static_cast<uint8_t>(i % 14);
  writeLabelMap(l, path);
  LabelVolume r = readLabelMap(path);
  expectSameGeometry(r, l.geometry);
  EXPECT_EQ(r.voxels, l.voxels);
  // No temporary file is left beside the output.
  int files = 0;
  for (auto& e : fs::directory_iterator(fs::path(path).parent_path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(LabelMapIO, RemapTableAppliedOnLoad) {
  const std::string path = test::tempDir() + "/ts.nii.gz";
  LabelVolume l;
  l.geometry.size = {4, 1, 2};
  l.voxels = {1, 5, 52, 63, 7, 9, 100, 0};  // spleen, liver, aorta, IVC, pancreas, L adrenal, other, bg
  writeLabelMap(l, path);
  LabelVolume r = readLabelMap(path, LabelRemap::load("totalsegmentator-to-btcv"));
  EXPECT_EQ(r.voxels, (std::vector<uint8_t>{1, 6, 8, 9, 11, 13, 0, 0}));
}

TEST(LabelMapIO, UnknownRemapNameListsAvailableTables) {
  const std::string msg = expectError([] { LabelRemap::load("no-such-table"); });
  EXPECT_NE(msg.find("no-such-table"), std::string::npos);
  EXPECT_NE(msg.find("totalsegmentator-to-btcv"), std::string::npos);
}

TEST(VolumeIOErrors, MissingFileNamesThePath) {
  const std::string msg = expectError([] { readImage("/nonexistent/ct.nii.gz"); });
  EXPECT_NE(msg.find("/nonexistent/ct.nii.gz"), std::string::npos);
}

TEST(VolumeIOErrors, TruncatedNiftiGz) {
  const std::string dir = test::tempDir();
  ImageVolume v = smallVolume();
  v.geometry.size = {40, 40, 40};
  v.voxels.assign(64000, 1.0f);
  for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = float(i % 977);
  writeImage(v, dir + "/full.nii.gz");
  std::ifstream in(dir + "/full.nii.gz", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 2000u);
  std::ofstream(dir + "/cut.nii.gz", std::ios::binary).write(bytes.data(), bytes.size() / 2);
  const std::string msg = expectError([&] { readImage(dir + "/cut.nii.gz"); });
  EXPECT_NE(msg.find("cut.nii.gz"), std::string::npos) << msg;
}

TEST(VolumeIOErrors, NotAnImage) {
  const std::string path = test::tempDir() + "/notes.nii.gz";
  std::ofstream(path) << "this is not a NIfTI file";
  const std::string msg = expectError([&] { readImage(path); });
  EXPECT_NE(msg.find("notes.nii.gz"), std::string::npos) << msg;
}

namespace {
// A NIfTI-1 header (348 bytes + 4 extension bytes) with the given dims, data appended.
void writeRawNifti(const std::string& path, std::vector<int16_t> dims, size_t dataBytes, float sclSlope = 0,
                   float sclInter = 0, float value = 0) {
  std::vector<char> h(352, 0);
  int32_t sizeofHdr = 348;
  std::memcpy(&h[0], &sizeofHdr, 4);
  int16_t dim[8] = {static_cast<int16_t>(dims.size()), 1, 1, 1, 1, 1, 1, 1};
  for (size_t i = 0; i < dims.size(); ++i) dim[i + 1] = dims[i];
  std::memcpy(&h[40], dim, 16);
  int16_t datatype = 16, bitpix = 32;  // float32
  std::memcpy(&h[70], &datatype, 2);
  std::memcpy(&h[72], &bitpix, 2);
  float pixdim[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  std::memcpy(&h[76], pixdim, 32);
  float voxOffset = 352;
  std::memcpy(&h[108], &voxOffset, 4);
  std::memcpy(&h[112], &sclSlope, 4);
  std::memcpy(&h[116], &sclInter, 4);
  std::memcpy(&h[344], "n+1\0", 4);
  std::ofstream out(path, std::ios::binary);
  out.write(h.data(), h.size());
  std::vector<float> data(dataBytes / sizeof(float), value);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
}
}  // namespace

TEST(VolumeIOErrors, TwoDimensionalImageRejected) {
  const std::string path = test::tempDir() + "/slice.nii";
  writeRawNifti(path, {8, 8}, 8 * 8 * 4);
  const std::string msg = expectError([&] { readImage(path); });
  EXPECT_NE(msg.find("3D"), std::string::npos) << msg;
  EXPECT_NE(msg.find("slice.nii"), std::string::npos) << msg;
}

TEST(VolumeIOErrors, FourDimensionalImageRejected) {
  const std::string path = test::tempDir() + "/dynamic.nii";
  writeRawNifti(path, {4, 4, 4, 3}, 4 * 4 * 4 * 3 * 4);
  const std::string msg = expectError([&] { readImage(path); });
  EXPECT_NE(msg.find("4D"), std::string::npos) << msg;
}

TEST(VolumeIOErrors, NonFiniteIntensityScalingIsRefusedAndZeroSlopeMeansNoScaling) {
  const std::string dir = test::tempDir();
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (auto [slope, inter, field] :
       {std::tuple{inf, 0.0f, "scl_slope"}, std::tuple{nan, 0.0f, "scl_slope"}, std::tuple{-inf, 0.0f, "scl_slope"},
        std::tuple{2.0f, nan, "scl_inter"}, std::tuple{1.0f, inf, "scl_inter"}}) {
    const std::string path = dir + "/scaled.nii";
    writeRawNifti(path, {4, 4, 4}, 4 * 4 * 4 * 4, slope, inter, 10.0f);
    const std::string msg = expectError([&] { readImage(path); });
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
    EXPECT_NE(msg.find("scaled.nii"), std::string::npos) << msg;
  }
  // The standard: scl_slope 0 = no scaling. ITK would still add a finite scl_inter, so that
  // case is refused; NaN (which niftilib reads as 0) and 0 read unscaled.
  {
    const std::string path = dir + "/offset-only.nii";
    writeRawNifti(path, {4, 4, 4}, 4 * 4 * 4 * 4, 0.0f, 100.0f, 10.0f);
    const std::string msg = expectError([&] { readImage(path); });
    EXPECT_NE(msg.find("scl_inter is 100"), std::string::npos) << msg;
  }
  for (float inter : {0.0f, nan}) {
    const std::string path = dir + "/unscaled.nii";
    writeRawNifti(path, {4, 4, 4}, 4 * 4 * 4 * 4, 0.0f, inter, 10.0f);
    const ImageVolume v = readImage(path);
    EXPECT_FLOAT_EQ(v.voxels.front(), 10.0f) << "scl_inter " << inter;
    EXPECT_FLOAT_EQ(v.voxels.back(), 10.0f) << "scl_inter " << inter;
  }
  // A finite scale is applied.
  const std::string path = dir + "/scaled-ok.nii";
  writeRawNifti(path, {4, 4, 4}, 4 * 4 * 4 * 4, 2.0f, -5.0f, 10.0f);
  EXPECT_FLOAT_EQ(readImage(path).voxels.front(), 15.0f);
}

TEST(VolumeIOErrors, AbsurdSizeRefusedBeforeAllocation) {
  const std::string path = test::tempDir() + "/huge.nii";
  writeRawNifti(path, {30000, 30000, 30000}, 16);  // header claims 108 TB of voxels
  const std::string msg = expectError([&] { readImage(path); });
  EXPECT_NE(msg.find("refusing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("huge.nii"), std::string::npos) << msg;
}

TEST(VolumeIOErrors, FolderWithoutDicomSeries) {
  const std::string dir = test::tempDir() + "/empty-dicom";
  fs::create_directories(dir);
  std::ofstream(dir + "/readme.txt") << "no dicom here";
  const std::string msg = expectError([&] { readImage(dir); });
  EXPECT_NE(msg.find("no DICOM series"), std::string::npos) << msg;
}

TEST(RealData, ReadsExampleCtNifti) {
  MQB_REQUIRE_DATA(ct, "abdomen-ct/example_ct.nii.gz");
  ImageVolume v = readImage(ct);
  EXPECT_EQ(v.geometry.size, (std::array<int64_t, 3>{122, 101, 112}));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(v.geometry.spacing[i], 3.0, 1e-3);
  const auto [mn, mx] = std::minmax_element(v.voxels.begin(), v.voxels.end());
  EXPECT_NEAR(*mn, -1207, 1);
  EXPECT_NEAR(*mx, 3382, 1);
}

TEST(RealData, ReadsJpeg2000DicomSeriesWithGeometry) {
  MQB_REQUIRE_DATA(dir, "abdomen-ct/example_ct_dicom");
  MQB_REQUIRE_DATA(seg, "abdomen-ct/example_seg_dicom.nii.gz");
  ImageVolume v = readImage(dir);
  EXPECT_EQ(v.geometry.size, (std::array<int64_t, 3>{512, 512, 20}));
  EXPECT_NEAR(v.geometry.spacing[0], 0.977, 0.01);
  EXPECT_NEAR(v.geometry.spacing[2], 2.0, 0.01);
  // Real HU (rescale slope/intercept applied): air near -1000, soft tissue present.
  const auto [mn, mx] = std::minmax_element(v.voxels.begin(), v.voxels.end());
  EXPECT_LT(*mn, -900);
  EXPECT_GT(*mx, 200);
  LabelVolume l = readLabelMap(seg, LabelRemap::load("totalsegmentator-to-btcv"));
  // The label NIfTI stores the same voxels with the y axis flipped: aligned losslessly.
  LabelVolume aligned = alignToGrid(l, v.geometry, seg);
  EXPECT_EQ(aligned.geometry.gridDifference(v.geometry), "");
  EXPECT_EQ(aligned.voxels.size(), l.voxels.size());
  EXPECT_FALSE(aligned.voxels == l.voxels);
}

// The reader reports every slice; a cancel stops it at the next one (issue 13: Cancel takes
// effect while a long series is read).
TEST(RealData, CancelWhileReadingADicomSeriesStopsAtTheNextSlice) {
  MQB_REQUIRE_DATA(dir, "abdomen-ct/example_ct_dicom");
  int sliceReports = 0;
  Feedback feedback;
  feedback.setProgressCallback([&](double, const std::string& stage) {
    if (stage == "reading DICOM series" && ++sliceReports == 3) feedback.cancel();
  });
  std::optional<ImageVolume> v;
  EXPECT_THROW(v = readImage(dir, &feedback), Canceled);
  EXPECT_EQ(sliceReports, 3);
  EXPECT_FALSE(v.has_value());
  // Not cancelled, the same folder reads completely.
  Feedback plain;
  EXPECT_EQ(readImage(dir, &plain).geometry.size[2], 20);
}

TEST(RealData, TotalSegmentatorLabelsRemapToTwelveBtcvOrgans) {
  MQB_REQUIRE_DATA(seg, "abdomen-ct/example_seg_fast_force_split.nii.gz");
  LabelVolume l = readLabelMap(seg, LabelRemap::load("totalsegmentator-to-btcv"));
  std::array<int64_t, 256> counts{};
  for (uint8_t v : l.voxels) counts[v]++;
  int present = 0;
  for (int id = 1; id <= 13; ++id) present += counts[id] > 0;
  EXPECT_EQ(present, 12);  // the esophagus is absent from these volumes
  EXPECT_EQ(counts[5], 0);
  for (int id = 14; id < 256; ++id) EXPECT_EQ(counts[id], 0);
}
