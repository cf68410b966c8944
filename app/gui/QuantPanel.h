#pragma once
// Quantization settings (bits, granularity, calibrator, symmetry, calibration patches),
// the model's quantizable ops with per-op exclusion checkboxes (unchecked = kept FP32),
// "keep the k most sensitive ops in FP32" (once a layer analysis exists), the execution
// (simulated fake quantization or real INT8 on the integer kernels, with the reason shown
// in the panel when the kernels cannot run the combination), Run / Cancel and auto-run.
// Binds to quant::QuantConfig; no engine calls.
#include <QWidget>

#include <string>
#include <vector>

#include "SessionTypes.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTimer;
class QTreeWidget;

namespace mqb::gui {

class QuantPanel : public QWidget {
  Q_OBJECT
 public:
  explicit QuantPanel(QWidget* parent = nullptr);

  quant::QuantConfig settings() const;
  void setSettings(const quant::QuantConfig& settings);  // emits settingsChanged once
  void setOps(const std::vector<OpInfo>& ops);
  // The model's quantization coverage (ModelInfo::coverage) and the contractions that stay
  // FP32 whatever the configuration, with their reasons (in the tooltip).
  void setCoverage(const std::string& summary, const std::vector<std::pair<std::string, std::string>>& fp32);
  int opCount() const;
  // Most sensitive first (the layer analysis' ranking); enables "keep k in FP32" and
  // shows each op's rank.
  void setSensitivity(const std::vector<std::string>& opsMostSensitiveFirst);
  int keepCount() const;
  void setBusy(bool busy);
  void setRunEnabled(bool enabled);
  // Why the settings cannot run (real INT8 with a precision / granularity the integer
  // kernels lack), "" when they can; Run and auto-run are off while it is not empty.
  QString runProblem() const;
  bool autoRun() const;
  void setAutoRun(bool on);
  void setLayerAnalysisAvailable(bool available);
  QTreeWidget* opTree() const { return ops_; }

 signals:
  void settingsChanged();
  // Debounced settingsChanged while auto-run is on, and the Run button.
  void runRequested();
  void cancelRequested();
  void analyzeRequested();
  // "Keep k most sensitive in FP32" pressed (quant::keepMostSensitiveInFp32 via the session).
  void keepSensitiveRequested(int k);

 private:
  void onChanged();
  void updateEnabled();

  QComboBox* preset_;
  QCheckBox* fp32_;
  QSpinBox* wBits_;
  QSpinBox* aBits_;
  QComboBox* granularity_;
  QComboBox* calibrator_;
  QComboBox* method_;
  QComboBox* edgeBits_;
  QComboBox* symmetric_;
  QSpinBox* patches_;
  QSpinBox* seed_;
  QCheckBox* matmul_;
  QComboBox* execution_;
  QLabel* executionNote_;
  QTreeWidget* ops_;
  QLabel* opSummary_;
  QLabel* coverage_;
  QSpinBox* keepK_;
  QPushButton* keepButton_;
  QPushButton* analyzeButton_;
  QPushButton* run_;
  QPushButton* cancel_;
  QCheckBox* autoRun_;
  QTimer* debounce_;
  std::vector<std::string> sensitivity_;
  bool updating_ = false;
  bool busy_ = false;
  bool runEnabled_ = false;
  bool analysisAvailable_ = false;
};

}  // namespace mqb::gui
