#include "ScoreRows.h"

#include "TextFormat.h"

namespace mqb::gui {
ScorePlotRows scorePlotRows(const ComparisonTable& t, ScoreMetric metric) {
  const bool dsc = metric == ScoreMetric::Dsc;
  const std::string& q = t.precision;
  ScorePlotRows p;
  p.axisTitle = dsc ? "DSC" : "NSD @ " + general(t.toleranceMm, 6) + " mm";
  ScoreSeries fp32{"FP32 vs GT", ScoreSeriesRole::Fp32VsTruth, {}};
  ScoreSeries quant{q + " vs GT", ScoreSeriesRole::QuantizedVsTruth, {}};
  ScoreSeries agree{q + " vs FP32", ScoreSeriesRole::QuantizedVsFp32, {}};
  for (const auto& o : t.organs) {
    const double f = dsc ? o.fp32Dsc : o.fp32Nsd;
    const double qv = dsc ? o.quantDsc : o.quantNsd;
    const double a = dsc ? o.agreeDsc : o.agreeNsd;
    p.organs.push_back(o.name);
    fp32.values.push_back(f);
    quant.values.push_back(qv);
    agree.values.push_back(a);
    std::string tip = "<b>" + escapeHtml(o.name) + "</b>";
    if (t.haveTruth) tip += "<br>FP32 vs GT: " + scoreText(f) + "<br>" + q + " vs GT: " + scoreWithDelta(qv, f);
    tip += "<br>" + q + " vs FP32: " + scoreText(a);
    if (!dsc) tip += "<br>tolerance " + general(t.toleranceMm, 6) + " mm";
    p.tooltips.push_back(tip);
  }
  if (t.haveTruth) {
    p.series.push_back(std::move(fp32));
    p.series.push_back(std::move(quant));
  }
  p.series.push_back(std::move(agree));
  return p;
}

ScoreTableRows scoreTableRows(const ComparisonTable& t) {
  const std::string& q = t.precision;
  ScoreTableRows out;
  out.header = {"Organ"};
  if (t.haveTruth)
    out.header.insert(out.header.end(),
                      {"FP32 DSC", q + " DSC (\u2193\u0394%)", "FP32 NSD", q + " NSD (\u2193\u0394%)"});
  out.header.insert(out.header.end(), {"DSC vs FP32", "NSD vs FP32", "FP32 voxels", q + " voxels"});
  auto row = [&](const std::string& name, double fD, double qD, double fN, double qN, double aD, double aN,
                 const std::string& fv, const std::string& qv) {
    std::vector<std::string> r{name};
    if (t.haveTruth)
      r.insert(r.end(), {scoreText(fD), scoreWithDelta(qD, fD), scoreText(fN), scoreWithDelta(qN, fN)});
    r.insert(r.end(), {scoreText(aD), scoreText(aN), fv, qv});
    out.rows.push_back(std::move(r));
  };
  for (const auto& o : t.organs)
    row(o.name, o.fp32Dsc, o.quantDsc, o.fp32Nsd, o.quantNsd, o.agreeDsc, o.agreeNsd, std::to_string(o.fp32Voxels),
        std::to_string(o.quantVoxels));
  row("mean", t.meanFp32Dsc, t.meanQuantDsc, t.meanFp32Nsd, t.meanQuantNsd, t.meanAgreeDsc, t.meanAgreeNsd, "", "");
  return out;
}

std::string legendDetailTitle(const ComparisonTable& t) { return t.haveTruth ? "DSC vs GT" : "DSC vs FP32"; }

std::string legendDetailTooltip(const ComparisonTable& t) {
  return t.haveTruth ? t.precision + " Dice vs ground truth (relative drop from FP32)"
                     : t.precision + " Dice vs the FP32 prediction";
}

std::string legendDetail(const ComparisonTable& t, const OrganComparison& o) {
  return t.haveTruth ? scoreWithDelta(o.quantDsc, o.fp32Dsc) : scoreText(o.agreeDsc);
}

}  // namespace mqb::gui
