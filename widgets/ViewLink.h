#pragma once
// Synchronises several SliceViews (e.g. the same CT with two models' segmentations side by
// side, or an axial/coronal/sagittal triple) without feedback loops: a change in one view
// is pushed to the others inside a re-entrancy guard, and SliceView setters only emit when
// a value really changes.
//
//   Slice            views with the same orientation show the same slice index
//   Camera           views with the same orientation share zoom and pan
//   Cursor           all views share the cursor voxel
//   CursorSetsSlices when the cursor moves, every other view jumps to the slice through it
//                    (the classic linked-MPR behaviour)
//   WindowLevel      all views share window/level
//
// The link does not own the views; destroyed views drop out automatically.
#include <QList>
#include <QObject>
#include <QPointer>

namespace mqb {

class SliceView;

class ViewLink : public QObject {
  Q_OBJECT
 public:
  enum Option {
    Slice = 0x1,
    Camera = 0x2,
    Cursor = 0x4,
    CursorSetsSlices = 0x8,
    WindowLevel = 0x10,
  };
  Q_DECLARE_FLAGS(Options, Option)
  Q_FLAG(Options)
  static Options defaultOptions() { return Options{Slice, Camera, Cursor, WindowLevel}; }

  explicit ViewLink(QObject* parent = nullptr);
  explicit ViewLink(Options options, QObject* parent = nullptr);
  ~ViewLink() override;

  // Adds a view; it immediately takes over the state of the first view already linked.
  void addView(SliceView* view);
  void removeView(SliceView* view);
  QList<SliceView*> views() const;

  void setOptions(Options options);
  Options options() const { return options_; }

  // Convenience: links `views` with `options`; the returned link is owned by `parent`.
  static ViewLink* link(const QList<SliceView*>& views, Options options, QObject* parent);

 private:
  void syncFrom(SliceView* source, Options what);
  void pruneDeleted();

  struct Entry {
    QPointer<SliceView> view;
    QList<QMetaObject::Connection> connections;
  };
  QList<Entry> entries_;
  Options options_;
  bool syncing_ = false;
};

}  // namespace mqb

Q_DECLARE_OPERATORS_FOR_FLAGS(mqb::ViewLink::Options)
