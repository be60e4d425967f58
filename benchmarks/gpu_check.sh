#!/usr/bin/env bash
# One prepared GPU check (<= ~9 minutes on one H100/H200), run in ONE device call:
#   bash benchmarks/gpu_check.sh            # tables to stdout and to $OUT (default /tmp/trm_gpu_check)
# 1. the `gpu` tests (CUDA fp32 == CPU, bf16 training step, compiled == eager, the trainer on CUDA);
# 2. training throughput of sudoku_mlp and sudoku_att at the paper's batch 768 in bf16, eager and compiled,
#    with % of a bf16 matmul measured in the same process (benchmarks/train_throughput.py --device cuda);
# 3. a 3-minute Sudoku training run (generated minimal 9x9 puzzles; the machine has no internet) and its curve;
# 4. test-time compute on that model (benchmarks/test_time_compute.py: steps, noise, smc, smc+gate, augment).
# At most 8 files come back from a device call, so $OUT holds 8: summary, tests, throughput, curve (txt, png),
# ttc (txt, json, png).
# Uses the machine's torch: PYTHONPATH=src, nothing installed. Works on the CPU too (slowly), for a dry run:
#   TRM_GPU_CHECK_DEVICE=cpu TRM_GPU_CHECK_BATCH=8 TRM_GPU_CHECK_MINUTES=0.2 TRM_GPU_CHECK_TTC_LIMIT=4 \
#     TRM_GPU_CHECK_TTC_BUDGETS=1,2 bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
OUT="${OUT:-/tmp/trm_gpu_check}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
DEVICE="${TRM_GPU_CHECK_DEVICE:-cuda}"
BATCH="${TRM_GPU_CHECK_BATCH:-768}"
MINUTES="${TRM_GPU_CHECK_MINUTES:-3}"
TTC_LIMIT="${TRM_GPU_CHECK_TTC_LIMIT:-200}"
TTC_BUDGETS="${TRM_GPU_CHECK_TTC_BUDGETS:-1,4,16}"
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
    --steps 10 --warmup 3 $flag 2>&1 | grep -v Warning | tee -a "$OUT/throughput.txt"
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

echo "== 4. test-time compute on that model, first $TTC_LIMIT test puzzles" | tee -a "$OUT/summary.txt"
# A model that solves (almost) nothing gives search nothing to select from (the H200 run of 2026-12-04:
# 0% exact after 3 minutes of the paper recipe, every strategy 0%), so step 4 needs >= 5% held-out exact.
exact=$("$PY" -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; \
e=[x['exact_accuracy'] for x in r if x.get('kind')=='eval']; print(e[-1] if e else 0)" "$WORK/run/metrics.jsonl" 2>/dev/null || echo 0)
if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.05 else 1)" "$exact"; then
  timeout 240 "$PY" benchmarks/test_time_compute.py "$WORK/run" --limit "$TTC_LIMIT" --device "$DEVICE" \
    --strategies steps,noise,smc,smc+gate,augment --budgets "$TTC_BUDGETS" --batch-size 200 --max-rows 4096 \
    --diagnose --json "$OUT/ttc.json" --png "$OUT/ttc.png" 2>&1 | grep -v Warning | tee "$OUT/ttc.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
  echo "skipped: the model solves $exact of the held-out puzzles (< 0.05)" | tee -a "$OUT/summary.txt"
fi
echo "status $status; tables in $OUT" | tee -a "$OUT/summary.txt"
exit $status
