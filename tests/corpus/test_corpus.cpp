// The hostile-input corpus (issue 13): >= 150 malformed or hostile inputs and option
// mistakes, generated here from the project's own writers, each run through the CLI. Every
// case must end with exit code 1 and one line "error: <file or option>: <problem>" naming
// what the case broke, or be handled (exit 0 with its outputs); no crash, no hang, and after
// a failure no output or temporary file left in the case's output folder.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <thread>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "CommandRun.h"
#include "CorpusFiles.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "io/VolumeIO.h"

namespace fs = std::filesystem;
using namespace mqb;
using namespace mqb::corpus;

namespace {

constexpr int kHangSeconds = 60;
// Each run is mostly LibTorch's start-up (~0.7 s CPU); a few at a time keep the corpus short.
constexpr int kParallelRuns = 4;

struct Case {
  std::string name;
  std::string args;  // "%O" stands for the case's own (empty) output folder
  int code = 1;
  std::vector<std::string> needles;  // all must appear in the error line
  std::vector<std::string> outputs;  // for handled cases: files expected in %O
};

struct CliRun {
  int code = -1;
  bool hang = false, crash = false;
  std::string out;
};

CliRun runCli(const std::string& args) {
  // One intra-op thread per run: the cases run several at a time (kParallelRuns).
  const std::string cmd = "OMP_NUM_THREADS=1 timeout -k 5 " + std::to_string(kHangSeconds) + " " +
                          std::string(MQB_CLI) + " " + args + " 2>&1 </dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  CliRun r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.hang = r.code == 124 || r.code == 137;
  r.crash = !r.hang && r.code >= 128 && r.code != 130;
  return r;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Builds every input of the corpus under one folder and lists the cases.
class Corpus {
 public:
  Corpus() : root_(test::tempDir()), in_(root_ + "/in/") {
    fs::create_directories(in_);
    model_ = in_ + "band.pt";
    test::writeBandModel(model_, test::bandModelMetadata(16, 3.0));
    ct_ = makeCt();
    truth_ = makeTruth();
    writeImage(ct_, in_ + "ct.nii");
    writeImage(ct_, in_ + "ct.nii.gz");
    writeLabelMap(truth_, in_ + "truth.nii.gz");
    writeLabelMap(truth_, in_ + "truth.nii");
    niftiCases();
    gzipCases();
    labelMapCases();
    labelTableCases();
    metaImageAndNrrdCases();
    dicomCases();
    modelCases();
    calibrationCases();
    outputCases();
    inputTypeCases();
    optionCases();
  }

  const std::vector<Case>& cases() const { return cases_; }
  const std::string& root() const { return root_; }

 private:
  // Segment of a damaged volume: the error must name the file.
  void volumeCase(const std::string& name, const std::string& file, std::vector<std::string> needles) {
    needles.insert(needles.begin(), file);
    cases_.push_back({name,
                      "segment --model " + model_ + " --volume " + quoted(file) +
                          " --out %O/pred.nii.gz --json %O/r.json --quiet",
                      1,
                      needles,
                      {}});
  }
  void labelCase(const std::string& name, const std::string& file, std::vector<std::string> needles) {
    needles.insert(needles.begin(), file);
    cases_.push_back(
        {name, "compare --a " + quoted(file) + " --b " + in_ + "truth.nii.gz --json %O/c.json", 1, needles, {}});
  }
  void segmentCase(const std::string& name, const std::string& extra, int code, std::vector<std::string> needles,
                   std::vector<std::string> outputs = {}) {
    cases_.push_back({name, "segment --model " + model_ + " --volume " + in_ + "ct.nii.gz " + extra + " --quiet",
                      code, needles, outputs});
  }

  ImageVolume makeCt() {
    ImageVolume v;
    v.geometry.size = {20, 20, 12};
    v.geometry.spacing = {3, 3, 3};
    v.voxels.resize(static_cast<size_t>(v.geometry.voxelCount()));
    for (int64_t z = 0; z < 12; ++z)
      for (int64_t y = 0; y < 20; ++y)
        for (int64_t x = 0; x < 20; ++x)
          v.at(x, y, z) = x < 6 ? test::kBandBackgroundHu : x < 14 ? test::kBandLowHu : test::kBandHighHu;
    return v;
  }
  LabelVolume makeTruth() {
    LabelVolume l;
    l.geometry = ct_.geometry;
    l.voxels.resize(ct_.voxels.size());
    for (size_t i = 0; i < l.voxels.size(); ++i)
      l.voxels[i] = ct_.voxels[i] == test::kBandBackgroundHu ? 0 : ct_.voxels[i] == test::kBandLowHu ? 1 : 2;
    return l;
  }

  // A copy of the float32 ct.nii (NIfTI-1, vox_offset 352) with `patch` applied.
  std::string niftiVariant(const std::string& name, const std::function<void(std::string&)>& patch) {
    std::string b = readBytes(in_ + "ct.nii");
    patch(b);
    const std::string path = in_ + name + ".nii";
    writeBytes(path, b);
    return path;
  }

  void niftiCases() {
    const size_t voxels = ct_.voxels.size();
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    volumeCase("nifti NaN voxel", niftiVariant("nan", [&](std::string& b) { put<float>(b, 352 + 4 * 100, nan); }),
               {"NaN"});
    volumeCase("nifti +inf voxel", niftiVariant("inf", [&](std::string& b) { put<float>(b, 352 + 4 * 7, inf); }),
               {"infinite"});
    volumeCase("nifti -inf voxel",
               niftiVariant("minf", [&](std::string& b) { put<float>(b, 352 + 4 * (voxels - 1), -inf); }),
               {"infinite"});
    for (size_t keep : {size_t(348), size_t(352), size_t(352 + 4 * voxels / 2), size_t(352 + 4 * voxels - 1)})
      volumeCase("nifti truncated to " + std::to_string(keep) + " bytes",
                 niftiVariant("trunc" + std::to_string(keep), [&](std::string& b) { b.resize(keep); }), {"truncated"});
    volumeCase("nifti shorter than a header", niftiVariant("tiny", [](std::string& b) { b.resize(100); }),
               {"shorter than a NIfTI header"});
    volumeCase("nifti empty file", niftiVariant("empty", [](std::string& b) { b.clear(); }),
               {"shorter than a NIfTI header"});
    volumeCase("nifti vox_offset past EOF", niftiVariant("voxoff", [](std::string& b) { put<float>(b, 108, 1.0e7f); }),
               {"vox_offset", "past the end"});
    volumeCase("nifti vox_offset NaN", niftiVariant("voxoffnan", [&](std::string& b) { put<float>(b, 108, nan); }),
               {"vox_offset"});
    volumeCase("nifti vox_offset negative",
               niftiVariant("voxoffneg", [](std::string& b) { put<float>(b, 108, -4.0f); }), {"vox_offset"});
    for (int axis = 1; axis <= 3; ++axis) {
      const std::string a = std::to_string(axis);
      // ITK writes qform and sform; with both codes 0 the spacing comes from pixdim alone.
      auto noForms = [](std::string& b) {
        put<int16_t>(b, 252, 0);
        put<int16_t>(b, 254, 0);
      };
      volumeCase("nifti pixdim" + a + " NaN",
                 niftiVariant("pixnan" + a,
                              [&](std::string& b) {
                                noForms(b);
                                put<float>(b, 76 + 4 * axis, nan);
                              }),
                 {"pixdim[" + a + "]", "nan"});
      volumeCase("nifti pixdim" + a + " zero",
                 niftiVariant("pixzero" + a,
                              [&](std::string& b) {
                                noForms(b);
                                put<float>(b, 76 + 4 * axis, 0.0f);
                              }),
                 {"pixdim[" + a + "]", "positive"});
      volumeCase("nifti pixdim" + a + " inf with sform",
                 niftiVariant("pixinf" + a, [&](std::string& b) { put<float>(b, 76 + 4 * axis, inf); }),
                 {"pixdim[" + a + "]"});
    }
    volumeCase("nifti pixdim negative",
               niftiVariant("pixneg",
                            [](std::string& b) {
                              put<int16_t>(b, 252, 0);
                              put<int16_t>(b, 254, 0);
                              put<float>(b, 80, -3.0f);
                            }),
               {"pixdim[1]", "positive"});
    volumeCase("nifti sform NaN",
               niftiVariant("sformnan",
                            [&](std::string& b) {
                              put<int16_t>(b, 254, 1);
                              put<float>(b, 280, nan);
                            }),
               {"sform"});
    volumeCase("nifti qform NaN",
               niftiVariant("qformnan",
                            [&](std::string& b) {
                              put<int16_t>(b, 252, 1);
                              put<float>(b, 256, nan);
                            }),
               {"qform"});
    volumeCase("nifti bad magic", niftiVariant("magic", [](std::string& b) { std::memcpy(&b[344], "xyz\0", 4); }),
               {"bad NIfTI magic"});
    volumeCase("nifti Analyze (no magic)",
               niftiVariant("analyze", [](std::string& b) { std::memset(&b[344], 0, 4); }), {"bad NIfTI magic"});
    volumeCase("nifti ni1 magic in a .nii",
               niftiVariant("ni1", [](std::string& b) { std::memcpy(&b[344], "ni1\0", 4); }), {"separate .img"});
    volumeCase("nifti header size field", niftiVariant("sizeof", [](std::string& b) { put<int32_t>(b, 0, 12345); }),
               {"not a NIfTI file"});
    volumeCase("nifti dim[0] 0", niftiVariant("dim0zero", [](std::string& b) { put<int16_t>(b, 40, 0); }), {"dim[0]"});
    volumeCase("nifti dim[0] 9", niftiVariant("dim0nine", [](std::string& b) { put<int16_t>(b, 40, 9); }), {"dim[0]"});
    volumeCase("nifti dim[2] 0", niftiVariant("dimzero", [](std::string& b) { put<int16_t>(b, 44, 0); }),
               {"dimension 2"});
    volumeCase("nifti dim[3] negative", niftiVariant("dimneg", [](std::string& b) { put<int16_t>(b, 46, -5); }),
               {"dimension 3"});
    volumeCase("nifti 2D (dim[0] 2)", niftiVariant("twod", [](std::string& b) { put<int16_t>(b, 40, 2); }), {"2D"});
    volumeCase("nifti single slice", niftiVariant("oneslice", [](std::string& b) { put<int16_t>(b, 46, 1); }),
               {"single-slice"});
    volumeCase("nifti header bomb 32767^3",
               niftiVariant("bomb",
                            [](std::string& b) {
                              for (int i = 1; i <= 3; ++i) put<int16_t>(b, 40 + 2 * i, 32767);
                            }),
               {"absurd size"});
    volumeCase("nifti 4D with 2 time points",
               niftiVariant("fourd",
                            [](std::string& b) {
                              put<int16_t>(b, 40, 4);
                              put<int16_t>(b, 48, 2);
                            }),
               {"truncated"});
    {
      // A 4D file with one time point is a 3D volume: handled.
      const std::string path = niftiVariant("fourd1", [](std::string& b) {
        put<int16_t>(b, 40, 4);
        put<int16_t>(b, 48, 1);
      });
      cases_.push_back({"nifti 4D with one time point (handled)",
                        "segment --model " + model_ + " --volume " + path + " --out %O/pred.nii.gz --quiet",
                        0,
                        {},
                        {"pred.nii.gz"}});
    }
    {
      // Two full time points: a real 4D series, refused as such.
      std::string b = readBytes(in_ + "ct.nii");
      b += b.substr(352);
      put<int16_t>(b, 40, 4);
      put<int16_t>(b, 48, 2);
      writeBytes(in_ + "fourd2full.nii", b);
      volumeCase("nifti 4D with 2 full time points", in_ + "fourd2full.nii", {"4D image"});
    }
    volumeCase("nifti datatype complex64",
               niftiVariant("complex",
                            [](std::string& b) {
                              put<int16_t>(b, 70, 32);
                              put<int16_t>(b, 72, 64);
                            }),
               {"complex64", "not supported"});
    volumeCase("nifti datatype RGB",
               niftiVariant("rgb",
                            [](std::string& b) {
                              put<int16_t>(b, 70, 128);
                              put<int16_t>(b, 72, 24);
                            }),
               {"RGB", "not supported"});
    volumeCase("nifti datatype unknown", niftiVariant("dtype", [](std::string& b) { put<int16_t>(b, 70, 999); }),
               {"datatype"});
    volumeCase("nifti bitpix mismatch", niftiVariant("bitpix", [](std::string& b) { put<int16_t>(b, 72, 8); }),
               {"bitpix"});
    volumeCase("nifti garbage bytes",
               niftiVariant("garbage",
                            [](std::string& b) {
                              for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>((i * 7919) & 0xff);
                            }),
               {"not a NIfTI file"});
    {
      // NIfTI-2 header (540 bytes) built from the NIfTI-1 fields.
      const std::string one = readBytes(in_ + "ct.nii");
      std::string two(544, '\0');
      put<int32_t>(two, 0, 540);
      std::memcpy(&two[4], "n+2\0\r\n\032\n", 8);
      put<int16_t>(two, 12, 16);
      put<int16_t>(two, 14, 32);
      const int64_t dims[8] = {3, 20, 20, 12, 1, 1, 1, 1};
      for (int i = 0; i < 8; ++i) put<int64_t>(two, 16 + 8 * i, dims[i]);
      const double pix[8] = {1, 3, 3, 3, 1, 1, 1, 1};
      for (int i = 0; i < 8; ++i) put<double>(two, 104 + 8 * i, pix[i]);
      put<int64_t>(two, 168, 544);
      put<double>(two, 176, 1.0);
      put<int32_t>(two, 344, 0);
      put<int32_t>(two, 348, 0);
      put<int32_t>(two, 504, 10);  // xyzt_units: mm
      std::string truncated = two + one.substr(352, 100);
      writeBytes(in_ + "nifti2-truncated.nii", truncated);
      volumeCase("nifti-2 truncated", in_ + "nifti2-truncated.nii", {"truncated"});
      std::string bomb = two;
      for (int i = 1; i <= 3; ++i) put<int64_t>(bomb, 16 + 8 * i, int64_t(1) << 40);
      writeBytes(in_ + "nifti2-bomb.nii", bomb);
      volumeCase("nifti-2 header bomb", in_ + "nifti2-bomb.nii", {"absurd size"});
      std::string badMagic = two + one.substr(352);
      std::memcpy(&badMagic[4], "n+9\0", 4);
      writeBytes(in_ + "nifti2-magic.nii", badMagic);
      volumeCase("nifti-2 bad magic", in_ + "nifti2-magic.nii", {"NIfTI-2 magic"});
    }
  }

  void gzipCases() {
    const std::string gz = readBytes(in_ + "ct.nii.gz");
    const size_t n = gz.size();
    // A download cut at many offsets: inside the gzip header, the deflate stream and the trailer.
    for (size_t cut :
         {size_t(5), size_t(12), n / 10, n / 4, n / 3, n / 2, 2 * n / 3, 3 * n / 4, 9 * n / 10, n - 6, n - 1}) {
      const std::string path = in_ + "cut" + std::to_string(cut) + ".nii.gz";
      writeBytes(path, gz.substr(0, cut));
      volumeCase("gzip cut at " + std::to_string(cut) + "/" + std::to_string(n), path,
                 {"compressed file is truncated or corrupt"});
    }
    // Flipped bytes in the deflate data and in the CRC trailer.
    for (size_t at : {n / 5, n / 2, 4 * n / 5, n - 8, n - 3}) {
      std::string b = gz;
      b[at] = static_cast<char>(b[at] ^ 0x5a);
      const std::string path = in_ + "flip" + std::to_string(at) + ".nii.gz";
      writeBytes(path, b);
      volumeCase("gzip byte flipped at " + std::to_string(at), path, {"compressed file is truncated or corrupt"});
    }
    {
      // Valid gzip around a truncated NIfTI: the stream is fine, the content is short.
      std::string raw = gunzip(in_ + "ct.nii.gz");
      gzipTo(raw.substr(0, raw.size() / 2), in_ + "gz-short-content.nii.gz");
      volumeCase("gzip of a truncated nifti", in_ + "gz-short-content.nii.gz", {"truncated", "uncompressed"});
      gzipTo(std::string(1000, 'x'), in_ + "gz-garbage.nii.gz");
      volumeCase("gzip of garbage", in_ + "gz-garbage.nii.gz", {"not a NIfTI file"});
      writeBytes(in_ + "not-gzip.nii.gz", "plain text, not gzip\n");
      volumeCase("not gzip at all", in_ + "not-gzip.nii.gz", {"shorter than a NIfTI header"});
      std::string pixNan = raw;
      put<int16_t>(pixNan, 252, 0);
      put<int16_t>(pixNan, 254, 0);
      put<float>(pixNan, 80, std::numeric_limits<float>::quiet_NaN());
      gzipTo(pixNan, in_ + "gz-pixdim-nan.nii.gz");
      volumeCase("gzip nifti with pixdim NaN", in_ + "gz-pixdim-nan.nii.gz", {"pixdim[1]"});
      std::string nanVoxel = raw;
      put<float>(nanVoxel, 400, std::numeric_limits<float>::quiet_NaN());
      gzipTo(nanVoxel, in_ + "gz-nan.nii.gz");
      volumeCase("gzip nifti with NaN voxel", in_ + "gz-nan.nii.gz", {"NaN"});
    }
  }

  void labelMapCases() {
    auto floatLabels = [&](const std::string& name, float value) {
      ImageVolume v;
      v.geometry = truth_.geometry;
      v.voxels.assign(truth_.voxels.begin(), truth_.voxels.end());
      v.voxels[17] = value;
      const std::string path = in_ + name + ".nii.gz";
      writeImage(v, path);
      return path;
    };
    labelCase("float label map with 1.5", floatLabels("lab-frac", 1.5f), {"non-integer value 1.5"});
    labelCase("float label map with 0.999", floatLabels("lab-frac2", 0.999f), {"non-integer"});
    labelCase("float label map with NaN", floatLabels("lab-nan", std::numeric_limits<float>::quiet_NaN()), {"NaN"});
    labelCase("float label map with inf", floatLabels("lab-inf", std::numeric_limits<float>::infinity()), {"infinite"});
    labelCase("float label map with -1", floatLabels("lab-neg", -1.0f), {"out of range"});
    labelCase("float label map with 300", floatLabels("lab-300", 300.0f), {"exceeds 255", "--label-map"});
    labelCase("float label map with 70000", floatLabels("lab-70000", 70000.0f), {"out of range"});
    {
      // Whole-number floats are label ids: handled.
      const std::string path = floatLabels("lab-float-ok", 2.0f);
      cases_.push_back({"float label map with whole numbers (handled)",
                        "compare --a " + path + " --b " + in_ + "truth.nii.gz --json %O/c.json",
                        0,
                        {},
                        {"c.json"}});
    }
    {
      std::string b = readBytes(in_ + "truth.nii");
      writeBytes(in_ + "lab-trunc.nii", b.substr(0, b.size() - 10));
      labelCase("label map truncated", in_ + "lab-trunc.nii", {"truncated"});
      std::string m = b;
      std::memcpy(&m[344], "abc\0", 4);
      writeBytes(in_ + "lab-magic.nii", m);
      labelCase("label map bad magic", in_ + "lab-magic.nii", {"bad NIfTI magic"});
    }
    {
      LabelVolume other = truth_;
      other.geometry.size = {10, 20, 24};
      writeLabelMap(other, in_ + "lab-grid.nii.gz");
      cases_.push_back({"label map on another grid",
                        "compare --a " + in_ + "truth.nii.gz --b " + in_ + "lab-grid.nii.gz --json %O/c.json",
                        1,
                        {in_ + "lab-grid.nii.gz"},
                        {}});
    }
    cases_.push_back(
        {"label map is a folder", "compare --a " + in_ + " --b " + in_ + "truth.nii.gz", 1, {"is a folder"}, {}});
  }

  void labelTableCases() {
    auto table = [&](const std::string& name, const std::string& text, std::vector<std::string> needles) {
      const std::string path = in_ + "table-" + replaceAll(name, " ", "-") + ".json";
      writeBytes(path, text);
      needles.insert(needles.begin(), path);
      cases_.push_back({"label table: " + name,
                        "compare --a " + in_ + "truth.nii.gz --b " + in_ + "truth.nii.gz --label-map " + path +
                            " --json %O/c.json",
                        1,
                        needles,
                        {}});
    };
    table("default 300", R"({"default": 300, "map": {"1": 1}})", {"\"default\"", "0..255"});
    table("default -1", R"({"default": -1, "map": {"1": 1}})", {"\"default\""});
    table("default string", R"({"default": "x", "map": {"1": 1}})", {"\"default\"", "integer", "string"});
    table("default fraction", R"({"default": 1.5, "map": {}})", {"\"default\"", "integer"});
    table("target 300", R"({"map": {"1": 300}})", {"out of range"});
    table("target string", R"({"map": {"1": "two"}})", {"\"map.1\"", "integer", "string"});
    table("target fraction", R"({"map": {"1": 2.5}})", {"\"map.1\"", "integer"});
    table("target null", R"({"map": {"1": null}})", {"\"map.1\"", "null"});
    table("key not integer", R"({"map": {"one": 1}})", {"'one'", "not an integer"});
    table("key with suffix", R"({"map": {"1x": 1}})", {"'1x'", "not an integer"});
    table("key negative", R"({"map": {"-1": 1}})", {"out of range"});
    table("key 70000", R"({"map": {"70000": 1}})", {"out of range"});
    table("no map", R"({"name": "x"})", {"\"map\""});
    table("map is array", R"({"map": [1, 2]})", {"\"map\""});
    table("name not string", R"({"name": 5, "map": {}})", {"\"name\"", "string"});
    table("top-level array", R"([1, 2, 3])", {"JSON object"});
    table("syntax error", R"({"map": {"1": 1,}})", {"invalid JSON", "line 1"});
    table("empty file", "", {"invalid JSON"});
    table("binary garbage", std::string("\x89PNG\r\n\x1a\n", 8), {"invalid JSON"});
    cases_.push_back({"label table name unknown",
                      "compare --a " + in_ + "truth.nii.gz --b " + in_ + "truth.nii.gz --label-map no-such-table",
                      1,
                      {"no-such-table", "not found", "available"},
                      {}});
  }

  void metaImageAndNrrdCases() {
    writeImage(ct_, in_ + "ct.mhd");
    writeImage(ct_, in_ + "ct.mha");
    writeImage(ct_, in_ + "ct.nrrd");
    const std::string raw = readBytes(in_ + "ct.raw").empty() ? "ct.zraw" : "ct.raw";
    {
      // Uncompressed MetaImage pair with its own raw file, written by hand from our CT.
      std::ostringstream header;
      header << "ObjectType = Image\nNDims = 3\nDimSize = 20 20 12\nElementSpacing = 3 3 3\nElementType = MET_FLOAT\n"
                "ElementDataFile = plain.raw\n";
      std::string data(reinterpret_cast<const char*>(ct_.voxels.data()), ct_.voxels.size() * 4);
      writeBytes(in_ + "plain.mhd", header.str());
      writeBytes(in_ + "plain.raw", data);
      cases_.push_back({"metaimage pair (handled)",
                        "segment --model " + model_ + " --volume " + in_ + "plain.mhd --out %O/p.nii.gz --quiet",
                        0,
                        {},
                        {"p.nii.gz"}});
      writeBytes(in_ + "short.mhd", replaceAll(header.str(), "plain.raw", "short.raw"));
      writeBytes(in_ + "short.raw", data.substr(0, data.size() - 100));
      volumeCase("metaimage short raw file", in_ + "short.mhd", {"truncated", "short.raw"});
      writeBytes(in_ + "noraw.mhd", replaceAll(header.str(), "plain.raw", "missing.raw"));
      volumeCase("metaimage raw file missing", in_ + "noraw.mhd", {"missing.raw", "missing"});
      writeBytes(in_ + "dimzero.mhd", replaceAll(header.str(), "20 20 12", "20 0 12"));
      volumeCase("metaimage DimSize 0", in_ + "dimzero.mhd", {"DimSize"});
      writeBytes(in_ + "etype.mhd", replaceAll(header.str(), "MET_FLOAT", "MET_COMPLEX"));
      volumeCase("metaimage ElementType unknown", in_ + "etype.mhd", {"ElementType"});
      writeBytes(in_ + "nodata.mhd", "ObjectType = Image\nNDims = 3\nDimSize = 20 20 12\nElementType = MET_FLOAT\n");
      volumeCase("metaimage without ElementDataFile", in_ + "nodata.mhd", {"ElementDataFile"});
      writeBytes(in_ + "local.mha", header.str().substr(0, header.str().find("ElementDataFile")) +
                                        "ElementDataFile = LOCAL\n" + data.substr(0, data.size() / 3));
      volumeCase("metaimage LOCAL data short", in_ + "local.mha", {"truncated"});
      std::string nanData = data;
      put<float>(nanData, 40, std::numeric_limits<float>::quiet_NaN());
      writeBytes(in_ + "nan.mhd", replaceAll(header.str(), "plain.raw", "nan.raw"));
      writeBytes(in_ + "nan.raw", nanData);
      volumeCase("metaimage NaN voxel", in_ + "nan.mhd", {"NaN"});
      (void)raw;
    }
    {
      const std::string nrrd = readBytes(in_ + "ct.nrrd");
      writeBytes(in_ + "trunc.nrrd", nrrd.substr(0, nrrd.size() * 2 / 3));
      volumeCase("nrrd truncated", in_ + "trunc.nrrd", {"cannot read"});
      std::string data(reinterpret_cast<const char*>(ct_.voxels.data()), ct_.voxels.size() * 4);
      const std::string header =
          "NRRD0004\ntype: float\ndimension: 3\nsizes: 20 20 12\nspacings: 3 3 3\nendian: little\nencoding: raw\n\n";
      std::string nanData = data;
      put<float>(nanData, 0, std::numeric_limits<float>::quiet_NaN());
      writeBytes(in_ + "nan.nrrd", header + nanData);
      volumeCase("nrrd NaN voxel", in_ + "nan.nrrd", {"NaN"});
      writeBytes(in_ + "badtype.nrrd", replaceAll(header, "type: float", "type: banana") + data);
      volumeCase("nrrd unknown type", in_ + "badtype.nrrd", {"cannot read"});
      writeBytes(in_ + "badmagic.nrrd", "NRRX0004\n" + header.substr(9) + data);
      volumeCase("nrrd bad magic", in_ + "badmagic.nrrd", {"not a readable image"});
      writeBytes(in_ + "dim2.nrrd", replaceAll(replaceAll(replaceAll(header, "dimension: 3", "dimension: 2"),
                                                          "sizes: 20 20 12", "sizes: 20 240"),
                                               "spacings: 3 3 3", "spacings: 3 3") +
                                        data);
      volumeCase("nrrd 2D", in_ + "dim2.nrrd", {"2D"});
    }
    writeBytes(in_ + "unknown.xyz", "some bytes");
    volumeCase("unknown format", in_ + "unknown.xyz", {"not a readable image"});
  }

  void dicomSeries(const std::string& dir, int slices, const std::function<void(int, DicomSliceSpec&)>& change = {}) {
    fs::create_directories(dir);
    for (int k = 0; k < slices; ++k) {
      DicomSliceSpec s;
      s.position = {0, 0, 3.0 * k};
      s.instance = k + 1;
      if (change) change(k, s);
      writeDicomSlice(dir + "/slice" + std::to_string(k) + ".dcm", s);
    }
  }

  void dicomCases() {
    const std::string good = in_ + "dicom-good";
    dicomSeries(good, 12);
    cases_.push_back({"dicom series (handled)",
                      "segment --model " + model_ + " --volume " + good + " --out %O/p.nii.gz --quiet",
                      0,
                      {},
                      {"p.nii.gz"}});
    dicomSeries(in_ + "dicom-mixed", 12, [](int k, DicomSliceSpec& s) {
      if (k == 7) s.orientation = {0, 1, 0, 0, 0, -1};
    });
    volumeCase("dicom mixed orientation", in_ + "dicom-mixed", {"slice7.dcm", "orientation differs"});
    dicomSeries(in_ + "dicom-dup", 12, [](int k, DicomSliceSpec& s) {
      if (k == 5) s.position = {0, 0, 12.0};
    });
    volumeCase("dicom duplicate position", in_ + "dicom-dup", {"duplicate slice"});
    dicomSeries(in_ + "dicom-gap", 12, [](int k, DicomSliceSpec& s) {
      if (k >= 6) s.position = {0, 0, 3.0 * k + 9.0};
    });
    volumeCase("dicom missing slices", in_ + "dicom-gap", {"slice gap"});
    const std::string two = in_ + "dicom-two";
    dicomSeries(two, 12);
    for (int k = 0; k < 8; ++k) {
      DicomSliceSpec s;
      s.seriesUid = "1.2.826.0.1.3680043.2.1125.777.2";
      s.position = {0, 0, 1.5 + 3.0 * k};
      s.instance = k + 1;
      writeDicomSlice(two + "/other" + std::to_string(k) + ".dcm", s);
    }
    volumeCase("dicom two series", two, {"2 DICOM series", "--series", "777.1 (12 files", "777.2 (8 files"});
    cases_.push_back({"dicom two series, --series picks one (handled)",
                      "segment --model " + model_ + " --volume " + two +
                          " --series 1.2.826.0.1.3680043.2.1125.777.2 --out %O/p.nii.gz --quiet",
                      0,
                      {},
                      {"p.nii.gz"}});
    cases_.push_back({"dicom --series unknown",
                      "segment --model " + model_ + " --volume " + two + " --series 9.9.9 --out %O/p.nii.gz --quiet",
                      1,
                      {two, "no DICOM series 9.9.9"},
                      {}});
    // Every command that reads a --volume takes --series like segment (issue 13).
    const std::string base = " --model " + model_ + " --volume " + two;
    const std::string pick = " --series 1.2.826.0.1.3680043.2.1125.777.2";
    {
      // Ground truth on the picked series' grid, as the project's reader sees it (sweep needs labels).
      const ImageVolume picked = readImage(two, nullptr, "1.2.826.0.1.3680043.2.1125.777.2");
      LabelVolume t;
      t.geometry = picked.geometry;
      t.voxels.resize(picked.voxels.size());
      for (size_t i = 0; i < t.voxels.size(); ++i) t.voxels[i] = static_cast<uint8_t>(i % 3 == 0);
      writeLabelMap(t, in_ + "truth-dicom2.nii.gz");
    }
    cases_.push_back({"quantize: dicom two series",
                      "quantize" + base + " --calibration-patches 2 --json %O/q.json --quiet",
                      1,
                      {two, "2 DICOM series", "--series", "777.1 (12 files", "777.2 (8 files"},
                      {}});
    cases_.push_back({"quantize: dicom two series, --series picks one (handled)",
                      "quantize" + base + pick + " --calibration-patches 2 --json %O/q.json --quiet",
                      0,
                      {},
                      {"q.json"}});
    cases_.push_back({"quantize: --series unknown",
                      "quantize" + base + " --series 9.9.9 --json %O/q.json --quiet",
                      1,
                      {two, "no DICOM series 9.9.9", "777.1", "777.2"},
                      {}});
    cases_.push_back({"analyze: dicom two series",
                      "analyze" + base + " --calibration-patches 2 --json %O/a.json --quiet",
                      1,
                      {two, "2 DICOM series", "--series"},
                      {}});
    cases_.push_back({"analyze: dicom two series, --series picks one (handled)",
                      "analyze" + base + pick + " --calibration-patches 2 --json %O/a.json --quiet",
                      0,
                      {},
                      {"a.json"}});
    cases_.push_back({"analyze: --series unknown",
                      "analyze" + base + " --series 9.9.9 --json %O/a.json --quiet",
                      1,
                      {two, "no DICOM series 9.9.9", "777.1", "777.2"},
                      {}});
    cases_.push_back({"export-int8: dicom two series",
                      "export-int8" + base + " --calibration-patches 2 --out %O/m.pt --quiet",
                      1,
                      {two, "2 DICOM series", "--series"},
                      {}});
    cases_.push_back({"export-int8: dicom two series, --series picks one (handled)",
                      "export-int8" + base + pick + " --calibration-patches 2 --out %O/m.pt --quiet",
                      0,
                      {},
                      {"m.pt"}});
    cases_.push_back({"sweep: dicom two series, --series picks one (handled)",
                      "sweep --models " + model_ + " --volume " + two + " --labels " + in_ + "truth-dicom2.nii.gz" +
                          pick + " --precisions FP32 --out %O/t --quiet",
                      0,
                      {},
                      {"t.md", "t.csv", "t.json", "t.tex"}});
    cases_.push_back({"sweep: --series count differs from the volumes",
                      "sweep --models " + model_ + " --volume " + two + "," + in_ + "ct.nii.gz --labels " + in_ +
                          "truth-dicom2.nii.gz," + in_ +
                          "truth.nii.gz --series 1.2.3 --precisions FP32 --out %O/t --quiet",
                      1,
                      {"--series", "1 series UID(s) for 2 volume(s)"},
                      {}});
    cases_.push_back({"--series on a file",
                      "segment --model " + model_ + " --volume " + in_ +
                          "ct.nii.gz --series 1.2 --out %O/p.nii.gz --quiet",
                      1,
                      {"ct.nii.gz", "--series"},
                      {}});
    dicomSeries(in_ + "dicom-size", 12, [](int k, DicomSliceSpec& s) {
      if (k == 3) s.rows = 20;
    });
    volumeCase("dicom slice size differs", in_ + "dicom-size", {"slice3.dcm", "slice size"});
    const std::string pipe = in_ + "dicom-pipe";
    dicomSeries(pipe, 12);
    makeFifo(pipe + "/zz-pipe.dcm");
    volumeCase("dicom folder with a named pipe", pipe, {"zz-pipe.dcm", "named pipe"});
    fs::create_directories(in_ + "dicom-empty");
    volumeCase("dicom empty folder", in_ + "dicom-empty", {"no DICOM series"});
    fs::create_directories(in_ + "dicom-text");
    writeBytes(in_ + "dicom-text/readme.txt", "not dicom");
    volumeCase("folder without dicom", in_ + "dicom-text", {"no DICOM series"});
    dicomSeries(in_ + "dicom-one", 1);
    volumeCase("dicom single slice", in_ + "dicom-one", {"single slice"});
    {
      const std::string trunc = in_ + "dicom-trunc";
      dicomSeries(trunc, 12);
      const std::string bytes = readBytes(trunc + "/slice4.dcm");
      writeBytes(trunc + "/slice4.dcm", bytes.substr(0, bytes.size() - 300));
      volumeCase("dicom truncated slice", trunc, {"slice4.dcm", "truncated"});
    }
  }

  void modelCases() {
    auto modelCase = [&](const std::string& name, const std::string& path, std::vector<std::string> needles) {
      needles.insert(needles.begin(), path);
      cases_.push_back({name,
                        "segment --model " + quoted(path) + " --volume " + in_ +
                            "ct.nii.gz --out %O/p.nii.gz --json %O/r.json --quiet",
                        1,
                        needles,
                        {}});
    };
    writeBytes(in_ + "garbage.pt", "garbage");
    modelCase("model garbage", in_ + "garbage.pt", {});
    writeBytes(in_ + "empty.pt", "");
    modelCase("model empty file", in_ + "empty.pt", {});
    {
      std::string b = readBytes(model_);
      writeBytes(in_ + "cut.pt", b.substr(0, b.size() / 2));
      modelCase("model truncated", in_ + "cut.pt", {});
    }
    {
      test::writeBandModel(in_ + "two-out.pt", test::bandModelMetadata(16, 3.0), false, 2);
      modelCase("model with fewer output channels than classes", in_ + "two-out.pt", {"output shape", "3 classes"});
      test::writeBandModel(in_ + "five-out.pt", test::bandModelMetadata(16, 3.0), false, 5);
      modelCase("model with more output channels than classes", in_ + "five-out.pt", {"output shape", "3 classes"});
      nlohmann::json md = test::bandModelMetadata(16, 3.0);
      md["input_channels"] = 2;
      test::writeBandModel(in_ + "two-in.pt", md);
      modelCase("model fails in forward (torch reason kept)", in_ + "two-in.pt",
                {"failed", "RuntimeError", "channels"});
      test::writeNaNModel(in_ + "nan.pt", test::bandModelMetadata(16, 3.0));
      modelCase("model returns NaN", in_ + "nan.pt", {"NaN"});
    }
    auto metadataCase = [&](const std::string& name, const std::function<void(nlohmann::json&)>& change,
                            std::vector<std::string> needles) {
      nlohmann::json md = test::bandModelMetadata(16, 3.0);
      change(md);
      const std::string path = in_ + "md-" + std::to_string(cases_.size()) + ".pt";
      test::writeBandModel(path, md, true);
      needles.insert(needles.begin(), path.substr(0, path.size() - 3) + ".json");
      cases_.push_back({"model sidecar: " + name,
                        "segment --model " + path + " --volume " + in_ +
                            "ct.nii.gz --out %O/p.nii.gz --json %O/r.json --quiet",
                        1,
                        needles,
                        {}});
    };
    metadataCase("classes[1].id string", [](auto& m) { m["classes"][1]["id"] = "one"; },
                 {"classes[1].id", "integer", "string"});
    metadataCase("classes[2].name number", [](auto& m) { m["classes"][2]["name"] = 7; }, {"classes[2].name", "string"});
    metadataCase("input_channels string", [](auto& m) { m["input_channels"] = "one"; }, {"input_channels", "integer"});
    metadataCase("patch_size string entry", [](auto& m) { m["patch_size"][1] = "x"; }, {"patch_size[1]"});
    metadataCase("patch_size fraction", [](auto& m) { m["patch_size"][0] = 16.5; }, {"patch_size[0]", "integer"});
    metadataCase("patch_size too small", [](auto& m) { m["patch_size"] = {2, 2, 2}; }, {"patch_size"});
    metadataCase("target_spacing negative", [](auto& m) { m["target_spacing"][2] = -1; }, {"target_spacing"});
    metadataCase("target_spacing two entries", [](auto& m) { m["target_spacing"] = {1, 1}; }, {"target_spacing"});
    metadataCase("category unknown", [](auto& m) { m["category"] = "RNN"; }, {"category", "RNN"});
    metadataCase("name missing", [](auto& m) { m.erase("name"); }, {"\"name\""});
    metadataCase("architecture number", [](auto& m) { m["architecture"] = 3; }, {"\"architecture\"", "string"});
    metadataCase("orientation bad", [](auto& m) { m["orientation"] = "XYZ"; }, {"orientation"});
    metadataCase("orientation number", [](auto& m) { m["orientation"] = 1; }, {"\"orientation\"", "string"});
    metadataCase("preprocessing type unknown", [](auto& m) { m["preprocessing"]["type"] = "magic"; }, {"magic"});
    metadataCase("preprocessing clip empty", [](auto& m) { m["preprocessing"]["clip"] = {100, 0}; }, {"clip"});
    metadataCase("preprocessing mean string",
                 [](auto& m) {
                   m["preprocessing"] = {{"type", "zscore"}, {"mean", "zero"}};
                 },
                 {"preprocessing.mean", "number"});
    metadataCase("output.channels mismatch", [](auto& m) { m["output"]["channels"] = 5; }, {"output.channels"});
    metadataCase("output.channels string", [](auto& m) { m["output"]["channels"] = "3"; },
                 {"output.channels", "integer"});
    metadataCase("classes one entry", [](auto& m) { m["classes"] = nlohmann::json::array({m["classes"][0]}); },
                 {"classes"});
    metadataCase("class ids out of order",
                 [](auto& m) {
                   m["classes"][1]["id"] = 2;
                   m["classes"][2]["id"] = 1;
                 },
                 {"class ids"});
    {
      const std::string path = in_ + "md-syntax.pt";
      test::writeBandModel(path, test::bandModelMetadata(16, 3.0), true);
      writeBytes(in_ + "md-syntax.json", "{\"name\": ");
      cases_.push_back({"model sidecar with a JSON syntax error",
                        "segment --model " + path + " --volume " + in_ + "ct.nii.gz --out %O/p.nii.gz --quiet",
                        1,
                        {in_ + "md-syntax.json", "invalid JSON"},
                        {}});
    }
  }

  void calibrationCases() {
    // A valid calibration file of the band model, written by the CLI itself.
    const std::string good = in_ + "cal-good.json";
    const std::string cmd = "quantize --model " + model_ + " --volume " + in_ +
                            "ct.nii.gz --calibration-patches 2 --save-calibration " + good + " --quiet";
    const CliRun r = runCli(cmd);
    if (r.code != 0) throw std::runtime_error("cannot create the calibration file: " + r.out);
    const nlohmann::json base = nlohmann::json::parse(readBytes(good));
    auto calCase = [&](const std::string& name, const std::string& text, std::vector<std::string> needles) {
      const std::string path = in_ + "cal-" + std::to_string(cases_.size()) + ".json";
      writeBytes(path, text);
      needles.insert(needles.begin(), path);
      cases_.push_back({"calibration: " + name,
                        "quantize --model " + model_ + " --volume " + in_ +
                            "ct.nii.gz --calibration-patches 2 --calibration " + path +
                            " --out %O/q.nii.gz --json %O/q.json --quiet",
                        1,
                        needles,
                        {}});
    };
    auto mutated = [&](const std::function<void(nlohmann::json&)>& change) {
      nlohmann::json j = base;
      change(j);
      return j.dump();
    };
    calCase("syntax error", base.dump().substr(0, 40), {"invalid JSON"});
    calCase("empty", "", {"invalid JSON"});
    calCase("array", "[]", {"not a MedQuanBench calibration file"});
    calCase("format wrong", mutated([](auto& j) { j["format"] = "other"; }), {"not a MedQuanBench calibration file"});
    calCase("patches string", mutated([](auto& j) { j["patches"] = "two"; }), {"\"patches\"", "integer", "string"});
    calCase("seed negative", mutated([](auto& j) { j["seed"] = -1; }), {"\"seed\""});
    calCase("ops missing", mutated([](auto& j) { j.erase("ops"); }), {"\"ops\""});
    calCase("ops count", mutated([](auto& j) { j["ops"].erase(0); }), {"quantizable ops"});
    calCase("op name", mutated([](auto& j) { j["ops"][0]["name"] = "other.op"; }), {"other.op"});
    calCase("op name number", mutated([](auto& j) { j["ops"][1]["name"] = 4; }), {"ops[1].name", "string"});
    calCase("slot string", mutated([](auto& j) { j["ops"][0]["inputs"][0]["slot"] = "x"; }),
            {"ops[0].inputs[0].slot", "integer"});
    calCase("slot 5", mutated([](auto& j) { j["ops"][0]["inputs"][0]["slot"] = 5; }),
            {"ops[0].inputs[0].slot", "0 or 1"});
    calCase("per_tensor missing", mutated([](auto& j) { j["ops"][0]["inputs"][0].erase("per_tensor"); }),
            {"ops[0].inputs[0].per_tensor", "missing"});
    calCase("per_tensor wrong type inside",
            mutated([](auto& j) { j["ops"][0]["inputs"][0]["per_tensor"]["binsPerSide"] = "many"; }),
            {"ops[0].inputs[0].per_tensor"});
    calCase("inputs not array", mutated([](auto& j) { j["ops"][0]["inputs"] = 3; }), {"ops[0].inputs"});
  }

  void outputCases() {
    const std::string ct = in_ + "ct.nii.gz";
    segmentCase("--out is the --volume", "--out " + ct, 1, {ct, "is the input"});
    segmentCase("--json is the --model", "--json " + model_, 1, {model_, "is the input"});
    fs::create_hard_link(ct, in_ + "ct-hardlink.nii.gz");
    segmentCase("--out is a hard link of the volume", "--out " + in_ + "ct-hardlink.nii.gz", 1,
                {"ct-hardlink.nii.gz", "is the input"});
    fs::create_symlink(model_, in_ + "model-link.json");
    segmentCase("--json is a symlink to the model", "--json " + in_ + "model-link.json", 1,
                {"model-link.json", "is the input"});
    segmentCase("--out is a folder", "--out " + in_, 1, {"is a folder"});
    segmentCase("--json is a device", "--json /dev/null", 1, {"/dev/null", "character device"});
    makeFifo(in_ + "out-pipe.json");
    segmentCase("--json is a named pipe", "--json " + in_ + "out-pipe.json", 1, {"out-pipe.json", "named pipe"});
    segmentCase("--out with an unknown extension", "--out %O/pred.xyz", 1, {"pred.xyz", "unknown image format"});
    segmentCase("--out and --json the same file", "--out %O/same.nii.gz --json %O/same.nii.gz", 1,
                {"same.nii.gz", "two outputs"});
    segmentCase("--out below a file", "--out " + ct + "/pred.nii.gz", 1, {"cannot write"});
    segmentCase("--out in a new folder (handled)", "--out %O/new/deeper/pred.nii.gz --json %O/r.json", 0, {},
                {"new/deeper/pred.nii.gz", "r.json"});
    if (::geteuid() != 0) {
      fs::create_directories(in_ + "readonly");
      fs::permissions(in_ + "readonly", fs::perms::owner_read | fs::perms::owner_exec);
      segmentCase("--json in a read-only folder", "--out %O/p.nii.gz --json " + in_ + "readonly/r.json", 1,
                  {"readonly/r.json", "Permission denied"});
      cases_.push_back({"quantize: last output in a read-only folder",
                        "quantize --model " + model_ + " --volume " + ct +
                            " --calibration-patches 2 --out %O/q.nii.gz --fp32-out "
                            "%O/f.nii.gz --json %O/q.json --save-calibration " +
                            in_ + "readonly/cal.json --quiet",
                        1,
                        {"readonly/cal.json", "Permission denied"},
                        {}});
    }
    // export-int8 checks its output like the other commands, before loading anything.
    const std::string exportInt8 = "export-int8 --model " + model_ + " --volume " + ct +
                                   " --calibration-patches 2 --quiet ";
    cases_.push_back(
        {"export-int8: --out is the --model", exportInt8 + "--out " + model_, 1, {model_, "is the input"}, {}});
    cases_.push_back({"export-int8: --out is the --volume", exportInt8 + "--out " + ct, 1, {ct, "is the input"}, {}});
    cases_.push_back({"export-int8: --out is a folder", exportInt8 + "--out " + in_, 1, {"is a folder"}, {}});
    cases_.push_back({"export-int8: --out and --save-calibration the same file",
                      exportInt8 + "--out %O/m.pt --save-calibration %O/m.pt",
                      1,
                      {"m.pt", "two outputs"},
                      {}});
    cases_.push_back(
        {"export-int8: --out given twice", exportInt8 + "--out %O/a.pt --out %O/b.pt", 1, {"--out", "given twice"}, {}});
    cases_.push_back(
        {"export-int8: --out is a device", exportInt8 + "--out /dev/null", 1, {"/dev/null", "character device"}, {}});
    cases_.push_back({"export-int8: both outputs (handled)",
                      exportInt8 + "--out %O/m.pt --save-calibration %O/cal.json",
                      0,
                      {},
                      {"m.pt", "cal.json"}});
    if (::geteuid() != 0) {
      cases_.push_back({"export-int8: --out in a read-only folder",
                        exportInt8 + "--out " + in_ + "readonly/m.pt",
                        1,
                        {"readonly/m.pt", "Permission denied"},
                        {}});
      cases_.push_back({"export-int8: --save-calibration in a read-only folder",
                        exportInt8 + "--out %O/m.pt --save-calibration " + in_ + "readonly/cal.json",
                        1,
                        {"readonly/cal.json", "Permission denied"},
                        {}});
    }
    // A failure after the outputs were planned (a bad label map) writes none of them.
    cases_.push_back({"segment: bad labels after good outputs",
                      "segment --model " + model_ + " --volume " + ct + " --labels " + in_ +
                          "lab-frac.nii.gz --out %O/p.nii.gz --json %O/r.json --quiet",
                      1,
                      {"lab-frac.nii.gz", "non-integer"},
                      {}});
    cases_.push_back({"quantize: failing forward after outputs planned",
                      "quantize --model " + in_ + "two-in.pt --volume " + ct +
                          " --calibration-patches 2 --out %O/q.nii.gz --fp32-out "
                          "%O/f.nii.gz --json %O/q.json --save-calibration %O/cal.json --quiet",
                      1,
                      {"two-in.pt", "failed", "RuntimeError"},
                      {}});
    cases_.push_back({"phantom: --labels is a folder",
                      "phantom --out %O/p.nii.gz --labels " + in_ + " --size 16,16,16",
                      1,
                      {"is a folder"},
                      {}});
    cases_.push_back({"phantom: both outputs (handled)",
                      "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --size 16,16,16",
                      0,
                      {},
                      {"p.nii.gz", "l.nii.gz"}});
    cases_.push_back({"merge: --out prefix is the part",
                      "merge --parts " + in_ + "part.json --out " + in_ + "part",
                      1,
                      {"part.json", "is the input"},
                      {}});
    writeBytes(in_ + "part.json", "{\"rows\": 5}");
    cases_.push_back(
        {"merge: part is not a sweep result", "merge --parts " + in_ + "part.json --out %O/t", 1, {"part.json"}, {}});
    writeBytes(in_ + "part-syntax.json", "{");
    cases_.push_back({"merge: part with a syntax error",
                      "merge --parts " + in_ + "part-syntax.json --out %O/t",
                      1,
                      {"part-syntax.json", "invalid JSON"},
                      {}});
  }

  void inputTypeCases() {
    makeFifo(in_ + "pipe.nii.gz");
    volumeCase("--volume is a named pipe", in_ + "pipe.nii.gz", {"named pipe"});
    makeFifo(in_ + "pipe-model.pt");
    cases_.push_back({"--model is a named pipe",
                      "segment --model " + in_ + "pipe-model.pt --volume " + in_ + "ct.nii.gz --quiet",
                      1,
                      {"pipe-model.pt", "named pipe"},
                      {}});
    makeFifo(in_ + "pipe-labels.nii.gz");
    labelCase("--a is a named pipe", in_ + "pipe-labels.nii.gz", {"named pipe"});
    makeFifo(in_ + "pipe-cal.json");
    cases_.push_back({"--calibration is a named pipe",
                      "quantize --model " + model_ + " --volume " + in_ + "ct.nii.gz --calibration " + in_ +
                          "pipe-cal.json --quiet",
                      1,
                      {"pipe-cal.json", "named pipe"},
                      {}});
    makeFifo(in_ + "pipe-table.json");
    cases_.push_back({"--label-map is a named pipe",
                      "compare --a " + in_ + "truth.nii.gz --b " + in_ + "truth.nii.gz --label-map " + in_ +
                          "pipe-table.json",
                      1,
                      {"pipe-table.json", "named pipe"},
                      {}});
    volumeCase("--volume is /dev/zero", "/dev/zero", {"character device"});
    cases_.push_back({"--model is /dev/urandom",
                      "segment --model /dev/urandom --volume " + in_ + "ct.nii.gz --quiet",
                      1,
                      {"/dev/urandom", "character device"},
                      {}});
    makeSocket(in_ + "sock.nii");
    volumeCase("--volume is a socket", in_ + "sock.nii", {"socket"});
    volumeCase("--volume missing", in_ + "missing.nii.gz", {"file not found"});
    cases_.push_back({"--volume empty", "segment --model " + model_ + " --volume '' --quiet", 1, {"empty"}, {}});
    if (::geteuid() != 0) {
      writeImage(ct_, in_ + "unreadable.nii.gz");
      fs::permissions(in_ + "unreadable.nii.gz", fs::perms::none);
      volumeCase("--volume unreadable", in_ + "unreadable.nii.gz", {"Permission denied"});
    }
    fs::create_symlink(in_ + "nowhere.nii.gz", in_ + "dangling.nii.gz");
    volumeCase("--volume dangling symlink", in_ + "dangling.nii.gz", {"file not found"});
    fs::create_symlink(in_ + "pipe.nii.gz", in_ + "link-to-pipe.nii.gz");
    volumeCase("--volume symlink to a pipe", in_ + "link-to-pipe.nii.gz", {"named pipe"});
  }

  void optionCases() {
    auto opt = [&](const std::string& name, const std::string& args, std::vector<std::string> needles) {
      const bool hasQuiet = args.rfind("phantom", 0) != 0;  // phantom prints no progress
      cases_.push_back({"option: " + name, args + (hasQuiet ? " --quiet" : ""), 1, needles, {}});
    };
    const std::string seg = "segment --model " + model_ + " --volume " + in_ + "ct.nii.gz --out %O/p.nii.gz ";
    writeBytes(in_ + "cal-in.json", "{}");
    const std::string quant = "quantize --model " + model_ + " --volume " + in_ + "ct.nii.gz --out %O/q.nii.gz ";
    opt("--window-batch -5", seg + "--window-batch -5", {"--window-batch", ">= 1"});
    opt("--window-batch 0", seg + "--window-batch 0", {"--window-batch", ">= 1"});
    opt("--window-batch abc", seg + "--window-batch abc", {"--window-batch", "integer"});
    opt("--window-batch 2.5", seg + "--window-batch 2.5", {"--window-batch", "integer"});
    opt("--overlap 1.5", seg + "--overlap 1.5", {"--overlap"});
    opt("--overlap -0.1", seg + "--overlap -0.1", {"--overlap"});
    opt("--tolerance-mm -1", seg + "--tolerance-mm -1", {"--tolerance-mm"});
    opt("--tolerance-mm nan", seg + "--tolerance-mm nan", {"--tolerance-mm"});
    opt("--tolerance-mm inf", seg + "--tolerance-mm inf", {"--tolerance-mm"});
    opt("quantize --window-batch -5", quant + "--window-batch -5", {"--window-batch", ">= 1"});
    opt("--calibration-patches 0", quant + "--calibration-patches 0", {"--calibration-patches"});
    opt("--seed -1", quant + "--seed -1", {"--seed"});
    opt("--precision W9", quant + "--precision W9", {"W9"});
    opt("--precision W1A8", quant + "--precision W1A8", {"2..16"});
    opt("--granularity per-row", quant + "--granularity per-row", {"per-row"});
    opt("--calibrator magic", quant + "--calibrator magic", {"magic"});
    opt("--exclude unknown op", quant + "--exclude no.such.op", {"no.such.op"});
    opt("analyze --analysis-patches 0",
        "analyze --model " + model_ + " --volume " + in_ + "ct.nii.gz --json %O/a.json --analysis-patches 0",
        {"--analysis-patches"});
    opt("phantom --size 0,0,0", "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --size 0,0,0", {"--size"});
    opt("phantom --size 1,2", "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --size 1,2", {"--size"});
    opt("phantom --size 16,16,16x", "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --size 16,16,16x", {"--size"});
    opt("phantom --spacing 0", "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --spacing 0", {"--spacing"});
    opt("phantom --spacing 1e-300", "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --spacing 1e-300",
        {"--spacing", "1e-300"});
    opt("phantom --spacing 1e308", "phantom --out %O/p.nii.gz --labels %O/l.nii.gz --spacing 1e308",
        {"--spacing", "1e308"});
    opt("unknown option", seg + "--frobnicate 1", {"--frobnicate"});
    opt("--volume given twice", seg + "--volume " + in_ + "ct.nii", {"--volume", "given twice"});
    opt("quantize: --save-calibration is the --calibration",
        quant + "--calibration " + in_ + "cal-in.json --save-calibration " + in_ + "cal-in.json",
        {"cal-in.json", "is the input"});
    cases_.push_back({"option: missing value", seg + "--quiet --json", 1, {"--json", "needs a value"}, {}});
    opt("missing --volume", "segment --model " + model_, {"--volume"});
    opt("sweep volumes/labels mismatch",
        "sweep --models " + model_ + " --volume " + in_ + "ct.nii.gz," + in_ + "ct.nii --labels " + in_ +
            "truth.nii.gz --out %O/t",
        {"label map"});
    opt("sweep --shard 3/2",
        "sweep --models " + model_ + " --volume " + in_ + "ct.nii.gz --labels " + in_ +
            "truth.nii.gz --out %O/t --shard 3/2",
        {"--shard"});
  }

  std::string root_, in_, model_;
  ImageVolume ct_;
  LabelVolume truth_;
  std::vector<Case> cases_;
};

std::vector<std::string> filesUnder(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!it->is_directory()) files.push_back(fs::relative(it->path(), dir).string());
  return files;
}

}  // namespace

