#include "QuantPanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>

#include "quant/int8/Int8Support.h"

namespace mqb::gui {
namespace {

const char* kCalibrators[][2] = {{"minmax", "Min-max"},
                                 {"percentile:99.99", "Percentile 99.99"},
                                 {"percentile:99.9", "Percentile 99.9"},
                                 {"mse", "MSE search"},
                                 {"entropy", "Entropy (KL)"}};

}  // namespace

QuantPanel::QuantPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);

  auto* form = new QFormLayout;
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  preset_ = new QComboBox;
  preset_->addItems({tr("custom"), "FP32", "W8A8", "W4A8", "W8A4", "W4A4", "W2A8"});
  form->addRow(tr("Preset"), preset_);
  fp32_ = new QCheckBox(tr("FP32 (no quantization)"));
  form->addRow(QString(), fp32_);
  auto* bits = new QHBoxLayout;
  wBits_ = new QSpinBox;
  wBits_->setRange(2, 16);
  wBits_->setValue(8);
  wBits_->setPrefix("W");
  wBits_->setToolTip(tr("weight bits"));
  aBits_ = new QSpinBox;
  aBits_->setRange(2, 16);
  aBits_->setValue(8);
  aBits_->setPrefix("A");
  aBits_->setToolTip(tr("activation bits"));
  bits->addWidget(wBits_);
  bits->addWidget(aBits_);
  form->addRow(tr("Bits"), bits);
  granularity_ = new QComboBox;
  for (quant::Granularity g : quant::allGranularities())
    granularity_->addItem(QString::fromStdString(quant::granularityTitle(g)), static_cast<int>(g));
  granularity_->setCurrentIndex(granularity_->findData(static_cast<int>(quant::QuantConfig().granularity)));
  form->addRow(tr("Granularity"), granularity_);
  calibrator_ = new QComboBox;
  for (auto& c : kCalibrators) calibrator_->addItem(tr(c[1]), QString(c[0]));
  form->addRow(tr("Calibrator"), calibrator_);
  method_ = new QComboBox;
  method_->addItem(tr("Round to nearest"), QString("rtn"));
  method_->addItem(tr("GPTQ"), QString("gptq"));
  method_->addItem(tr("Bias correction"), QString("bias-correction"));
  method_->addItem(tr("GPTQ + bias correction"), QString("gptq+bias-correction"));
  method_->setToolTip(tr("How the quantized weights are chosen (SPEC section 10). GPTQ picks the integer levels\n"
                         "column by column from each op's input Hessian on the calibration patches; bias correction\n"
                         "then removes the mean output shift per channel. Computed once per configuration."));
  form->addRow(tr("Method"), method_);
  edgeBits_ = new QComboBox;
  edgeBits_->addItem(tr("Off"), 0);
  for (int b : {8, 6, 4, 16}) edgeBits_->addItem(tr("W%1A%1").arg(b), b);
  edgeBits_->setToolTip(tr("Bits of the first and last contractions (the ops reading the model input and producing\n"
                           "its output), the protocol of published W4A4 results; off = the configuration's bits."));
  form->addRow(tr("Edge layers"), edgeBits_);
  symmetric_ = new QComboBox;
  symmetric_->addItem(tr("Symmetric"), true);
  symmetric_->addItem(tr("Asymmetric"), false);
  form->addRow(tr("Range"), symmetric_);
  auto* cal = new QHBoxLayout;
  patches_ = new QSpinBox;
  patches_->setRange(1, 512);
  patches_->setValue(16);
  patches_->setSuffix(tr(" patches"));
  seed_ = new QSpinBox;
  seed_->setRange(0, 1000000);
  seed_->setPrefix(tr("seed "));
  cal->addWidget(patches_);
  cal->addWidget(seed_);
  form->addRow(tr("Calibration"), cal);
  matmul_ = new QCheckBox(tr("Quantize attention matmuls"));
  matmul_->setChecked(true);
  form->addRow(QString(), matmul_);
  execution_ = new QComboBox;
  execution_->addItem(tr("Simulated (fake quantization)"), static_cast<int>(quant::Execution::Simulated));
  execution_->addItem(tr("Real INT8 (integer kernels)"), static_cast<int>(quant::Execution::RealInt8));
  execution_->setToolTip(tr("Simulated: float arithmetic on the quantization grid (any bits / granularity).\n"
                            "Real INT8: LibTorch's integer kernels (W8A8, per-tensor or per-channel), with the\n"
                            "measured speed-up over FP32 and the INT8 model size."));
  form->addRow(tr("Execution"), execution_);
  layout->addLayout(form);
  // Below the form, not in it: a wrapped label in a form row gets one line's height.
  executionNote_ = new QLabel;
  executionNote_->setWordWrap(true);
  executionNote_->setStyleSheet("color: #b03030");
  executionNote_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
  executionNote_->hide();
  layout->addWidget(executionNote_);

  auto* runRow = new QHBoxLayout;
  run_ = new QPushButton(tr("Run"));
  run_->setDefault(true);
  cancel_ = new QPushButton(tr("Cancel"));
  autoRun_ = new QCheckBox(tr("Auto run"));
  autoRun_->setChecked(true);
  autoRun_->setToolTip(tr("Re-run (preview of the slice on screen first) whenever a setting changes"));
  runRow->addWidget(run_);
  runRow->addWidget(cancel_);
  runRow->addWidget(autoRun_);
  layout->addLayout(runRow);

  auto* opsBox = new QGroupBox(tr("Quantizable operations (unchecked = FP32)"));
  auto* opsLayout = new QVBoxLayout(opsBox);
  opsLayout->setContentsMargins(2, 2, 2, 2);
  ops_ = new QTreeWidget;
  ops_->setColumnCount(4);
  ops_->setHeaderLabels({tr("Op"), tr("Kind"), tr("Weight"), tr("Params")});
  ops_->setRootIsDecorated(false);
  ops_->setUniformRowHeights(true);
  // Module paths share long prefixes and differ at their ends (encoder.3.conv1.conv vs
  // decoder.3.conv1.conv): elide in the middle, keep the column resizable, full name in
  // the tooltip.
  ops_->setTextElideMode(Qt::ElideMiddle);
  ops_->header()->setSectionResizeMode(0, QHeaderView::Interactive);
  ops_->header()->resizeSection(0, 170);
  ops_->header()->setStretchLastSection(false);
  for (int c = 1; c < 4; ++c) ops_->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
  opsLayout->addWidget(ops_);
  opSummary_ = new QLabel;
  opsLayout->addWidget(opSummary_);
  coverage_ = new QLabel;
  coverage_->setWordWrap(true);
  opsLayout->addWidget(coverage_);
  auto* keepRow = new QHBoxLayout;
  analyzeButton_ = new QPushButton(tr("Analyse layers"));
  keepK_ = new QSpinBox;
  keepK_->setRange(0, 0);
  keepK_->setPrefix(tr("k = "));
  keepButton_ = new QPushButton(tr("Keep k most sensitive in FP32"));
  keepRow->addWidget(analyzeButton_);
  keepRow->addWidget(keepK_);
  keepRow->addWidget(keepButton_);
  opsLayout->addLayout(keepRow);
  auto* allRow = new QHBoxLayout;
  auto* all = new QPushButton(tr("Quantize all"));
  auto* none = new QPushButton(tr("Keep all FP32"));
  allRow->addWidget(all);
  allRow->addWidget(none);
  allRow->addStretch();
  opsLayout->addLayout(allRow);
  layout->addWidget(opsBox, 1);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(400);
  connect(debounce_, &QTimer::timeout, this, [this] {
    if (autoRun_->isChecked() && runEnabled_ && runProblem().isEmpty()) emit runRequested();
  });

  auto changed = [this] { onChanged(); };
  connect(fp32_, &QCheckBox::toggled, this, changed);
  connect(wBits_, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  connect(aBits_, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  connect(granularity_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
  connect(calibrator_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
  connect(method_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
  connect(edgeBits_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
  connect(symmetric_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
  connect(patches_, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  connect(seed_, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  connect(matmul_, &QCheckBox::toggled, this, changed);
  connect(execution_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
  connect(ops_, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem*, int column) {
    if (column == 0) onChanged();
  });
  connect(preset_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    if (updating_ || i <= 0) return;
    const QString p = preset_->itemText(i);
    updating_ = true;
    fp32_->setChecked(p == "FP32");
    if (p != "FP32") {
      wBits_->setValue(p.mid(1, p.indexOf('A') - 1).toInt());
      aBits_->setValue(p.mid(p.indexOf('A') + 1).toInt());
    }
    updating_ = false;
    onChanged();
  });
  connect(run_, &QPushButton::clicked, this, [this] {
    debounce_->stop();
    if (!runProblem().isEmpty()) return;
    emit runRequested();
  });
  connect(cancel_, &QPushButton::clicked, this, [this] {
    debounce_->stop();
    emit cancelRequested();
  });
  connect(analyzeButton_, &QPushButton::clicked, this, &QuantPanel::analyzeRequested);
  connect(keepButton_, &QPushButton::clicked, this, [this] { emit keepSensitiveRequested(keepK_->value()); });
  auto setAll = [this](bool quantize) {
    updating_ = true;
    for (int i = 0; i < ops_->topLevelItemCount(); ++i)
      ops_->topLevelItem(i)->setCheckState(0, quantize ? Qt::Checked : Qt::Unchecked);
    updating_ = false;
    onChanged();
  };
  connect(all, &QPushButton::clicked, this, [setAll] { setAll(true); });
  connect(none, &QPushButton::clicked, this, [setAll] { setAll(false); });
  updateEnabled();
}

quant::QuantConfig QuantPanel::settings() const {
  quant::QuantConfig s;
  s.precision.floatingPoint = fp32_->isChecked();
  s.precision.weightBits = wBits_->value();
  s.precision.activationBits = aBits_->value();
  s.granularity = static_cast<quant::Granularity>(granularity_->currentData().toInt());
  s.calibrator = quant::CalibrationMethod::parse(calibrator_->currentData().toString().toStdString());
  s.symmetric = symmetric_->currentData().toBool();
  s.calibrationPatches = patches_->value();
  s.calibrationSeed = static_cast<uint32_t>(seed_->value());
  s.quantizeActivationMatmul = matmul_->isChecked();
  s.execution = static_cast<quant::Execution>(execution_->currentData().toInt());
  s.method = quant::QuantMethod::parse(method_->currentData().toString().toStdString());
  s.edgeBits = edgeBits_->currentData().toInt();
  for (int i = 0; i < ops_->topLevelItemCount(); ++i) {
    const auto* item = ops_->topLevelItem(i);
    if (item->checkState(0) != Qt::Checked)
      s.excludedOps.insert(item->data(0, Qt::UserRole).toString().toStdString());
  }
  return s;
}

void QuantPanel::setSettings(const quant::QuantConfig& s) {
  updating_ = true;
  fp32_->setChecked(s.precision.floatingPoint);
  if (!s.precision.floatingPoint) {  // FP32 keeps the bits last chosen
    wBits_->setValue(s.precision.weightBits);
    aBits_->setValue(s.precision.activationBits);
  }
  int g = granularity_->findData(static_cast<int>(s.granularity));
  granularity_->setCurrentIndex(g >= 0 ? g : 1);
  int c = calibrator_->findData(QString::fromStdString(s.calibrator.toString()));
  if (c < 0) {
    calibrator_->addItem(QString::fromStdString(s.calibrator.toString()),
                         QString::fromStdString(s.calibrator.toString()));
    c = calibrator_->count() - 1;
  }
  calibrator_->setCurrentIndex(c);
  symmetric_->setCurrentIndex(s.symmetric ? 0 : 1);
  patches_->setValue(s.calibrationPatches);
  seed_->setValue(static_cast<int>(s.calibrationSeed));
  matmul_->setChecked(s.quantizeActivationMatmul);
  execution_->setCurrentIndex(std::max(0, execution_->findData(static_cast<int>(s.execution))));
  int m = method_->findData(QString::fromStdString(s.method.id()));
  if (m < 0) {  // a method with options (from a session file): offered as it is
    method_->addItem(QString::fromStdString(s.method.id()), QString::fromStdString(s.method.id()));
    m = method_->count() - 1;
  }
  method_->setCurrentIndex(m);
  int e = edgeBits_->findData(s.edgeBits);
  if (e < 0) {  // other bits (from a session file): offered as they are
    edgeBits_->addItem(tr("W%1A%1").arg(s.edgeBits), s.edgeBits);
    e = edgeBits_->count() - 1;
  }
  edgeBits_->setCurrentIndex(e);
  for (int i = 0; i < ops_->topLevelItemCount(); ++i) {
    auto* item = ops_->topLevelItem(i);
    const bool excluded = s.excludedOps.count(item->data(0, Qt::UserRole).toString().toStdString()) > 0;
    item->setCheckState(0, excluded ? Qt::Unchecked : Qt::Checked);
  }
  updating_ = false;
  onChanged();
}

void QuantPanel::setOps(const std::vector<OpInfo>& ops) {
  updating_ = true;
  ops_->clear();
  sensitivity_.clear();
  for (const OpInfo& op : ops) {
    auto* item = new QTreeWidgetItem(ops_);
    item->setText(0, QString::fromStdString(op.name));
    item->setData(0, Qt::UserRole, QString::fromStdString(op.name));
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(0, Qt::Checked);
    item->setText(1, QString::fromStdString(op.kind) + (op.pointwise ? " 1x1x1" : ""));
    item->setText(2, QString::fromStdString(op.shapeText()));
    item->setText(3, QLocale::c().toString(static_cast<qlonglong>(op.parameters)));
    item->setTextAlignment(3, Qt::AlignRight | Qt::AlignVCenter);
    item->setToolTip(0, tr("#%1 %2 (module %3)")
                            .arg(op.index)
                            .arg(QString::fromStdString(op.name),
                                 op.modulePath.empty() ? tr("top level") : QString::fromStdString(op.modulePath)));
  }
  keepK_->setRange(0, static_cast<int>(ops.size()));
  updating_ = false;
  updateEnabled();
  onChanged();
}

void QuantPanel::setCoverage(const std::string& summary, const std::vector<std::pair<std::string, std::string>>& fp32) {
  QString text = summary.empty() ? QString() : tr("Coverage: %1").arg(QString::fromStdString(summary));
  QStringList lines;
  for (const auto& [name, reason] : fp32)
    lines << QString::fromStdString(name) + ": " + QString::fromStdString(reason);
  if (!lines.isEmpty())
    text += tr(" — %n contraction(s) always FP32 (hover for the list)", "", static_cast<int>(lines.size()));
  coverage_->setText(text);
  coverage_->setToolTip(lines.isEmpty() ? tr("Every contraction of the model can be quantized.")
                                        : tr("Contractions the engine leaves in FP32:\n") + lines.join('\n'));
}

int QuantPanel::opCount() const { return ops_->topLevelItemCount(); }

void QuantPanel::setSensitivity(const std::vector<std::string>& ops) {
  sensitivity_ = ops;
  for (int i = 0; i < ops_->topLevelItemCount(); ++i) {
    auto* item = ops_->topLevelItem(i);
    const std::string name = item->data(0, Qt::UserRole).toString().toStdString();
    int rank = -1;
    for (size_t r = 0; r < ops.size(); ++r)
      if (ops[r] == name) rank = static_cast<int>(r);
    item->setToolTip(1, rank >= 0 ? tr("sensitivity rank %1 of %2").arg(rank + 1).arg(ops.size()) : QString());
    item->setText(1, item->text(1).section(" #", 0, 0) + (rank >= 0 ? QString(" #%1").arg(rank + 1) : QString()));
  }
  if (keepK_->value() == 0 && !ops.empty()) keepK_->setValue(std::min<int>(3, static_cast<int>(ops.size())));
  updateEnabled();
}

int QuantPanel::keepCount() const { return keepK_->value(); }

void QuantPanel::setBusy(bool busy) {
  busy_ = busy;
  updateEnabled();
}

void QuantPanel::setRunEnabled(bool enabled) {
  runEnabled_ = enabled;
  updateEnabled();
}

QString QuantPanel::runProblem() const {
  const quant::QuantConfig s = settings();
  if (s.execution != quant::Execution::RealInt8 || s.precision.floatingPoint) return {};
  return QString::fromStdString(quant::realInt8Problem(s));
}

bool QuantPanel::autoRun() const { return autoRun_->isChecked(); }
void QuantPanel::setAutoRun(bool on) { autoRun_->setChecked(on); }

void QuantPanel::setLayerAnalysisAvailable(bool available) {
  analysisAvailable_ = available;
  analyzeButton_->setToolTip(available ? tr("Isolated / cumulative SQNR per op, activation histograms, sensitivity")
                                       : tr("The engine of this build has no layer analysis yet"));
  updateEnabled();
}

void QuantPanel::onChanged() {
  if (updating_) return;
  const quant::QuantConfig s = settings();
  {
    // Keep the preset combo in sync without re-triggering it.
    updating_ = true;
    const int i = preset_->findText(QString::fromStdString(s.precision.id()));
    preset_->setCurrentIndex(i >= 0 ? i : 0);
    updating_ = false;
  }
  const int excluded = static_cast<int>(s.excludedOps.size());
  opSummary_->setText(tr("%1 ops, %2 quantized, %3 FP32").arg(opCount()).arg(opCount() - excluded).arg(excluded));
  updateEnabled();
  emit settingsChanged();
  if (autoRun_->isChecked() && runEnabled_ && runProblem().isEmpty()) debounce_->start();
}

void QuantPanel::updateEnabled() {
  const bool q = !fp32_->isChecked();
  wBits_->setEnabled(q);
  aBits_->setEnabled(q);
  granularity_->setEnabled(q);
  calibrator_->setEnabled(q);
  method_->setEnabled(q);
  edgeBits_->setEnabled(q);
  symmetric_->setEnabled(q);
  patches_->setEnabled(q);
  seed_->setEnabled(q);
  matmul_->setEnabled(q);
  execution_->setEnabled(q);
  const QString problem = runProblem();
  executionNote_->setText(problem);
  executionNote_->setVisible(!problem.isEmpty());
  run_->setEnabled(runEnabled_ && problem.isEmpty());
  run_->setToolTip(
      problem.isEmpty()
          ? tr("FP32 and quantized inference (FP32, prepared volume and calibration are reused when possible)")
          : problem);
  cancel_->setEnabled(busy_);
  analyzeButton_->setEnabled(analysisAvailable_ && runEnabled_ && q);
  keepK_->setEnabled(!sensitivity_.empty());
  keepButton_->setEnabled(!sensitivity_.empty());
}

}  // namespace mqb::gui
