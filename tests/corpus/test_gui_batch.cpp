// The desktop application under hostile inputs: a batch run (--screenshot, --export-figure,
// --benchmark) with a bad input or output ends with exit 1 and one "error:" line before any
// window exists (so it needs no display and can never wait for a dialog), writes no image and
// keeps an existing one; corrupt session files are refused naming the field, and the last good
// autosave survives a damaged one.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>

#include "CommandRun.h"
#include "CorpusFiles.h"
#include "support/Error.h"
#include "SessionFile.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "io/VolumeIO.h"

namespace fs = std::filesystem;
using namespace mqb;
using namespace mqb::corpus;

namespace {

using AppRun = test::CommandRun;

AppRun runApp(const std::string& args) {
  // No display on purpose: every case must be decided before the window is created.
  return test::runCommand("env -u DISPLAY -u WAYLAND_DISPLAY timeout -k 5 60 " + std::string(MQB_APP) + " " + args +
                          " </dev/null");
}

struct Inputs {
  std::string dir, model, ct, truth;
};

Inputs makeInputs() {
  Inputs in;
  in.dir = test::tempDir();
  in.model = in.dir + "/band.pt";
  test::writeBandModel(in.model, test::bandModelMetadata(16, 3.0));
  ImageVolume ct;
  ct.geometry.size = {20, 20, 12};
  ct.geometry.spacing = {3, 3, 3};
  ct.voxels.assign(static_cast<size_t>(ct.geometry.voxelCount()), 40.0f);
  in.ct = in.dir + "/ct.nii.gz";
  writeImage(ct, in.ct);
  LabelVolume truth;
  truth.geometry = ct.geometry;
  truth.voxels.assign(ct.voxels.size(), 1);
  in.truth = in.dir + "/truth.nii.gz";
  writeLabelMap(truth, in.truth);
  return in;
}

}  // namespace

TEST(GuiBatchCorpus, BadInputsEndTheRunBeforeAnyWindowAndWriteNothing) {
  const Inputs in = makeInputs();
  const std::string out = in.dir + "/shot.png";
  // A previous image at the output path must survive a failed run.
  writeBytes(in.dir + "/old.png", "previous image");

  LabelVolume otherGrid;
  otherGrid.geometry.size = {10, 10, 10};
  otherGrid.voxels.assign(1000, 1);
  writeLabelMap(otherGrid, in.dir + "/other-grid.nii.gz");
  makeFifo(in.dir + "/pipe.nii.gz");
  {
    std::string nifti = gunzip(in.ct);
    put<float>(nifti, 400, std::numeric_limits<float>::quiet_NaN());
    gzipTo(nifti, in.dir + "/nan.nii.gz");
  }
  writeBytes(in.dir + "/bad-session.json",
             "{\"format\": \"medquanbench-session\", \"version\": 1, \"view\": {\"slice\": \"x\"}}");

  struct Case {
    std::string name, args;
    std::vector<std::string> needles;
    std::string output;
  };
  const std::string base = "--model " + in.model + " --volume " + in.ct;
  const std::vector<Case> cases = {
      {"ground truth on another grid (was a 15 min hang)",
       base + " --labels " + in.dir + "/other-grid.nii.gz --screenshot " + out,
       {"other-grid.nii.gz"},
       out},
      {"volume is a named pipe",
       "--model " + in.model + " --volume " + in.dir + "/pipe.nii.gz --screenshot " + out,
       {"pipe.nii.gz", "named pipe"},
       out},
      {"volume with NaN",
       "--model " + in.model + " --volume " + in.dir + "/nan.nii.gz --export-figure " + out,
       {"nan.nii.gz", "NaN"},
       out},
      {"missing model",
       "--model " + in.dir + "/none.pt --volume " + in.ct + " --screenshot " + out,
       {"none.pt", "not found"},
       out},
      {"screenshot is the volume", base + " --screenshot " + in.ct, {"is the input"}, ""},
      {"screenshot is a folder", base + " --screenshot " + in.dir, {"is a folder"}, ""},
      {"figure with an unknown format",
       base + " --export-figure " + in.dir + "/fig.xyz",
       {"fig.xyz", "unknown image format"},
       in.dir + "/fig.xyz"},
      {"existing image kept on failure",
       "--model " + in.model + " --volume " + in.dir + "/pipe.nii.gz --screenshot " + in.dir + "/old.png",
       {"named pipe"},
       ""},
      {"corrupt session",
       "--session " + in.dir + "/bad-session.json --screenshot " + out,
       {"bad-session.json", "view.slice"},
       out},
      {"benchmark with a bad volume", "--benchmark --volume " + in.dir + "/nan.nii.gz", {"nan.nii.gz"}, ""},
  };
  for (const auto& c : cases) {
    const AppRun r = runApp(c.args);
    const auto lines = test::nonEmptyLines(r.out);
    EXPECT_EQ(r.code, 1) << c.name << "\n" << r.out;
    ASSERT_EQ(lines.size(), 1u) << c.name << "\n" << r.out;
    EXPECT_EQ(lines[0].rfind("medquanbench: error: ", 0), 0u) << c.name << "\n" << r.out;
    for (const auto& n : c.needles)
      EXPECT_NE(lines[0].find(n), std::string::npos) << c.name << ": " << n << "\n" << r.out;
    if (!c.output.empty()) EXPECT_FALSE(fs::exists(c.output)) << c.name;
  }
  EXPECT_EQ(readBytes(in.dir + "/old.png"), "previous image");
}

