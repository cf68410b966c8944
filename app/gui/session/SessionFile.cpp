#include "SessionFile.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "AtomicFile.h"
#include "Error.h"

namespace fs = std::filesystem;

namespace mqb::gui {

std::string parentFolder(const std::string& path) {
  if (path.empty()) return {};
  return fs::absolute(fs::path(path)).parent_path().string();
}

std::string relativePath(const std::string& target, const std::string& base) {
  if (target.empty() || base.empty()) return {};
  std::error_code ec;
  const fs::path rel = fs::relative(fs::absolute(target), fs::absolute(base), ec);
  return ec ? std::string() : rel.string();
}

namespace {

nlohmann::json pathEntry(const std::string& p, const std::string& base) {
  if (p.empty()) return nullptr;
  nlohmann::json j = {{"path", fs::absolute(p).lexically_normal().string()}};
  const std::string rel = relativePath(p, base);
  if (!rel.empty()) j["relative"] = rel;
  return j;
}

std::string resolvePath(const nlohmann::json& j, const std::string& base) {
  if (j.is_null()) return {};
  if (j.is_string()) {  // hand-written sessions may give a plain string
    const fs::path p(j.get<std::string>());
    if (p.is_relative() && !base.empty()) return (fs::path(base) / p).lexically_normal().string();
    return p.string();
  }
  const std::string abs = j.value("path", "");
  const std::string rel = j.value("relative", "");
  if (!abs.empty() && fs::exists(abs)) return abs;
  if (!rel.empty() && !base.empty()) {
    const fs::path candidate = (fs::path(base) / rel).lexically_normal();
    if (fs::exists(candidate)) return candidate.string();
  }
  return abs;
}

}  // namespace

nlohmann::json SessionState::toJson(const std::string& sessionPath) const {
  const std::string base = parentFolder(sessionPath);
  nlohmann::json view = {{"orientation", this->view.orientation},
                         {"slice", this->view.slice},
                         {"window", this->view.window},
                         {"level", this->view.level},
                         {"zoom", this->view.zoom},
                         {"pan", {this->view.panX, this->view.panY}},
                         {"label_opacity", this->view.labelOpacity},
                         {"label_mode", this->view.labelMode},
                         {"hidden_labels", this->view.hiddenLabels},
                         {"show_difference", this->view.showDifference},
                         {"show_3d", this->view.show3d}};
  if (this->view.cursor) view["cursor"] = *this->view.cursor;
  return {{"format", "medquanbench-session"},
          {"version", 1},
          {"inputs",
           {{"model", pathEntry(model, base)},
            {"volume", pathEntry(volume, base)},
            {"labels", pathEntry(labels, base)},
            {"label_map", labelMap}}},
          {"quantization", settings.toJson()},
          {"nsd_tolerance_mm", toleranceMm},
          {"view", view}};
}

SessionState SessionState::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || j.value("format", "") != "medquanbench-session")
    throw Error(source + ": not a MedQuanBench session file (missing \"format\": \"medquanbench-session\")");
  if (j.value("version", 0) != 1)
    throw Error(source + ": unsupported session version " + j.value("version", nlohmann::json(0)).dump());
  const std::string base = parentFolder(source);
  SessionState s;
  try {
    if (j.contains("inputs")) {
      const auto& in = j["inputs"];
      if (in.contains("model")) s.model = resolvePath(in["model"], base);
      if (in.contains("volume")) s.volume = resolvePath(in["volume"], base);
      if (in.contains("labels")) s.labels = resolvePath(in["labels"], base);
      s.labelMap = in.value("label_map", "");
    }
    if (j.contains("quantization")) s.settings = QuantSettings::fromJson(j["quantization"]);
    s.toleranceMm = j.value("nsd_tolerance_mm", kDefaultNsdToleranceMm);
    if (j.contains("view")) {
      const auto& v = j["view"];
      s.view.orientation = v.value("orientation", "axial");
      if (s.view.orientation != "axial" && s.view.orientation != "coronal" && s.view.orientation != "sagittal")
        throw Error("view.orientation must be axial, coronal or sagittal, not '" + s.view.orientation + "'");
      s.view.slice = v.value("slice", -1);
      s.view.window = v.value("window", 350.0);
      s.view.level = v.value("level", 40.0);
      s.view.zoom = v.value("zoom", 1.0);
      if (v.contains("pan")) {
        s.view.panX = v["pan"].at(0).get<double>();
        s.view.panY = v["pan"].at(1).get<double>();
      }
      s.view.labelOpacity = v.value("label_opacity", 0.5);
      s.view.labelMode = v.value("label_mode", "fill");
      if (s.view.labelMode != "fill" && s.view.labelMode != "outline")
        throw Error("view.label_mode must be fill or outline, not '" + s.view.labelMode + "'");
      s.view.hiddenLabels = v.value("hidden_labels", std::vector<int>{});
      s.view.showDifference = v.value("show_difference", true);
      s.view.show3d = v.value("show_3d", false);
      if (v.contains("cursor") && !v["cursor"].is_null()) s.view.cursor = v["cursor"].get<std::array<int, 3>>();
    }
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(source + ": invalid session: " + e.what());
  }
  if (!(s.toleranceMm >= 0)) throw Error(source + ": nsd_tolerance_mm must be >= 0");
  return s;
}

void SessionState::save(const std::string& path) const {
  writeTextFileAtomically(path, toJson(path).dump(2) + "\n");
}

SessionState SessionState::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open session file");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  return fromJson(j, path);
}

}  // namespace mqb::gui
