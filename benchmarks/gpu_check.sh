#!/usr/bin/env bash
# Ready for a GPU: a check of sspvs on a CUDA machine in under 10 minutes. Never part of CI.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, with sspvs and its dev requirements installed
#   GPU_CHECK_DEVICE=cuda:1 bash benchmarks/gpu_check.sh
#
# Runs, each under its own time limit (150 + 90 + 90 + 210 s: under 10 minutes in all):
#   1. the CUDA tests: every test in tests/ that is skipped without CUDA (found by reading the tests, see below);
#   2. an AMP training step of the full (official, 37.8 M) model at batch 4 x 512 steps, in precision auto and in fp32;
#   3. inference throughput of the full model (`sspvs.learner.predict`, batch 4) in auto and fp32;
#   4. one short official-preset run: `sspvs-train --preset official --epochs 3` on the bundled synthetic benchmark.
# then prints one table (step, status, seconds, result). Exit status 0 when every step passed, 1 when one failed,
# 2 when there is no CUDA device (nothing is run). Output of every step is kept in $GPU_CHECK_OUT (default: a temporary folder).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DEV=${GPU_CHECK_DEVICE:-cuda}
OUT=${GPU_CHECK_OUT:-$(mktemp -d -t sspvs-gpu-check-XXXXXX)}
mkdir -p "$OUT"
export MPLBACKEND=Agg PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PY" - "$DEV" <<'EOF'
import sys, torch
dev = sys.argv[1]
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: no CUDA device: torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees none; "
             "this check is for a CUDA machine and ran nothing")
i = torch.device(dev).index or 0
if i >= torch.cuda.device_count(): sys.exit(f"gpu_check: {dev} asked for, but torch sees {torch.cuda.device_count()} CUDA device(s); ran nothing")
print(f"gpu_check: {torch.cuda.get_device_name(i)} ({dev}), torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no (auto = float16 with loss scaling)'}")
EOF
then exit 2; fi
echo "gpu_check: outputs in $OUT"

ROWS="$OUT/rows.tsv"; : > "$ROWS"; FAILED=0
step() {   # step NAME LIMIT_S COMMAND...: run under a time limit, keep its log, record status, seconds and its RESULT line
    local name=$1 limit=$2; shift 2
    local log="$OUT/$name.log" t0=$(date +%s) status
    echo "== $name (limit ${limit} s)"
    timeout "$limit" "$@" > "$log" 2>&1; local rc=$?
    if [ $rc -eq 0 ]; then status=ok; elif [ $rc -eq 124 ]; then status="TIMEOUT"; FAILED=1; else status="FAILED ($rc)"; FAILED=1; fi
    local res=$(grep '^RESULT ' "$log" | tail -1 | cut -c8-)
    [ $rc -ne 0 ] && [ -z "$res" ] && res="see $log: $(tail -1 "$log" | cut -c1-120)"
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - t0 ))" "$res" >> "$ROWS"
    tail -3 "$log"
}

# 1. CUDA tests: test functions whose decorators or name mention CUDA (e.g. skipif(not torch.cuda.is_available()))
cuda_tests() {
    "$PY" - <<'EOF' > "$OUT/cuda_tests.txt"
import ast, pathlib
for f in sorted(pathlib.Path('tests').glob('test_*.py')):
    for n in ast.walk(ast.parse(f.read_text())):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith('test') and \
           ('cuda' in n.name.lower() or any('cuda' in ast.unparse(d).lower() for d in n.decorator_list)):
            print(f"{f}::{n.name}")
EOF
    local n=$(wc -l < "$OUT/cuda_tests.txt")
    [ "$n" -gt 0 ] || { echo "RESULT no CUDA test found in tests/"; return 1; }
    "$PY" -m pytest -q -rs -p no:cacheprovider $(cat "$OUT/cuda_tests.txt") | tee "$OUT/pytest.txt"; local rc=${PIPESTATUS[0]}
    if grep -q ' skipped' "$OUT/pytest.txt"; then echo "RESULT a CUDA test was skipped on a CUDA machine"; return 1; fi
    echo "RESULT $n CUDA test(s): $(tail -1 "$OUT/pytest.txt")"; return $rc
}
export -f cuda_tests; export PY DEV OUT   # `timeout` runs programs, not shell functions
step cuda-tests 150 bash -c cuda_tests

