#!/usr/bin/env bash
# One prepared GPU check (<= ~6 minutes on one H100/H200), run in ONE device call:
#   bash benchmarks/gpu_check.sh            # tables to stdout and to $OUT (default /tmp/trm_gpu_check)
# 1. the `gpu` tests (CUDA fp32 == CPU, bf16 training step, compiled == eager, the trainer on CUDA);
# 2. training throughput of sudoku_mlp and sudoku_att at the paper's batch 768 in bf16, eager and compiled,
#    with % of a bf16 matmul measured in the same process (benchmarks/train_throughput.py --device cuda);
# 3. a 3-minute Sudoku training run (generated minimal 9x9 puzzles; the machine has no internet) and its curve.
# Uses the machine's torch: PYTHONPATH=src, nothing installed. Works on the CPU too (slowly), for a dry run:
#   TRM_GPU_CHECK_DEVICE=cpu TRM_GPU_CHECK_BATCH=8 TRM_GPU_CHECK_MINUTES=0.2 bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
OUT="${OUT:-/tmp/trm_gpu_check}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
DEVICE="${TRM_GPU_CHECK_DEVICE:-cuda}"
BATCH="${TRM_GPU_CHECK_BATCH:-768}"
MINUTES="${TRM_GPU_CHECK_MINUTES:-3}"
WORK="${TMPDIR:-/tmp}/trm_gpu_check_work"
rm -rf "$WORK" && mkdir -p "$WORK"
status=0

echo "== machine" | tee "$OUT/summary.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} | tee -a "$OUT/summary.txt"

# The training data is generated on the CPU cores while the GPU runs steps 1-2.
"$PY" -m trm data sudoku "$WORK/sudoku9" -s generate --size 9 --train-count 1000 --test-count 200 \
  --num-aug 100 > "$WORK/data.log" 2>&1 &
data_pid=$!

echo "== 1. gpu tests" | tee -a "$OUT/summary.txt"
timeout 150 "$PY" -m pytest -q -m gpu tests/test_gpu.py -p no:cacheprovider 2>&1 | tail -5 | tee "$OUT/gpu_tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== 2. throughput, batch $BATCH, bf16" | tee -a "$OUT/summary.txt"
for mode in eager compile; do
  flag=""; [ "$mode" = compile ] && flag="--compile"
  timeout 200 "$PY" benchmarks/train_throughput.py --device "$DEVICE" --batch "$BATCH" --dtypes bfloat16 \
    --steps 10 --warmup 3 $flag 2>&1 | grep -v Warning | tee "$OUT/throughput_$mode.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

echo "== 3. ${MINUTES}-minute Sudoku 9x9 training run" | tee -a "$OUT/summary.txt"
wait "$data_pid" || { cat "$WORK/data.log"; status=1; }
timeout $(( ${MINUTES%.*} * 60 + 150 )) "$PY" -m trm train --recipe sudoku_mlp data.path="$WORK/sudoku9" \
  out_dir="$WORK/run" train.device="$DEVICE" train.global_batch_size="$BATCH" train.max_minutes="$MINUTES" \
  train.lr_warmup_steps=100 train.log_every=20 eval.batch_size=1024 > "$WORK/train.log" 2>&1 || status=1
tail -3 "$WORK/train.log" | tee -a "$OUT/summary.txt"
"$PY" - "$WORK/run/metrics.jsonl" <<'PYEOF' | tee "$OUT/training_curve.txt"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{'split':<6} {'step':>6} {'loss':>8} {'exact':>7} {'ex/s':>9}")
for r in rows:
    print(f"{r.get('kind', ''):<6} {r.get('step', 0):>6} {r.get('loss', float('nan')):>8.4f} "
          f"{r.get('exact_accuracy', float('nan')):>7.4f} {r.get('examples_per_s', float('nan')):>9.0f}")
PYEOF
"$PY" -m trm plot "$WORK/run" --out "$OUT/training_curves.png" > /dev/null 2>&1 || true
cp "$WORK/run/metrics.jsonl" "$OUT/metrics.jsonl" 2>/dev/null || true
echo "status $status; tables in $OUT" | tee -a "$OUT/summary.txt"
exit $status
