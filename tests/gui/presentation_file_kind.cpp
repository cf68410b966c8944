// File-kind guessing of dropped / opened / positional files (app/gui/model/FileKind).
#include <gtest/gtest.h>

#include <filesystem>

#include "FileKind.h"

namespace mqb::gui {
namespace {

TEST(FileKind, ModelsAndSessionsByExtensionCaseInsensitive) {
  EXPECT_EQ(guessFileKind("/models/MQB-nnUNet-S.pt", false), FileKind::Model);
  EXPECT_EQ(guessFileKind("/models/UNET.PTH", true), FileKind::Model);
  EXPECT_EQ(guessFileKind("scripted.ts", false), FileKind::Model);
  EXPECT_EQ(guessFileKind("/tmp/study.json", false), FileKind::Session);
}

TEST(FileKind, LabelMapNamesAreGroundTruthOnlyOnceACtIsThere) {
  // Dropped alone, "seg.nii.gz" is what the user wants to see: open it as the CT.
  EXPECT_EQ(guessFileKind("/data/example_seg.nii.gz", false), FileKind::Volume);
  EXPECT_EQ(guessFileKind("/data/example_seg.nii.gz", true), FileKind::GroundTruth);
  EXPECT_EQ(guessFileKind("/data/GT_case1.nrrd", true), FileKind::GroundTruth);
  EXPECT_EQ(guessFileKind("/data/liver_mask.mha", true), FileKind::GroundTruth);
  EXPECT_EQ(guessFileKind("/data/example_ct.nii.gz", true), FileKind::Volume);
  EXPECT_EQ(guessFileKind("/data/slice001.dcm", true), FileKind::Volume);
}

TEST(FileKind, AFolderIsADicomSeries) {
  const auto dir = std::filesystem::temp_directory_path() / "mqb_file_kind_series.nii.gz";
  std::filesystem::create_directories(dir);
  // The content decides, not the name: a folder named like a NIfTI file is still a series.
  EXPECT_EQ(guessFileKind(dir.string(), false), FileKind::DicomFolder);
  std::filesystem::remove(dir);
}

TEST(FileKind, UnknownFilesGetAOneLineErrorNamingThem) {
  EXPECT_EQ(guessFileKind("/tmp/notes.txt", true), FileKind::Unknown);
  const std::string message = unknownFileTypeMessage("/tmp/notes.txt");
  EXPECT_EQ(message.rfind("/tmp/notes.txt: unknown file type", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(FileKind, LabelMapsOpenAfterModelsAndCts) {
  std::vector<std::string> paths{"/d/example_seg.nii.gz", "/d/example_ct.nii.gz", "/m/model.pt", "/d/b_label.nrrd"};
  orderForOpening(paths);
  EXPECT_EQ(paths, (std::vector<std::string>{"/d/example_ct.nii.gz", "/m/model.pt", "/d/example_seg.nii.gz",
                                             "/d/b_label.nrrd"}));
}

TEST(FileKind, TotalSegmentatorRemapIsOfferedForSegNames) {
  EXPECT_TRUE(suggestsTotalSegmentatorRemap("s0011_SEG.nii.gz"));
  EXPECT_FALSE(suggestsTotalSegmentatorRemap("labels.nii.gz"));
}

}  // namespace
}  // namespace mqb::gui