# 2. an AMP training step of the full model
step amp-train-step 90 "$PY" - "$DEV" <<'EOF'
import sys, time, torch
from sspvs.learner import ModelConfig, build_summarizer, masked_mse, resolve_precision, precision_autocast
dev = torch.device(sys.argv[1]); res = {}
for p in ('auto', 'fp32'):
    prec = resolve_precision(p, dev)
    torch.manual_seed(0)
    model = build_summarizer(ModelConfig()).to(dev).train()    # the official model: 1024 wide, 3 layers, 3 stages
    opt = torch.optim.Adam(model.parameters(), lr=1e-4); scaler = torch.amp.GradScaler('cuda', enabled=prec == 'fp16')
    x, y = torch.randn(4, 512, 1024, device=dev), torch.rand(4, 512, device=dev); mask = torch.ones(4, 512, dtype=torch.bool, device=dev)
    times = []
    for i in range(13):
        torch.cuda.synchronize(dev); t0 = time.perf_counter()
        with precision_autocast(dev, prec): s = model(x, mask)['scores']
        loss = masked_mse(s, y, mask)
        opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        torch.cuda.synchronize(dev); times.append(time.perf_counter() - t0)
        assert torch.isfinite(loss), f"{prec}: loss {loss.item()} at step {i}"
    assert all(torch.isfinite(q).all() for q in model.parameters()), f"{prec}: non-finite weights"
    res[prec] = 10 / sum(times[3:])
    print(f"{prec}: {res[prec]:.1f} steps/s (batch 4 x 512, after 3 warm-up steps), last loss {loss.item():.4f}, "
          f"peak {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")
amp = next(k for k in res if k != 'fp32')   # on CUDA auto is bf16 or fp16, never fp32
print(f"RESULT finite loss and weights; {amp} {res[amp]:.1f} steps/s, fp32 {res['fp32']:.1f} steps/s ({res[amp] / res['fp32']:.2f}x)")
EOF

# 3. inference throughput of the full model
step inference 90 "$PY" - "$DEV" <<'EOF'
import sys, time, numpy as np, torch
from sspvs.learner import ModelConfig, build_summarizer, predict, resolve_precision
dev = torch.device(sys.argv[1])
class R:   # a record: features and a full key
    def __init__(s, i, n): s.full_key, s.n_steps, s.features = f'v{i}', n, np.random.default_rng(i).normal(size=(n, 1024)).astype(np.float32)
lengths = np.random.default_rng(0).integers(100, 1500, 64)     # TVSum/SumMe-like lengths in steps (15 frames each)
recs = [R(i, int(n)) for i, n in enumerate(lengths)]
torch.manual_seed(0); model = build_summarizer(ModelConfig()).to(dev)
out, res = {}, {}
for p in ('auto', 'fp32'):
    prec = resolve_precision(p, dev)
    predict(model, recs[:4], precision=prec)                  # warm-up
    torch.cuda.synchronize(dev); t0 = time.perf_counter()
    out[prec] = predict(model, recs, batch_size=4, precision=prec)
    torch.cuda.synchronize(dev); res[prec] = len(recs) / (time.perf_counter() - t0)
    assert all(np.isfinite(v).all() for v in out[prec].values())
    print(f"{prec}: {res[prec]:.1f} videos/s ({len(recs)} videos of {lengths.min()}-{lengths.max()} steps, batch 4)")
if len(out) == 2:
    (a, pa), (b, pb) = out.items()
    d = max(float(np.abs(pa[k] - pb[k]).max()) for k in pa)
    print(f"RESULT {a} {res[a]:.1f} videos/s, {b} {res[b]:.1f} videos/s; max score difference {d:.4f}")
    assert d < 0.1, f"{a} and {b} scores differ by {d}"
else: print(f"RESULT {res.popitem()[1]:.1f} videos/s")
EOF

# 4. one short official-preset run (synthetic benchmark, split 0, seed 0, 3 epochs)
short_run() {
    sspvs-train --dataset tvsum --preset official --epochs 3 --device "$DEV" --out "$OUT/official-run" --no_progress || return $?
    "$PY" - "$OUT/official-run" <<'EOF'
import json, sys, pathlib
r = json.loads((pathlib.Path(sys.argv[1])/'split0'/'seed0'/'result.json').read_text())
v = r['selected'].get('validation', r['selected']['last'])
print(f"RESULT {len(r['history'])} epochs, {r['model']['n_stages']} stages, {r['train']['precision']}, {r['train_seconds']:.0f} s training; "
      f"test F1 {100 * v['f1']:.1f}, tau {v['kendall']:.3f} (synthetic data)")
EOF
}
export -f short_run
step official-run 210 bash -c short_run

echo
echo "| step | status | seconds | result |"
echo "|---|---|---|---|"
while IFS=$'\t' read -r n s t r; do echo "| $n | $s | $t | $r |"; done < "$ROWS"
echo
echo "logs: $OUT"
exit $FAILED
