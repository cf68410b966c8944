#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "BandCase.h"
#include "CommandRun.h"
#include "demo/Phantom.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "io/VolumeIO.h"

namespace fs = std::filesystem;
using namespace mqb;

namespace {

using CliRun = test::CommandRun;

CliRun cli(const std::string& args) { return test::runCommand(std::string(MQB_CLI) + " " + args); }

int lineCount(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

using test::BandCase;
using test::makeBandCase;

}  // namespace

TEST(Cli, VersionAndHelp) {
  CliRun v = cli("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("medquanbench-cli "), std::string::npos);
  for (const char* sub : {"segment", "compare", "inspect", "phantom"}) {
    CliRun h = cli(std::string(sub) + " --help");
    EXPECT_EQ(h.code, 0) << sub;
    EXPECT_NE(h.out.find("usage: medquanbench-cli " + std::string(sub)), std::string::npos) << h.out;
  }
  EXPECT_NE(cli("frobnicate").code, 0);
}

TEST(Cli, SegmentWritesPredictionTableAndJson) {
  BandCase c = makeBandCase();
  const std::string pred = c.dir + "/pred.nii.gz", json = c.dir + "/report.json";
  CliRun r = cli("segment --model " + c.model + " --volume " + c.ct + " --labels " + c.truth + " --out " + pred +
                 " --json " + json + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("mean"), std::string::npos);
  EXPECT_NE(r.out.find("NSD@2mm"), std::string::npos);
  LabelVolume p = readLabelMap(pred);
  LabelVolume t = readLabelMap(c.truth);
  EXPECT_EQ(p.voxels, t.voxels);  // pointwise model, same spacing: exact
  nlohmann::json j = nlohmann::json::parse(std::ifstream(json));
  for (const char* key : {"model", "volume", "organs", "mean_dsc", "mean_nsd", "tolerance_mm", "seconds"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_DOUBLE_EQ(j["mean_dsc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["tolerance_mm"].get<double>(), 2.0);
  ASSERT_EQ(j["organs"].size(), 2u);
  EXPECT_EQ(j["organs"][0]["name"], "low");
}

TEST(Cli, CompareGivesTheSameKeys) {
  BandCase c = makeBandCase();
  const std::string json = c.dir + "/cmp.json";
  CliRun r = cli("compare --a " + c.truth + " --b " + c.truth + " --tolerance-mm 1.5 --json " + json);
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(std::ifstream(json));
  EXPECT_DOUBLE_EQ(j["mean_dsc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["mean_nsd"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["tolerance_mm"].get<double>(), 1.5);
}

TEST(Cli, BadInputFailsWithOneLineAndWritesNothing) {
  BandCase c = makeBandCase();
  const std::string out = c.dir + "/never.nii.gz", json = c.dir + "/never.json";
  auto expectClean = [&](const std::string& args, const std::string& needle) {
    CliRun r = cli(args + " --out " + out + " --json " + json + " --quiet");
    EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("error: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
    EXPECT_LE(lineCount(r.out), 2) << r.out;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(json));
  };
  // Not a model.
  std::ofstream(c.dir + "/fake.pt") << "garbage";
  expectClean("segment --model " + c.dir + "/fake.pt --volume " + c.ct, "fake.pt");
  // Missing volume.
  expectClean("segment --model " + c.model + " --volume " + c.dir + "/missing.nii.gz", "missing.nii.gz");
  // Label map on another grid.
  PhantomOptions o;
  o.size = {20, 20, 20};
  writeLabelMap(generateAbdominalPhantom(o).labels, c.dir + "/other.nii.gz");
  expectClean("segment --model " + c.model + " --volume " + c.ct + " --labels " + c.dir + "/other.nii.gz",
              "other.nii.gz");
  // Unknown option and bad number.
  expectClean("segment --model " + c.model + " --volume " + c.ct + " --frobnicate 1", "--frobnicate");
  expectClean("segment --model " + c.model + " --volume " + c.ct + " --tolerance-mm abc", "tolerance-mm");
}

TEST(Cli, PhantomCommandWritesVolumeAndLabels) {
  const std::string dir = test::tempDir();
  CliRun r = cli("phantom --out " + dir + "/p.nii.gz --labels " + dir + "/l.nii.gz --size 40,36,20 --seed 3");
  ASSERT_EQ(r.code, 0) << r.out;
  ImageVolume v = readImage(dir + "/p.nii.gz");
  EXPECT_EQ(v.geometry.size, (std::array<int64_t, 3>{40, 36, 20}));
}

TEST(Cli, SegmentsRealCtAndDicomWithGroundTruth) {
  MQB_REQUIRE_DATA(dicom, "abdomen-ct/example_ct_dicom");
  MQB_REQUIRE_DATA(seg, "abdomen-ct/example_seg_dicom.nii.gz");
  // The band model is no organ segmenter; this checks the real-data plumbing end to end
  // (JPEG2000 DICOM, flipped label NIfTI, remap table, anisotropic resampling).
  const std::string dir = test::tempDir();
  test::writeBandModel(dir + "/band.pt", test::bandModelMetadata(32, 3.0));
  CliRun r = cli("segment --model " + dir + "/band.pt --volume " + dicom + " --labels " + seg +
                 " --label-map totalsegmentator-to-btcv --out " + dir + "/pred.nii.gz --json " + dir +
                 "/r.json --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  LabelVolume p = readLabelMap(dir + "/pred.nii.gz");
  EXPECT_EQ(p.geometry.size, (std::array<int64_t, 3>{512, 512, 20}));
}

namespace {
nlohmann::json readJson(const std::string& path) { return nlohmann::json::parse(std::ifstream(path)); }
std::string readText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
}  // namespace

TEST(CliQuantization, QuantizeReportsConfigAgreementAndDrop) {
  BandCase c = makeBandCase();
  const std::string json = c.dir + "/q.json";
  CliRun r = cli("quantize --model " + c.model + " --volume " + c.ct + " --labels " + c.truth +
                 " --precision W8A8 --granularity adaptive --calibration-patches 4 --json " + json + " --out " +
                 c.dir + "/q.nii.gz --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("agreement"), std::string::npos);
  nlohmann::json j = readJson(json);
  EXPECT_EQ(j["config"]["precision"], "W8A8");
  EXPECT_EQ(j["config"]["granularity"], "adaptive");
  EXPECT_GE(j["agreement"]["mean_dsc"].get<double>(), 0.98);
  for (const char* key : {"organs", "mean_dsc", "mean_nsd", "tolerance_mm", "fp32"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(fs::exists(c.dir + "/q.nii.gz"));
}

TEST(CliQuantization, BadQuantizationOptionsAreClearErrors) {
  BandCase c = makeBandCase();
  auto expectError = [&](const std::string& extra, const std::string& needle) {
    CliRun r = cli("quantize --model " + c.model + " --volume " + c.ct + " " + extra + " --json " + c.dir +
                   "/x.json --quiet");
    EXPECT_EQ(r.code, 1) << extra << "\n" << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(c.dir + "/x.json"));
  };
  expectError("--precision W4", "unknown precision");
  expectError("--precision W1A8", "2..16");
  expectError("--precision W8A17", "2..16");
  expectError("--granularity per-row", "unknown granularity");
  expectError("--calibrator magic", "magic");
  expectError("--exclude no.such.op", "no.such.op");
}

TEST(CliQuantization, AnalyzeWritesLayerJson) {
  BandCase c = makeBandCase();
  const std::string json = c.dir + "/layers.json";
  CliRun r = cli("analyze --model " + c.model + " --volume " + c.ct +
                 " --precision W4A4 --granularity per-tensor "
                 "--calibration-patches 4 --keep-fp32 1 --json " +
                 json + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = readJson(json);
  ASSERT_EQ(j["ops"].size(), 2u);
  EXPECT_EQ(j["ops"][0]["inputs"][0]["levels"].size(), 15u);
  EXPECT_EQ(j["keep_fp32"]["config"]["excluded_ops"].size(), 1u);
}

TEST(CliQuantization, ShardedSweepMergesToTheUnshardedTable) {
  BandCase c = makeBandCase();
  const std::string mixed = c.dir + "/mixed.pt";
  test::writeMixedOpsModel(mixed);
  const std::string common =
      "sweep --models " + c.model + "," + mixed + " --volume " + c.ct + " --labels " + c.truth +
      " --precisions FP32,W8A8,W3A3 --granularities per-tensor,adaptive --calibration-patches 4 --quiet";
  CliRun full = cli(common + " --out " + c.dir + "/full");
  ASSERT_EQ(full.code, 0) << full.out;
  for (const char* ext : {".md", ".csv", ".json", ".tex"}) EXPECT_TRUE(fs::exists(c.dir + "/full" + ext)) << ext;
  std::string parts;
  for (int i = 0; i < 3; ++i) {
    CliRun s = cli(common + " --shard " + std::to_string(i) + "/3 --out " + c.dir + "/part" + std::to_string(i));
    ASSERT_EQ(s.code, 0) << s.out;
    parts += (i ? "," : "") + c.dir + "/part" + std::to_string(i) + ".json";
  }
  // A missing shard is reported, not silently merged.
  CliRun incomplete = cli("merge --parts " + c.dir + "/part0.json," + c.dir + "/part1.json --out " + c.dir + "/bad");
  EXPECT_EQ(incomplete.code, 1);
  EXPECT_NE(incomplete.out.find("missing"), std::string::npos) << incomplete.out;
  CliRun merged = cli("merge --parts " + parts + " --out " + c.dir + "/merged");
  ASSERT_EQ(merged.code, 0) << merged.out;
  EXPECT_EQ(readText(c.dir + "/merged.md"), readText(c.dir + "/full.md"));
  EXPECT_EQ(readText(c.dir + "/merged.tex"), readText(c.dir + "/full.tex"));
  nlohmann::json t = readJson(c.dir + "/full.json");
  ASSERT_EQ(t["rows"].size(), 10u);  // per model: FP32 + 2 precisions x 2 granularities
  EXPECT_EQ(t["rows"][0]["cells"][4], "FP32");
  EXPECT_EQ(t["rows"][0]["cells"][5], "--");
  EXPECT_EQ(t["rows"][1]["cells"][4], "INT W8A8");
  EXPECT_EQ(t["rows"][2]["cells"][5], "Adaptive stratification");
  const std::string md = readText(c.dir + "/full.md");
  EXPECT_NE(
      md.find("| Framework | Architecture | Category | Param | Precision | Quant-Granularity | DSC (↓Δ%) | NSD (↓Δ%) |"),
      std::string::npos);
  EXPECT_NE(md.find("1.000 (--)"), std::string::npos);
}

TEST(Cli, InspectListsMetadataAndQuantizableOps) {
  const std::string dir = test::tempDir();
  test::writeMixedOpsModel(dir + "/mixed.pt");
  CliRun r = cli("inspect --model " + dir + "/mixed.pt");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("quantizable ops: 10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("attn.matmul_1"), std::string::npos);
  EXPECT_NE(r.out.find("16x8x2x2x2"), std::string::npos);
  CliRun j = cli("inspect --json --model " + dir + "/mixed.pt");
  ASSERT_EQ(j.code, 0);
  nlohmann::json parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["quantizable_ops"].size(), 10u);
  EXPECT_EQ(parsed["quantizable_ops"][8]["kind"], "conv_transpose");
}

TEST(CliQuantization, CoverageIsReportedByInspectQuantizeAndSweep) {
  BandCase c = makeBandCase();
  CliRun i = cli("inspect --model " + c.model);
  ASSERT_EQ(i.code, 0) << i.out;
  EXPECT_NE(i.out.find("coverage:       2/2 contractions quantizable (100.0 % of the MACs per patch)"), std::string::npos)
      << i.out;
  EXPECT_NE(i.out.find("axis order:     zyx"), std::string::npos) << i.out;
  const std::string json = c.dir + "/cov.json";
  CliRun q = cli("quantize --model " + c.model + " --volume " + c.ct +
                 " --precision W8A8 --granularity per-tensor"
                 " --exclude conv_1 --calibration-patches 2 --json " +
                 json + " --quiet");
  ASSERT_EQ(q.code, 0) << q.out;
  const nlohmann::json cov = readJson(json)["coverage"];
  EXPECT_EQ(cov["contractions"], 2);
  EXPECT_EQ(cov["quantized"], 1);
  ASSERT_EQ(cov["fp32"].size(), 1u);
  EXPECT_EQ(cov["fp32"][0]["name"], "conv_1");
  EXPECT_EQ(cov["fp32"][0]["reason"], "excluded (--exclude or keep-k most sensitive)");
  // 16^3 voxels: 2 x 1 MACs per voxel in the first conv, 3 x 2 in the second.
  EXPECT_EQ(cov["macs_per_patch"], 16 * 16 * 16 * (2 + 6));
  CliRun s = cli("sweep --models " + c.model + " --volume " + c.ct + " --labels " + c.truth +
                 " --precisions FP32,W8A8 --granularities per-tensor"
                 " --calibration-patches 2 --quiet --out " +
                 c.dir + "/cov-table");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(readText(c.dir + "/cov-table.md").find("2/2 contractions quantized (100.0 % of the MACs per patch)"),
            std::string::npos);
  EXPECT_EQ(readJson(c.dir + "/cov-table.json")["rows"][1]["coverage"],
            "2/2 contractions quantized (100.0 % of the MACs per patch)");
}

namespace {

// Starts the CLI in the background (output to `log`) and returns its pid.
pid_t startCli(const std::vector<std::string>& args, const std::string& log,
               const std::vector<std::pair<std::string, std::string>>& env = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    FILE* f = std::fopen(log.c_str(), "w");
    dup2(fileno(f), STDOUT_FILENO);
    dup2(fileno(f), STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(MQB_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(MQB_CLI, argv.data());
    _exit(127);
  }
  return pid;
}

// Waits until the process catches `signal` (its SigCgt mask in /proc): before main installed
// the watcher, a signal still has its default action and kills it (start-up takes seconds on a
// loaded machine). False after `seconds`.
bool waitUntilCatching(pid_t pid, int signal, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("SigCgt:", 0) != 0) continue;
      const unsigned long long caught = std::stoull(line.substr(7), nullptr, 16);
      if (caught & (1ull << (signal - 1))) return true;
    }
    usleep(20000);
  }
  return false;
}

// Exit code after waiting at most `seconds` (-1 when still running: then it is killed).
int waitFor(pid_t pid, double seconds, double* waited) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      *waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      *waited = seconds;
      return -1;
    }
    usleep(10000);
  }
}

// A segmentation that runs for many seconds: the mixed-ops model over a 128^3 grid at its spacing.
struct LongRun {
  std::string dir, model, ct, out;
};
LongRun makeLongRun() {
  LongRun r;
  r.dir = test::tempDir();
  r.model = r.dir + "/mixed.pt";
  test::writeMixedOpsModel(r.model);
  ImageVolume v;
  v.geometry.size = {128, 128, 128};
  v.geometry.spacing = {2, 2, 2};
  v.voxels.assign(static_cast<size_t>(v.geometry.voxelCount()), 40.0f);
  for (size_t i = 0; i < v.voxels.size(); i += 7) v.voxels[i] = 200.0f;
  r.ct = r.dir + "/big.nii";
  writeImage(v, r.ct);
  r.out = r.dir + "/out";
  fs::create_directories(r.out);
  return r;
}

void expectEndsWithinTwoSecondsLeavingNothing(const LongRun& r, const std::vector<std::string>& args, int signal) {
  const std::string log = r.dir + "/log.txt";
  const pid_t pid = startCli(args, log);
  if (!waitUntilCatching(pid, signal, 60.0)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "the CLI never installed its signal watcher: " << readText(log);
  }
  // Let it load and start working; the run takes far longer (exit 130, not 0, shows the
  // signal landed mid-work).
  usleep(1500000);
  kill(pid, signal);
  double waited = 0;
  const int code = waitFor(pid, 10.0, &waited);
  EXPECT_EQ(code, 130) << readText(log);
  EXPECT_LT(waited, 2.0) << "seconds from the signal to the exit";
  std::printf("exit %d %.3f s after signal %d\n", code, waited, signal);
  EXPECT_TRUE(fs::is_empty(r.out)) << "outputs or temporaries left in " << r.out;
  EXPECT_NE(readText(log).find("cancelled; nothing was written"), std::string::npos) << readText(log);
}

}  // namespace

TEST(CliSignals, SigtermEndsSegmentWithinTwoSecondsAndWritesNothing) {
  LongRun r = makeLongRun();
  expectEndsWithinTwoSecondsLeavingNothing(r,
                                           {"segment", "--model", r.model, "--volume", r.ct, "--out",
                                            r.out + "/p.nii.gz", "--json", r.out + "/r.json", "--quiet"},
                                           SIGTERM);
}

TEST(CliSignals, SigintEndsQuantizeWithinTwoSecondsAndWritesNothing) {
  LongRun r = makeLongRun();
  expectEndsWithinTwoSecondsLeavingNothing(r,
                                           {"quantize", "--model", r.model, "--volume", r.ct, "--calibration-patches",
                                            "4", "--out", r.out + "/q.nii.gz", "--fp32-out", r.out + "/f.nii.gz",
                                            "--json", r.out + "/q.json", "--save-calibration", r.out + "/cal.json",
                                            "--quiet"},
                                           SIGINT);
}

namespace {

// One window whose forward takes seconds (24+ convolutions at 64^3), and a watcher grace
// period of 10 s: an exit 130 within 2 s of the signal can only come from the job stopping
// inside the forward (model loading's test forward or the window), not from the watcher's
// hard exit, which would also print kHardStopMessage.
void expectSoftStopInsideTheForward(const std::string& command) {
  const std::string dir = test::tempDir();
  const std::string model = dir + "/chain.pt", ct = dir + "/one-window.nii", out = dir + "/out";
  test::writeConvChainModel(model, 64, 16, 64);
  ImageVolume v;
  v.geometry.size = {48, 48, 48};
  v.geometry.spacing = {2, 2, 2};
  v.voxels.assign(static_cast<size_t>(v.geometry.voxelCount()), 40.0f);
  writeImage(v, ct);
  fs::create_directories(out);
  std::vector<std::string> args{command, "--model", model, "--volume", ct, "--quiet"};
  if (command == "export-int8") {
    // Its work after loading is calibration (two forwards of seconds each, with the
    // statistics of every op input) and the INT8 build; no file may appear either way.
    args.insert(args.end(), {"--out", out + "/model-int8.pt"});
  } else {
    args.insert(args.end(), {"--out", out + "/labels.nii.gz", "--json", out + "/report.json"});
  }
  if (command == "quantize" || command == "export-int8")
    args.insert(args.end(), {"--calibration-patches", "2", "--save-calibration", out + "/cal.json"});
  const std::string log = dir + "/log.txt";
  const pid_t pid = startCli(args, log, {{"MQB_CLI_GRACE_MS", "10000"}});
  if (!waitUntilCatching(pid, SIGINT, 60.0)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "the CLI never installed its signal watcher: " << readText(log);
  }
  usleep(1500000);  // inside loading's test forward or the window's (each takes > 3 s)
  kill(pid, SIGINT);
  double waited = 0;
  const int code = waitFor(pid, 15.0, &waited);
  const std::string text = readText(log);
  EXPECT_EQ(code, 130) << text;
  EXPECT_LT(waited, 2.0) << "seconds from the signal to the exit";
  std::printf("%s: exit %d %.3f s after SIGINT\n", command.c_str(), code, waited);
  EXPECT_NE(text.find("cancelled; nothing was written"), std::string::npos) << text;
  EXPECT_EQ(text.find("did not stop in time"), std::string::npos) << "the watcher's hard exit ended it:\n" << text;
  EXPECT_TRUE(fs::is_empty(out)) << "outputs or temporaries left in " << out;
}

}  // namespace

TEST(CliSignals, SigintInsideALongForwardEndsSegmentWithinTwoSecondsWithoutTheHardExit) {
  expectSoftStopInsideTheForward("segment");
}

TEST(CliSignals, SigintInsideALongForwardEndsQuantizeWithinTwoSecondsWithoutTheHardExit) {
  expectSoftStopInsideTheForward("quantize");
}

TEST(CliSignals, SigintDuringExportInt8EndsWithinTwoSecondsWithoutTheHardExitAndWritesNothing) {
  expectSoftStopInsideTheForward("export-int8");
}

TEST(CliSignals, NamedPipeVolumeIsRefusedWithoutReading) {
  const std::string dir = test::tempDir();
  test::writeBandModel(dir + "/band.pt", test::bandModelMetadata(16, 3.0));
  ASSERT_EQ(mkfifo((dir + "/ct.nii.gz").c_str(), 0644), 0);
  const auto start = std::chrono::steady_clock::now();
  CliRun r = cli("segment --model " + dir + "/band.pt --volume " + dir + "/ct.nii.gz --quiet");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("ct.nii.gz: is a named pipe"), std::string::npos) << r.out;
  EXPECT_LT(seconds, 10.0);
}
