#!/bin/sh
# Train (and export) one zoo model at low priority, e.g.
#   models/train.sh --model cnn --iters 500 --threads 1
#   models/train.sh --model hybrid --iters 500 --threads 1
# Debian's python3-torch uses whatever libblas.so.3 the alternatives system points at; the
# reference BLAS makes nn.Linear / matmul / ConvTranspose3d 2-3x slower. If OpenBLAS is
# installed (apt-get install libopenblas0-pthread) it is used for this process only.
cd "$(dirname "$0")/.." || exit 1
OB=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ -e "$OB/libblas.so.3" ]; then
  export LD_LIBRARY_PATH="$OB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export OPENBLAS_NUM_THREADS=1
fi
exec nice -n 10 /usr/bin/python3 -m models.train "$@"
