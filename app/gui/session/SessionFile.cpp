#include "SessionFile.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/AtomicFile.h"
#include "support/Error.h"
#include "support/FileChecks.h"
#include "support/JsonField.h"

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
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != "medquanbench-session")
    throw Error(source + ": not a MedQuanBench session file (missing \"format\": \"medquanbench-session\")");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != 1)
    throw Error(source + ": unsupported session version " + (j.contains("version") ? j["version"].dump() : "(none)"));
  const std::string base = parentFolder(source);
  SessionState s;
  try {
    if (j.contains("inputs")) {
      const auto& in = j["inputs"];
      if (!in.is_object()) throw Error(source + ": field \"inputs\" must be an object");
      for (const char* key : {"model", "volume", "labels"})
        if (in.contains(key) && !in[key].is_null() && !in[key].is_string() &&
            !(in[key].is_object() && (!in[key].contains("path") || in[key]["path"].is_string()) &&
              (!in[key].contains("relative") || in[key]["relative"].is_string())))
          throw Error(source + ": field \"inputs." + key + "\" must be a path or {\"path\": ..., \"relative\": ...}");
      if (in.contains("model")) s.model = resolvePath(in["model"], base);
      if (in.contains("volume")) s.volume = resolvePath(in["volume"], base);
      if (in.contains("labels")) s.labels = resolvePath(in["labels"], base);
      s.labelMap = jsonValue<std::string>(in, "label_map", "", source, "inputs");
    }
    if (j.contains("quantization")) s.settings = quant::QuantConfig::fromJson(j["quantization"]);
    s.toleranceMm = jsonValue<double>(j, "nsd_tolerance_mm", kDefaultNsdToleranceMm, source);
    if (j.contains("view")) {
      const auto& v = j["view"];
      if (!v.is_object()) throw Error(source + ": field \"view\" must be an object");
      s.view.orientation = jsonValue<std::string>(v, "orientation", "axial", source, "view");
      if (s.view.orientation != "axial" && s.view.orientation != "coronal" && s.view.orientation != "sagittal")
        throw Error(source + ": view.orientation must be axial, coronal or sagittal, not '" + s.view.orientation + "'");
      s.view.slice = jsonValue<int>(v, "slice", -1, source, "view");
      s.view.window = jsonValue<double>(v, "window", 350.0, source, "view");
      s.view.level = jsonValue<double>(v, "level", 40.0, source, "view");
      s.view.zoom = jsonValue<double>(v, "zoom", 1.0, source, "view");
      if (!(s.view.zoom > 0) || !std::isfinite(s.view.zoom) || !std::isfinite(s.view.window) ||
          !std::isfinite(s.view.level))
        throw Error(source + ": view.zoom, view.window and view.level must be finite (zoom > 0)");
      if (v.contains("pan")) {
        if (!v["pan"].is_array() || v["pan"].size() != 2)
          throw Error(source + ": field \"view.pan\" must be an array of 2 numbers");
        s.view.panX = jsonAs<double>(v["pan"][0], source, "view.pan[0]");
        s.view.panY = jsonAs<double>(v["pan"][1], source, "view.pan[1]");
      }
      s.view.labelOpacity = jsonValue<double>(v, "label_opacity", 0.5, source, "view");
      s.view.labelMode = jsonValue<std::string>(v, "label_mode", "fill", source, "view");
      if (s.view.labelMode != "fill" && s.view.labelMode != "outline")
        throw Error(source + ": view.label_mode must be fill or outline, not '" + s.view.labelMode + "'");
      if (v.contains("hidden_labels")) {
        if (!v["hidden_labels"].is_array()) throw Error(source + ": field \"view.hidden_labels\" must be an array");
        for (size_t i = 0; i < v["hidden_labels"].size(); ++i)
          s.view.hiddenLabels.push_back(jsonAs<int>(v["hidden_labels"][i], source,
                                                    "view.hidden_labels[" + std::to_string(i) + "]"));
      }
      s.view.showDifference = jsonValue<bool>(v, "show_difference", true, source, "view");
      s.view.show3d = jsonValue<bool>(v, "show_3d", false, source, "view");
      if (v.contains("cursor") && !v["cursor"].is_null()) {
        if (!v["cursor"].is_array() || v["cursor"].size() != 3)
          throw Error(source + ": field \"view.cursor\" must be an array of 3 integers");
        std::array<int, 3> c{};
        for (int i = 0; i < 3; ++i)
          c[i] = jsonAs<int>(v["cursor"][i], source, "view.cursor[" + std::to_string(i) + "]");
        s.view.cursor = c;
      }
    }
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(source + ":", 0) == 0 ? what : source + ": " + what);
  } catch (const std::exception& e) {
    throw Error(source + ": invalid session: " + jsonReason(e));
  }
  if (!(s.toleranceMm >= 0) || !std::isfinite(s.toleranceMm)) throw Error(source + ": nsd_tolerance_mm must be >= 0");
  return s;
}

namespace {
// Where save() keeps the good session it replaces.
std::string previousCopyPath(const std::string& path) { return path + ".previous"; }

bool isGoodSession(const std::string& path) {
  try {
    SessionState::fromJson(nlohmann::json::parse(std::ifstream(path)), path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

// The copy being replaced is kept as "<path>.previous" when it is a good session, so a later
// damaged write (a full disk, a crash of the file system) never costs the last good state.
void SessionState::save(const std::string& path) const {
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && isGoodSession(path)) {
    const std::string previous = previousCopyPath(path);
    fs::remove(previous, ec);
    fs::copy_file(path, previous, fs::copy_options::overwrite_existing, ec);
  }
  writeTextFileAtomically(path, toJson(path).dump(2) + "\n");
}

SessionState SessionState::load(const std::string& path) {
  try {
    checkInputPath(path, false, "session");
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open session file");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw Error(path + ": not valid JSON (" + jsonReason(e) + ")");
    }
    return fromJson(j, path);
  } catch (const Error& e) {
    const std::string previous = previousCopyPath(path);
    std::error_code ec;
    if (fs::is_regular_file(previous, ec) && isGoodSession(previous))
      throw Error(std::string(e.what()) + "; the previous good copy is kept in " + previous);
    throw;
  }
}

}  // namespace mqb::gui
