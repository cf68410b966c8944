#include "demo/DemoData.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "demo/Phantom.h"
#include "support/Resources.h"
#include "io/VolumeIO.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

// The public example CT the sample-data folder holds (TotalSegmentator test files, Apache-2.0).
constexpr const char* kExampleBase = "https://github.com/wasserth/TotalSegmentator/raw/master/tests/reference_files/";

bool tryDownload(const std::string& url, const fs::path& target) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) return false;
  const fs::path temp = target.string() + ".part";
  const std::string cmd = "curl -fsSL --connect-timeout 5 --max-time 60 -o '" + temp.string() + "' '" + url +
                          "' >/dev/null 2>&1";
  std::error_code ec;
  if (std::system(cmd.c_str()) != 0) {
    fs::remove(temp, ec);
    return false;
  }
  fs::rename(temp, target, ec);
  return !ec;
}

}  // namespace

std::string defaultCacheDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "medquanbench").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "medquanbench").string();
  return (fs::temp_directory_path() / "medquanbench-cache").string();
}

DemoVolume resolveDemoVolume(const std::string& userPath, const std::string& cacheDir) {
  std::error_code ec;
  if (!userPath.empty()) return {userPath, "", "", "user"};
  const fs::path sample = fs::path(sampleDataDir()) / "abdomen-ct";
  if (fs::exists(sample / "example_ct.nii.gz", ec))
    return {(sample / "example_ct.nii.gz").string(), (sample / "example_seg_fast_force_split.nii.gz").string(),
            "totalsegmentator-to-btcv", "sample data"};
  const fs::path cache(cacheDir);
  fs::create_directories(cache, ec);
  const fs::path ct = cache / "example_ct.nii.gz", seg = cache / "example_seg_fast_force_split.nii.gz";
  const fs::path failedMarker = cache / "download-failed";
  if (!fs::exists(ct, ec) && !fs::exists(failedMarker, ec)) {
    const bool ok = tryDownload(std::string(kExampleBase) + "example_ct.nii.gz", ct) &&
                    tryDownload(std::string(kExampleBase) + "example_seg_fast_force_split.nii.gz", seg);
    if (!ok) {
      fs::remove(ct, ec);
      fs::remove(seg, ec);
      // Offline machines should not wait for the network at every start; deleting the
      // marker retries the download.
      std::ofstream(failedMarker) << "download of the example CT failed; delete this file to retry\n";
    }
  }
  if (fs::exists(ct, ec) && fs::exists(seg, ec))
    return {ct.string(), seg.string(), "totalsegmentator-to-btcv", "download"};
  const fs::path pct = cache / "phantom_ct.nii.gz", plab = cache / "phantom_labels.nii.gz";
  if (!fs::exists(pct, ec) || !fs::exists(plab, ec)) {
    Phantom p = generateAbdominalPhantom();
    writeImage(p.ct, pct.string());
    writeLabelMap(p.labels, plab.string());
  }
  return {pct.string(), plab.string(), "", "phantom"};
}

std::vector<std::string> bundledModels() {
  std::vector<std::string> models;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(bundledModelDir(), ec))
    if (e.path().extension() == ".pt") models.push_back(e.path().string());
  std::sort(models.begin(), models.end());
  return models;
}

}  // namespace mqb
