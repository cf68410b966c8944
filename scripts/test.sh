#!/usr/bin/env bash
# Installs missing Debian packages, builds, and runs every test (core, CLI, GUI under
# xvfb-run, installer), then the CLI examples of the README and docs/. Tests that need ../shared/data skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${MQB_BUILD_DIR:-build}
status=0
( cd "$build_dir" && ctest --output-on-failure -j 2 --timeout 900 ) || status=$?
# Every CLI command shown in README.md and docs/ runs as written (skips without sample data).
bash scripts/check-doc-commands.sh || status=1
if [ -d models/tests ]; then
  /usr/bin/python3 -m unittest discover -s models/tests -t . -v || status=1
fi
exit $status
