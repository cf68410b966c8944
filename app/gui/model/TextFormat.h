#pragma once
// Number formatting shared by the presentation models: the same digits in the table, the
// plot tooltips and the information panel.
#include <string>

namespace mqb::gui {

// printf-style "%.<decimals>f"; "--" for NaN / infinity.
std::string fixed(double value, int decimals);
// printf-style "%.<significant>g" (the shortest form with that many significant digits).
std::string general(double value, int significant);
// Three decimals ("0.912") or "--": how every score is shown.
std::string scoreText(double value);
// core's formatWithDelta ("0.850 (5.6%)" for a drop, "0.950 (3.2%\u2191)" for a gain, the bare
// score when the relative change is undefined), "--" for a missing score.
std::string scoreWithDelta(double value, double reference);
// & < > " as entities, for names inside rich-text tooltips.
std::string escapeHtml(const std::string& text);

}  // namespace mqb::gui
