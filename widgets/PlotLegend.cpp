#include "PlotLegend.h"

namespace mqb {

void placeLegendAboveAxes(QCustomPlot& plot) {
  QCPLegend* legend = plot.legend;
  legend->setVisible(false);
  legend->setFont(QFont(plot.font().family(), 8));
  plot.plotLayout()->insertRow(0);
  plot.plotLayout()->addElement(0, 0, legend);
  legend->setFillOrder(QCPLegend::foColumnsFirst);
  legend->setBorderPen(Qt::NoPen);
  legend->setBrush(Qt::NoBrush);
  plot.plotLayout()->setRowStretchFactor(0, 0.001);
}

}  // namespace mqb
