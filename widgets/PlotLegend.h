#pragma once
// The legend style shared by the bar and layer-error plots.
#include <qcustomplot.h>

namespace mqb {

// Puts the plot's legend in a thin row above the axes, its entries side by side, without
// frame or fill, so it never hides data; the legend stays hidden until the caller shows it.
void placeLegendAboveAxes(QCustomPlot& plot);

}  // namespace mqb
