#!/usr/bin/env bash
# Regenerates the pictures of the documentation, docs/images/*.png, with the desktop
# application's own batch mode (--screenshot, --export-figure, --session) from the sample
# data. Builds nothing: it runs build/bin/medquanbench (bash scripts/build.sh first). Under
# xvfb-run -a when there is no DISPLAY. Look at the images before committing them.
#
#   bash scripts/docs-screenshots.sh
#
#   main-window.png           --demo: the first bundled model on the sample CT, FP32 | W4A4
#                             per-tensor | difference | ground truth, with the DSC / NSD plots
#   comparison-figure.png     the same run's comparison figure (--export-figure)
#   main-window-adaptive.png  --demo --granularity adaptive
#   coronal-3d.png            a session: coronal plane, 3D organ surfaces, W4A4 per-tensor
#
# The application's remembered settings, window geometry and autosave live in a temporary
# home for the run (XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME), so the user's own do
# not change the pictures and are not touched. An image is replaced only by a successful run.
# Environment: MQB_DATA_DIR (the sample data, default ../shared/data; skipped with a message
# when absent), MQB_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${MQB_BUILD_DIR:-build}
app=$build_dir/bin/medquanbench
data=${MQB_DATA_DIR:-../shared/data}
ct=$data/abdomen-ct/example_ct.nii.gz
seg=$data/abdomen-ct/example_seg_fast_force_split.nii.gz
out=docs/images

if [ ! -f "$ct" ] || [ ! -f "$seg" ]; then
  echo "docs-screenshots: skipped: no sample data at $data/abdomen-ct (set MQB_DATA_DIR)"
  exit 0
fi
if [ ! -x "$app" ]; then
  echo "docs-screenshots: $app not found: build first (bash scripts/build.sh)" >&2
  exit 1
fi
run=()
if [ -z "${DISPLAY:-}" ]; then
  if ! command -v xvfb-run >/dev/null; then
    echo "docs-screenshots: no DISPLAY and no xvfb-run (apt-get install xvfb xauth)" >&2
    exit 1
  fi
  # The main window is 1500x950; the default Xvfb screen (1280x1024) would cut it.
  run=(xvfb-run -a -s "-screen 0 1600x1200x24")
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data XDG_CACHE_HOME=$tmp/cache
MQB_DATA_DIR=$(realpath "$data")
export MQB_DATA_DIR
mkdir -p "$out"

# The model --demo opens: the first bundled model by name (as bundledModels() sorts them).
model=$(LC_ALL=C ls "$build_dir"/share/medquanbench/models/*.pt 2>/dev/null | head -n 1 || true)
[ -n "$model" ] || model=$(LC_ALL=C ls models/zoo/*.pt | head -n 1)
model=$(realpath "$model")

shoot() {
  local what=$1
  shift
  local start rc=0
  start=$(date +%s)
  echo "docs-screenshots: $what"
  "${run[@]}" "$app" --no-autosave "$@" || rc=$?
  if [ $rc -ne 0 ]; then
    echo "docs-screenshots: FAILED ($what, exit $rc): $app $*" >&2
    exit 1
  fi
  echo "docs-screenshots: $what: $(( $(date +%s) - start )) s"
}

shoot "demo, W4A4 per-tensor" --demo \
  --screenshot "$out/main-window.png" --export-figure "$out/comparison-figure.png"
shoot "demo, W4A4 adaptive" --demo --granularity adaptive --screenshot "$out/main-window-adaptive.png"

# A session chooses the view the batch options cannot: the coronal plane with the 3D surfaces.
cat >"$tmp/coronal-3d.json" <<EOF
{"format": "medquanbench-session", "version": 1,
 "inputs": {"model": {"path": "$model"},
            "volume": {"path": "$MQB_DATA_DIR/abdomen-ct/example_ct.nii.gz"},
            "labels": {"path": "$MQB_DATA_DIR/abdomen-ct/example_seg_fast_force_split.nii.gz"},
            "label_map": "totalsegmentator-to-btcv"},
 "quantization": {"precision": "W4A4", "granularity": "per-tensor"},
 "view": {"orientation": "coronal", "show_3d": true}}
EOF
shoot "session, coronal with 3D surfaces" --session "$tmp/coronal-3d.json" --screenshot "$out/coronal-3d.png"

ls -l "$root/$out"/*.png
