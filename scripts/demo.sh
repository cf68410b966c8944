#!/usr/bin/env bash
# Installs missing Debian packages, builds, and runs the main job on the built-in demo:
# the desktop application when a display exists, otherwise the headless report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${MQB_BUILD_DIR:-build}
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build_dir/bin/medquanbench" ]; then
  exec "$build_dir/bin/medquanbench" --demo "$@"
fi
exec "$build_dir/bin/medquanbench-cli" demo "$@"
