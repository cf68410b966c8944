#!/usr/bin/env bash
# Installs every Debian bookworm package MedQuanBench needs to build, test, run and
# package. Idempotent: does nothing (and does not touch the network) when all are present.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git file dpkg-dev
  # engine
  libinsighttoolkit5-dev libtorch-dev nlohmann-json3-dev zlib1g-dev
  # an optimised BLAS for LibTorch's GEMM-based kernels (slow_conv3d, ConvTranspose3d,
  # Linear), used by our binaries only, through their RPATH (see CMakeLists.txt)
  libopenblas0-pthread
  # desktop application
  qt6-base-dev libqt6opengl6-dev qt6-svg-dev libqcustomplot-dev libvtk9-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev xvfb xauth
  # model zoo tooling (training / export helper / Python baseline benchmarks)
  python3 python3-torch python3-numpy python3-nibabel python3-scipy
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
