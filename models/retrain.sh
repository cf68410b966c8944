#!/bin/sh
# Retrains a shipped zoo model from scratch, exactly as it was made (fixed seed), in one
# command:  models/retrain.sh cnn | transunet   [extra train.py options, e.g. --threads 2]
# 1. four synthetic phantoms (needs the C++ build: build/bin/medquanbench-cli),
# 2. 3000 iterations on the sample CT, 3. 600 more with 40 % of the patches from the phantoms,
# then evaluation and export to models/zoo/<name>.pt. Run dir: models/runs/<name>-retrain.
set -e
cd "$(dirname "$0")/.."
model="$1"; shift || true
case "$model" in
  cnn) name=MQB-nnUNet-S ;;
  transunet) name=MQB-TransUNet-S ;;
  *) echo "usage: models/retrain.sh cnn|transunet [train.py options]" >&2; exit 2 ;;
esac
cli=build/bin/medquanbench-cli
[ -x "$cli" ] || { echo "retrain: $cli not found; build first (bash scripts/build.sh)" >&2; exit 1; }
ph=models/runs/phantoms
mkdir -p "$ph"
for k in 11 12 13 14; do
  [ -e "$ph/phantom${k}_ct.nii.gz" ] || "$cli" phantom --seed "$k" --out "$ph/phantom${k}_ct.nii.gz" \
      --labels "$ph/phantom${k}_seg.nii.gz"
done
run=models/runs/$name-retrain
models/train.sh --model "$model" --iters 3000 --threads 1 --run-dir "$run" --no-export "$@"
models/train.sh --model "$model" --iters 3600 --threads 1 --run-dir "$run" --resume --phantoms "$ph" "$@"
