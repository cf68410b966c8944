#pragma once
// Diagnostic for UI stalls: with MQB_SLOW_EVENTS=<ms> in the environment the application
// prints every top-level event dispatch that kept the UI thread busy longer than <ms>
// (receiver class and name, event type, duration), so a stall found by --benchmark can be
// traced to the widget or queued call that caused it. Off (no cost but one branch) otherwise.
#include <QApplication>

namespace mqb::gui {

class TimedApplication : public QApplication {
 public:
  TimedApplication(int& argc, char** argv);
  bool notify(QObject* receiver, QEvent* event) override;

 private:
  double thresholdMs_ = 0;  // 0 = off
  int depth_ = 0;
};

}  // namespace mqb::gui