TEST(HostileInputCorpus, EveryCaseIsRefusedClearlyOrHandled) {
  const auto start = std::chrono::steady_clock::now();
  Corpus corpus;
  // MQB_CORPUS_CASES=word runs only the cases whose name contains it (while working on them).
  const char* only = std::getenv("MQB_CORPUS_CASES");
  std::vector<Case> cases;
  for (const Case& c : corpus.cases())
    if (!only || c.name.find(only) != std::string::npos) cases.push_back(c);
  if (!only) EXPECT_GE(cases.size(), 150u);
  std::vector<CliRun> runs(cases.size());
  {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < kParallelRuns; ++w)
      workers.emplace_back([&] {
        for (size_t i; (i = next++) < cases.size();) {
          const std::string outDir = corpus.root() + "/out/" + std::to_string(i);
          fs::create_directories(outDir);
          runs[i] = runCli(replaceAll(cases[i].args, "%O", outDir));
        }
      });
    for (auto& w : workers) w.join();
  }
  int clear = 0, handled = 0, crashes = 0, hangs = 0, leftovers = 0, unclear = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::string outDir = corpus.root() + "/out/" + std::to_string(i);
    const CliRun& r = runs[i];
    const auto files = filesUnder(outDir);
    const auto lines = test::nonEmptyLines(r.out);
    SCOPED_TRACE("case " + std::to_string(i) + " \"" + c.name + "\"\n" + replaceAll(c.args, "%O", outDir) + "\n" +
                 r.out);
    crashes += r.crash;
    hangs += r.hang;
    EXPECT_FALSE(r.crash);
    EXPECT_FALSE(r.hang);
    if (c.code == 0) {
      EXPECT_EQ(r.code, 0);
      bool all = r.code == 0 && files.size() == c.outputs.size();
      for (const auto& o : c.outputs) all = all && fs::exists(outDir + "/" + o);
      EXPECT_TRUE(all) << "outputs: " << files.size();
      handled += all;
      for (const auto& f : files)
        if (f.find(".tmp-") != std::string::npos) ++leftovers, ADD_FAILURE() << "temporary left: " << f;
      continue;
    }
    EXPECT_EQ(r.code, 1);
    leftovers += !files.empty();
    EXPECT_TRUE(files.empty()) << "left behind: " << (files.empty() ? "" : files.front());
    // One line of ours, nothing printed by a library around it.
    bool ok = r.code == 1 && lines.size() == 1 && lines[0].rfind("error: ", 0) == 0;
    for (const auto& n : c.needles) ok = ok && lines.size() == 1 && lines[0].find(n) != std::string::npos;
    EXPECT_TRUE(ok) << "expected one line \"error: ...\" with every one of the case's words";
    clear += ok;
    unclear += !ok;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "corpus: %zu cases, %d clear errors, %d handled, %d unclear, %d crashes, %d hangs, %d with outputs left (%.1f s)\n",
      cases.size(), clear, handled, unclear, crashes, hangs, leftovers, seconds);
  EXPECT_EQ(crashes, 0);
  EXPECT_EQ(hangs, 0);
  EXPECT_EQ(leftovers, 0);
  EXPECT_EQ(clear + handled, static_cast<int>(cases.size()));
}
