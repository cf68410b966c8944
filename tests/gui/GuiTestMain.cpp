// main() for the GUI tests: GL widgets need the xcb platform with GLX (Debian's VTK uses
// GLEW built for GLX) and the default surface format set before QApplication exists.
#include "VtkOpenGLView.h"

#include <QApplication>
#include <gtest/gtest.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const char* display = std::getenv("DISPLAY");
  if (!display || !*display) {
    std::fprintf(stderr, "GUI tests need an X server: run them through ctest (xvfb-run -a) or set DISPLAY.\n");
    return 1;
  }
  mqb::VtkOpenGLView::prepareApplication();  // QT_QPA_PLATFORM=xcb, QT_XCB_GL_INTEGRATION=xcb_glx
  QApplication app(argc, argv);
  std::setlocale(LC_NUMERIC, "C");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
