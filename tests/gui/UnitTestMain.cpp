// main() for the display-free GUI unit tests (session logic, CPU figure rendering, option
// parsing): an offscreen QApplication provides fonts and image formats; no GL.
#include <QApplication>
#include <QStandardPaths>
#include <gtest/gtest.h>

#include <clocale>

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  std::setlocale(LC_NUMERIC, "C");
  QStandardPaths::setTestModeEnabled(true);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