TEST(SessionFileCorpus, CorruptSessionsAreRefusedNamingTheField) {
  const std::string dir = test::tempDir();
  const nlohmann::json good = {{"format", "medquanbench-session"}, {"version", 1}};
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> change;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"wrong format", [](auto& j) { j["format"] = "other"; }, "not a MedQuanBench session"},
      {"format number", [](auto& j) { j["format"] = 3; }, "not a MedQuanBench session"},
      {"version 2", [](auto& j) { j["version"] = 2; }, "unsupported session version 2"},
      {"version string", [](auto& j) { j["version"] = "1"; }, "unsupported session version"},
      {"view.slice string", [](auto& j) { j["view"]["slice"] = "x"; }, "\"view.slice\" must be an integer"},
      {"view.zoom zero", [](auto& j) { j["view"]["zoom"] = 0; }, "view.zoom"},
      {"view.pan one entry", [](auto& j) { j["view"]["pan"] = {1}; }, "\"view.pan\""},
      {"view.pan string",
       [](auto& j) {
         j["view"]["pan"] = {"a", 1};
       },
       "\"view.pan[0]\""},
      {"view.label_mode", [](auto& j) { j["view"]["label_mode"] = "glow"; }, "view.label_mode"},
      {"view.hidden_labels", [](auto& j) { j["view"]["hidden_labels"] = {"a"}; }, "\"view.hidden_labels[0]\""},
      {"view.cursor two entries",
       [](auto& j) {
         j["view"]["cursor"] = {1, 2};
       },
       "\"view.cursor\""},
      {"view.show_3d string", [](auto& j) { j["view"]["show_3d"] = "yes"; }, "\"view.show_3d\" must be true or false"},
      {"view not an object", [](auto& j) { j["view"] = 5; }, "\"view\" must be an object"},
      {"inputs.model number",
       [](auto& j) {
         j["inputs"] = {{"model", 5}};
       },
       "\"inputs.model\""},
      {"inputs.label_map number",
       [](auto& j) {
         j["inputs"] = {{"label_map", 5}};
       },
       "\"inputs.label_map\""},
      {"tolerance negative", [](auto& j) { j["nsd_tolerance_mm"] = -1; }, "nsd_tolerance_mm"},
      {"tolerance string", [](auto& j) { j["nsd_tolerance_mm"] = "2"; }, "\"nsd_tolerance_mm\" must be a number"},
  };
  int i = 0;
  for (const auto& c : cases) {
    nlohmann::json j = good;
    c.change(j);
    const std::string path = dir + "/s" + std::to_string(i++) + ".json";
    std::ofstream(path) << j.dump();
    try {
      gui::SessionState::load(path);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << c.name << ": " << msg;
      EXPECT_NE(msg.find(c.needle), std::string::npos) << c.name << ": " << msg;
    }
  }
  writeBytes(dir + "/syntax.json", "{\"format\": ");
  try {
    gui::SessionState::load(dir + "/syntax.json");
    ADD_FAILURE() << "syntax error accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("[json.exception"), std::string::npos) << e.what();
  }
}

TEST(SessionFileCorpus, DamagedAutosaveKeepsTheLastGoodOne) {
  const std::string dir = test::tempDir();
  const std::string autosave = dir + "/autosave.json";
  gui::SessionState first;
  first.view.slice = 7;
  first.save(autosave);
  gui::SessionState second;
  second.view.slice = 9;
  second.save(autosave);  // the good first one is kept aside
  // The autosave is then damaged (a full disk, a crash while the file system wrote it).
  writeBytes(autosave, readBytes(autosave).substr(0, 30));
  try {
    gui::SessionState::load(autosave);
    ADD_FAILURE() << "damaged autosave accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(autosave + ": not valid JSON"), std::string::npos) << msg;
    EXPECT_NE(msg.find("previous good copy is kept in " + autosave + ".previous"), std::string::npos) << msg;
  }
  EXPECT_EQ(gui::SessionState::load(autosave + ".previous").view.slice, 7);
  // Saving over the damaged file does not replace the good copy with the damaged one.
  second.save(autosave);
  EXPECT_EQ(gui::SessionState::load(autosave + ".previous").view.slice, 7);
  EXPECT_EQ(gui::SessionState::load(autosave).view.slice, 9);
}
