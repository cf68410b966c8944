#include "PlotSetup.h"

namespace mqb {

void setUpEmbeddedPlot(QCustomPlot& plot) {
  plot.setPlottingHint(QCP::phImmediateRefresh, false);
  plot.setMinimumHeight(160);
}

}  // namespace mqb
