#!/bin/sh
# Reproduces the shipped demo checkpoint from a seed, CPU only (see README.md):
#   training/reproduce.sh [RUN_DIR] [SEED]
# Every stage resumes from its last checkpoint, so the script can be stopped and started again;
# a finished stage (its DONE file) is skipped. Progress and ETA go to RUN_DIR/stageN/train.log.
set -eu
cd "$(dirname "$0")"
RUN=${1:-runs/demo}
SEED=${2:-20}
PY=/usr/bin/python3       # Debian's python3 with python3-torch, not a pyenv build
NICE="nice -n 19"         # the machine is shared: training never takes priority over interactive work
mkdir -p "$RUN"

[ -f "$RUN/stage1/DONE" ] || $NICE $PY -m convllava.stage1 --run "$RUN" --seed "$SEED" \
    --side 512 --widths 32,64,128,192,384 --depths 1,2,3,2,2 --steps 8000 --batch 8 --lr 1.5e-3
[ -f "$RUN/stage2/DONE" ] || $NICE $PY -m convllava.llm_train --run "$RUN" --seed "$SEED" --stage 2 \
    --steps 2500 --batch 8 --lr 1e-3 --hidden 256 --layers 4 --heads 8 --intermediate 688
[ -f "$RUN/stage3/DONE" ] || $NICE $PY -m convllava.llm_train --run "$RUN" --seed "$SEED" --stage 3 \
    --steps 2000 --batch 8 --lr 3e-4 --tower-lr 1e-4 --aux-weight 0.5 --hidden 256 --layers 4 --heads 8 --intermediate 688

$PY -m convllava.export --run "$RUN" --stage 3 --out ../demo-model
$NICE $PY -m convllava.evaluate --model ../demo-model/ConvLLaVA-demo-charts-512 --seed "$SEED" --n 200 \
    --out ../docs/training/eval_pad.json
$PY -m convllava.golden --model ../demo-model/ConvLLaVA-demo-charts-512 --out ../demo-model/golden
$PY -m convllava.curves --run "$RUN" --out ../docs/training
