#pragma once
// What every QCustomPlot of the application sets before anything else.
#include <qcustomplot.h>

namespace mqb {

// Scheduled (not immediate) refresh: QCustomPlot's default makes replot() repaint the whole
// window synchronously, which beside the GL views means re-composing every view (45-78 ms a
// replot under a software rasterizer). Also the common minimum height.
void setUpEmbeddedPlot(QCustomPlot& plot);

}  // namespace mqb
