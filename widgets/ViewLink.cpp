#include "ViewLink.h"

#include "SliceView.h"

#include <QScopedValueRollback>

namespace mqb {

ViewLink::ViewLink(QObject* parent) : ViewLink(defaultOptions(), parent) {}

ViewLink::ViewLink(Options options, QObject* parent) : QObject(parent), options_(options) {}

ViewLink::~ViewLink() {
  for (Entry& e : entries_)
    for (const auto& c : e.connections) QObject::disconnect(c);
}

ViewLink* ViewLink::link(const QList<SliceView*>& views, Options options, QObject* parent) {
  auto* link = new ViewLink(options, parent);
  for (SliceView* v : views) link->addView(v);
  return link;
}

void ViewLink::pruneDeleted() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.view.isNull(); }),
                 entries_.end());
}

QList<SliceView*> ViewLink::views() const {
  QList<SliceView*> out;
  for (const Entry& e : entries_)
    if (e.view) out.append(e.view.data());
  return out;
}

void ViewLink::addView(SliceView* view) {
  pruneDeleted();
  if (!view) return;
  for (const Entry& e : entries_)
    if (e.view == view) return;

  Entry entry;
  entry.view = view;
  entry.connections << connect(view, &SliceView::sliceChanged, this, [this, view] { syncFrom(view, Slice); });
  entry.connections << connect(view, &SliceView::cameraChanged, this, [this, view] { syncFrom(view, Camera); });
  entry.connections << connect(view, &SliceView::cursorMoved, this, [this, view] {
    syncFrom(view, Options{Cursor, CursorSetsSlices});
  });
  entry.connections << connect(view, &SliceView::windowLevelChanged, this,
                               [this, view] { syncFrom(view, WindowLevel); });
  entry.connections << connect(view, &QObject::destroyed, this, [this] { pruneDeleted(); });
  // Orientation changes do not propagate, but a view entering a new orientation group
  // takes over that group's state.
  entry.connections << connect(view, &SliceView::orientationChanged, this, [this, view] {
    if (syncing_) return;
    for (const Entry& e : entries_) {
      if (e.view && e.view != view && e.view->orientation() == view->orientation()) {
        syncFrom(e.view, Options{Slice, Camera});
        return;
      }
    }
  });

  SliceView* first = entries_.isEmpty() ? nullptr : entries_.first().view.data();
  entries_.append(entry);
  if (first) {
    // The newcomer adopts the group's state: from a same-orientation member if any.
    SliceView* model = first;
    for (const Entry& e : entries_)
      if (e.view && e.view != view && e.view->orientation() == view->orientation()) {
        model = e.view;
        break;
      }
    syncFrom(model, Options{Slice, Camera, WindowLevel});
    if (model->hasCursor()) syncFrom(model, Cursor);
  }
}

void ViewLink::removeView(SliceView* view) {
  for (int i = 0; i < entries_.size(); ++i) {
    if (entries_[i].view == view) {
      for (const auto& c : entries_[i].connections) QObject::disconnect(c);
      entries_.removeAt(i);
      return;
    }
  }
}

void ViewLink::setOptions(Options options) { options_ = options; }

void ViewLink::syncFrom(SliceView* source, Options what) {
  if (syncing_ || !source) return;
  what &= options_;
  if (!what) return;
  QScopedValueRollback<bool> guard(syncing_, true);
  const auto cursor = source->cursorVoxel();
  for (const Entry& e : entries_) {
    SliceView* target = e.view.data();
    if (!target || target == source) continue;
    const bool sameOrientation = target->orientation() == source->orientation();
    if ((what & Slice) && sameOrientation) target->setSlice(source->slice());
    if ((what & Camera) && sameOrientation) {
      target->setZoom(source->zoom());
      target->setPan(source->pan());
    }
    if ((what & WindowLevel)) target->setWindowLevel(source->window(), source->level());
    if ((what & Cursor) && source->hasCursor()) target->setCursorVoxel(cursor[0], cursor[1], cursor[2]);
    if ((what & CursorSetsSlices) && source->hasCursor())
      target->setSlice(cursor[static_cast<size_t>(target->orientation())]);
  }
}

}  // namespace mqb
