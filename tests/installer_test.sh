#!/usr/bin/env bash
# Builds the .deb, unpacks it into a temporary root and runs the installed CLI from there.
set -euo pipefail
build_dir=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cd "$build_dir"
cpack -G DEB -B "$root/pkg" >"$root/cpack.log" 2>&1 || { cat "$root/cpack.log"; exit 1; }
deb=$(ls "$root"/pkg/medquanbench_*.deb)
dpkg-deb --info "$deb" | grep -E "Depends:.*libtorch" >/dev/null || { echo "no libtorch runtime dependency declared"; dpkg-deb --info "$deb"; exit 1; }
dpkg -x "$deb" "$root/rootfs"
"$root/rootfs/usr/bin/medquanbench-cli" --version | grep -q "medquanbench-cli"
test -f "$root/rootfs/usr/share/applications/medquanbench.desktop"
test -f "$root/rootfs/usr/share/medquanbench/resources/label-maps/totalsegmentator-to-btcv.json"
# The installed binary finds its own resources (label maps) from its install location.
"$root/rootfs/usr/bin/medquanbench-cli" compare --help >/dev/null
echo "installer test passed: $(basename "$deb")"
