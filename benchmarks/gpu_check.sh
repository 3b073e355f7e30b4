#!/usr/bin/env bash
# Ready for a GPU: a check of sspvs on a CUDA machine in under 10 minutes. Never part of CI.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, with sspvs and its dev requirements installed
#   GPU_CHECK_DEVICE=cuda:1 bash benchmarks/gpu_check.sh
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh     # default: $VIRTUAL_ENV's, else ./.venv's, else python3
#
# Runs, each under its own time limit (80 + 50 + 35 + 120 + 75 + 40 + 40 + 100 + 50 = 590 s: under 10 minutes in all), on GPU_CHECK_DEVICE:
#   1. the CUDA tests: every test in tests/ that is skipped without CUDA (found by reading the tests, see below), with that device as 'cuda';
#   2. an AMP training step of the full (official, 37.8 M) model at batch 4 x 512 steps, in precision auto, fp16 (loss scaling) and fp32;
#   3. inference throughput of the full model (`sspvs.learner.predict`, batch 4) in auto and fp32;
#   4. one short official-preset run: `sspvs-train --preset official --epochs 3` on the bundled synthetic benchmark;
#   5. +Text on CUDA: `sspvs-train --text` (small preset, 1 epoch; the bundled text encoder);
#   6. fp16 with a resume: `fit` in fp16, deterministic, 2 epochs straight and 1 + 1 resumed: the loss scaler comes back and the weights agree;
#   7. what --deterministic costs: training steps/s of the full model with deterministic algorithms on and off, and two deterministic runs compared;
#   8. the torchrun benchmark: `sspvs-benchmark` (small preset, 1 epoch, splits 0 and 1, deterministic) on 2 ranks against one process: the same results, and the times;
#   9. 2-process DDP pretraining with a resume: `torchrun --nproc_per_node=2 sspvs-pretrain --preset quick` on a synthetic corpus, 1 epoch then
#      resumed to 2 (NCCL: needs 2 GPUs; on one GPU it says so and is skipped).
# then prints one table (step, status, seconds, result). Exit status 0 when every step passed or was skipped, 1 when one failed,
# 2 when there is no CUDA device (nothing is run). Output of every step is kept in $GPU_CHECK_OUT (default: a temporary folder).
set -u
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then PY=$VIRTUAL_ENV/bin/python
elif [ -x .venv/bin/python ]; then PY=$PWD/.venv/bin/python
else PY=$(command -v python3 || command -v python || echo python3); fi
DEV=${GPU_CHECK_DEVICE:-cuda}
OUT=${GPU_CHECK_OUT:-$(mktemp -d -t sspvs-gpu-check-XXXXXX)}
mkdir -p "$OUT"
export MPLBACKEND=Agg PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TOKENIZERS_PARALLELISM=false

if ! "$PY" -c "import torch, sspvs" 2>/dev/null; then
    echo "gpu_check: DID NOT RUN: $PY cannot import torch and sspvs (set PYTHON or activate the environment sspvs is installed in); ran nothing" >&2; exit 2
fi
if ! NGPU_IDX=$("$PY" - "$DEV" <<'EOF'
import sys, torch
dev = sys.argv[1]
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: DID NOT RUN: no CUDA device: torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees none; "
             f"this check (GPU_CHECK_DEVICE={dev}) is for a CUDA machine and ran nothing")
if torch.device(dev).type != 'cuda': sys.exit(f"gpu_check: DID NOT RUN: GPU_CHECK_DEVICE={dev} is not a CUDA device; ran nothing")
i = torch.device(dev).index or 0
if i >= torch.cuda.device_count(): sys.exit(f"gpu_check: DID NOT RUN: {dev} asked for, but torch sees {torch.cuda.device_count()} CUDA device(s); ran nothing")
from sspvs.learner import cuda_has_bf16
print(f"gpu_check: {torch.cuda.get_device_name(i)} ({dev}), torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} device(s), "
      f"native bf16 {'yes' if cuda_has_bf16(dev) else 'no (auto = float16 with loss scaling)'}", file=sys.stderr)
print(torch.cuda.device_count(), i)
EOF
); then exit 2; fi
read -r NGPU IDX <<< "$NGPU_IDX"
echo "gpu_check: outputs in $OUT (python: $PY)"

ROWS="$OUT/rows.tsv"; : > "$ROWS"; FAILED=0
step() {   # step NAME LIMIT_S COMMAND...: run under a time limit, keep its log, record status, seconds and its RESULT line (exit 3: SKIPPED)
    local name=$1 limit=$2; shift 2
    local log="$OUT/$name.log" t0=$(date +%s) status
    echo "== $name (limit ${limit} s)"
    timeout "$limit" "$@" > "$log" 2>&1; local rc=$?
    if [ $rc -eq 0 ]; then status=ok; elif [ $rc -eq 3 ]; then status=SKIPPED; elif [ $rc -eq 124 ]; then status="TIMEOUT"; FAILED=1; else status="FAILED ($rc)"; FAILED=1; fi
    local res=$(grep '^RESULT ' "$log" | tail -1 | cut -c8-)
    [ $rc -ne 0 ] && [ -z "$res" ] && res="see $log: $(tail -1 "$log" | cut -c1-120)"
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - t0 ))" "$res" >> "$ROWS"
    tail -3 "$log"
}
sspvs() {   # sspvs MODULE FUNCTION ARGS...: a console script run by $PY (not whatever is first on PATH), from a script file as its wrapper is
    local mod=$1 fn=$2; shift 2
    printf 'import sys\nfrom sspvs.%s import %s\nif __name__ == "__main__":\n    sys.argv[0] = "%s"\n    %s()\n' "$mod" "$fn" "${fn//_/-}" "$fn" > "$OUT/$fn.py"
    "$PY" "$OUT/$fn.py" "$@"
}
export -f sspvs; export PY DEV OUT NGPU IDX

# 1. CUDA tests: test functions whose decorators or name mention CUDA (e.g. skipif(not torch.cuda.is_available())), with GPU_CHECK_DEVICE as 'cuda'
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
    local vis=${CUDA_VISIBLE_DEVICES:-$(seq -s, 0 $((NGPU - 1)))}
    CUDA_VISIBLE_DEVICES=$(echo "$vis" | cut -d, -f$((IDX + 1))) "$PY" -m pytest -q -rs -p no:cacheprovider $(cat "$OUT/cuda_tests.txt") | tee "$OUT/pytest.txt"
    local rc=${PIPESTATUS[0]}
    if grep -q ' skipped' "$OUT/pytest.txt"; then echo "RESULT a CUDA test was skipped on a CUDA machine"; return 1; fi
    echo "RESULT $n CUDA test(s) on $DEV: $(tail -1 "$OUT/pytest.txt")"; return $rc
}
export -f cuda_tests
step cuda-tests 80 bash -c cuda_tests

# 2. an AMP training step of the full model, in auto, fp16 (loss scaling) and fp32
step amp-train-step 50 "$PY" - "$DEV" <<'EOF'
import sys, time, torch
from sspvs.learner import ModelConfig, build_summarizer, masked_mse, resolve_precision, precision_autocast
dev = torch.device(sys.argv[1]); torch.cuda.set_device(dev); res = {}
for p in ('auto', 'fp16', 'fp32'):
    prec = resolve_precision(p, dev)
    if prec in res: continue                                    # auto is fp16 on a GPU without native bf16
    torch.manual_seed(0)
    model = build_summarizer(ModelConfig()).to(dev).train()    # the official model: 1024 wide, 3 layers, 3 stages
    opt = torch.optim.Adam(model.parameters(), lr=1e-4); scaler = torch.amp.GradScaler('cuda', enabled=prec == 'fp16')
    x, y = torch.randn(4, 512, 1024, device=dev), torch.rand(4, 512, device=dev); mask = torch.ones(4, 512, dtype=torch.bool)
    times = []
    for i in range(13):
        torch.cuda.synchronize(dev); t0 = time.perf_counter()
        with precision_autocast(dev, prec): out = model(x, mask)
        assert out['scores'].dtype == torch.float32, f"{prec}: scores in {out['scores'].dtype}"
        loss = masked_mse(out['scores'], y, mask.to(dev))
        opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        torch.cuda.synchronize(dev); times.append(time.perf_counter() - t0)
        assert torch.isfinite(loss), f"{prec}: loss {loss.item()} at step {i}"
    assert all(torch.isfinite(q).all() for q in model.parameters()), f"{prec}: non-finite weights"
    res[prec] = 10 / sum(times[3:])
    print(f"{prec}: {res[prec]:.1f} steps/s (batch 4 x 512, after 3 warm-up steps), last loss {loss.item():.4f}, "
          f"peak {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB" + (f", loss scale {scaler.get_scale():.0f}" if prec == 'fp16' else ''))
print("RESULT finite loss and weights, fp32 scores; " + ', '.join(f"{k} {v:.1f} steps/s ({v / res['fp32']:.2f}x)" for k, v in res.items()))
EOF

# 3. inference throughput of the full model
step inference 35 "$PY" - "$DEV" <<'EOF'
import sys, time, numpy as np, torch
from sspvs.learner import ModelConfig, build_summarizer, predict, resolve_precision
dev = torch.device(sys.argv[1]); torch.cuda.set_device(dev)
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
    ties = np.mean([1 - len(np.unique(pa[k])) / len(pa[k]) for k in pa])
    print(f"RESULT {a} {res[a]:.1f} videos/s, {b} {res[b]:.1f} videos/s; max score difference {d:.4f}; tied steps in {a} {100 * ties:.2f}%")
    assert d < 0.1, f"{a} and {b} scores differ by {d}"
else: print(f"RESULT {res.popitem()[1]:.1f} videos/s")
EOF

result_line() {   # result_line RUN_FOLDER: the selected epoch's test numbers of a sspvs-train run
    "$PY" - "$1" <<'EOF'
import json, sys, pathlib
r = json.loads(next(pathlib.Path(sys.argv[1]).rglob('result.json')).read_text())
v = r['selected'].get('validation', r['selected']['last'])
print(f"RESULT {len(r['history'])} epochs, {r['model']['n_stages']} stages{', text' if r['model'].get('text_dim') else ''}, {r['train']['precision']}, "
      f"{r['train_seconds']:.0f} s training; test F1 {100 * v['f1']:.1f}, tau {v['kendall']:.3f} (synthetic data)")
EOF
}
export -f result_line

# 4. one short official-preset run (synthetic benchmark, split 0, seed 0, 3 epochs)
short_run() { sspvs benchmark sspvs_train --dataset tvsum --preset official --epochs 3 --device "$DEV" --out "$OUT/official-run" --no_progress --no_figures && result_line "$OUT/official-run"; }
export -f short_run
step official-run 120 bash -c short_run

# 5. +Text on CUDA: the text encoder and its projection on the GPU
text_run() { sspvs benchmark sspvs_train --dataset tvsum --preset small --text --epochs 1 --device "$DEV" --out "$OUT/text-run" --no_progress --no_figures && result_line "$OUT/text-run"; }
export -f text_run
step text-run 75 bash -c text_run

# 6. fp16 with loss scaling, resumed: the scaler's state comes back with the checkpoint
step fp16-resume 40 "$PY" - "$DEV" "$OUT/fp16" <<'EOF'
import sys, pathlib, torch
from sspvs.core import set_deterministic
set_deterministic()
from sspvs.learner import ModelConfig, TrainConfig, build_summarizer, fit, read_checkpoint
from sspvs.benchmark import load_benchmarks
from sspvs.synthetic import synthetic_dir
dev, out = torch.device(sys.argv[1]), pathlib.Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True); torch.cuda.set_device(dev)
recs = list(next(f for f in load_benchmarks(synthetic_dir()).values() if f.name == 'tvsum'))[:20]
mc, tc = ModelConfig.small(recs[0].features.shape[1], n_stages=4), TrainConfig(epochs=2, precision='fp16', seed=0)
class Stop(Exception): pass
def stop_after_1(m, e, entry):
    if e == 2: raise Stop
def run(ck, hook=None):
    torch.manual_seed(0); m = build_summarizer(mc)
    try: fit(m, recs, tc, device=dev, checkpoint=ck, on_epoch=hook, progress=False)
    except Stop: pass
    return m
a = run(out/'a.safetensors')
run(out/'b.safetensors', stop_after_1)                     # 1 epoch (the second is lost before its checkpoint)
s1 = read_checkpoint(out/'b.safetensors').extra['epoch'], read_checkpoint(out/'b.safetensors').scaler
b = run(out/'b.safetensors')                                # resumed to 2
ka, kb = read_checkpoint(out/'a.safetensors'), read_checkpoint(out/'b.safetensors')
assert s1[0] == 1 and s1[1] is not None, f"the 1-epoch checkpoint holds no loss scaler: {s1}"
assert ka.extra['precision'] == 'fp16' and ka.scaler == kb.scaler, (ka.scaler, kb.scaler)
d = max(float((x - y).abs().max()) for x, y in zip(ka.model.values(), kb.model.values()))
print(f"RESULT fp16 + GradScaler: scale {ka.scaler['scale']:.0f} resumed exactly; resumed vs straight weights differ by {d:.2e}{' (equal)' if d == 0 else ''}")
assert d < 1e-5, f"resumed weights differ from the straight run's by {d}"
EOF

# 7. what --deterministic costs (and buys): the full model's training steps with it on and off, in auto precision
step deterministic 40 "$PY" - "$DEV" <<'EOF'
import os, sys, time, torch
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
from sspvs.core import set_deterministic
from sspvs.learner import ModelConfig, build_summarizer, masked_mse, resolve_precision, precision_autocast
dev = torch.device(sys.argv[1]); torch.cuda.set_device(dev); prec = resolve_precision('auto', dev)
def train(det, steps=8):
    set_deterministic(det); torch.manual_seed(0)
    model = build_summarizer(ModelConfig()).to(dev).train(); opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler('cuda', enabled=prec == 'fp16')
    g = torch.Generator(device=dev).manual_seed(0)
    x, y = torch.randn(4, 512, 1024, device=dev, generator=g), torch.rand(4, 512, device=dev, generator=g); mask = torch.ones(4, 512, dtype=torch.bool)
    t = []
    for i in range(steps):
        torch.cuda.synchronize(dev); t0 = time.perf_counter()
        with precision_autocast(dev, prec): loss = masked_mse(model(x, mask)['scores'], y, mask.to(dev))
        opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        torch.cuda.synchronize(dev); t.append(time.perf_counter() - t0)
    return (steps - 3) / sum(t[3:]), torch.cat([p.detach().flatten() for p in model.parameters()])
fast, w0 = train(False); det, w1 = train(True); _, w2 = train(True)
same = torch.equal(w1, w2)
print(f"RESULT {prec}: deterministic {det:.1f} steps/s against {fast:.1f} ({det / fast:.2f}x); two deterministic runs {'equal bit for bit' if same else 'DIFFER'}")
assert same, "two deterministic runs differ"
EOF

# 8. the torchrun benchmark: 2 ranks against one process (on one GPU both ranks share it: the process group is gloo, the runs independent)
torchrun_bench() {
    local args="--dataset tvsum --setting canonical --preset small --epochs 1 --seeds 1 --folds 0,1 --deterministic --device $DEV --no_progress --no_figures"
    local t0=$(date +%s); sspvs benchmark sspvs_benchmark $args --workers 1 --out "$OUT/bench1" || return $?     # also writes $OUT/sspvs_benchmark.py
    local t1=$(date +%s); "$PY" -m torch.distributed.run --standalone --nproc_per_node=2 "$OUT/sspvs_benchmark.py" $args --out "$OUT/bench2" || return $?
    local t2=$(date +%s)
    "$PY" - "$OUT/bench1" "$OUT/bench2" $((t1 - t0)) $((t2 - t1)) <<'EOF'
import json, sys, pathlib
num = lambda sel: {k: {m: v[m] for m in ('epoch', 'f1', 'kendall', 'spearman', 'loss') if m in v} for k, v in sel.items()}   # not the timings
res = [{str(p.relative_to(d)): num(json.loads(p.read_text())['selected']) for p in pathlib.Path(d).rglob('result.json')} for d in sys.argv[1:3]]
assert res[0] and res[0].keys() == res[1].keys(), f"different runs: {sorted(res[0])} vs {sorted(res[1])}"
same = res[0] == res[1]
print(f"RESULT {len(res[0])} runs: one process {sys.argv[3]} s, torchrun 2 ranks {sys.argv[4]} s; results {'equal' if same else 'DIFFER'}")
sys.exit(0 if same else 1)
EOF
}
export -f torchrun_bench
step torchrun-benchmark 100 bash -c torchrun_bench

# 9. 2-process DDP pretraining (NCCL, one GPU a process) with a resume
ddp_pretrain() {
    if [ "$NGPU" -lt 2 ]; then echo "RESULT needs 2 GPUs (NCCL, one per process), this machine has $NGPU: skipped"; return 3; fi
    "$PY" -c "from sspvs.synthetic import make_corpus; make_corpus('$OUT/corpus.h5', n_videos=64, seed=0)" || return $?
    local run="$PY -m torch.distributed.run --standalone --nproc_per_node=2 -m sspvs.pretrain $OUT/corpus.h5 --preset quick --out $OUT/ddp --device cuda --no_progress"
    $run --epochs 1 && $run --epochs 2 || return $?
    "$PY" - "$OUT/ddp" <<'EOF'
import json, sys, pathlib
h = json.loads((pathlib.Path(sys.argv[1])/'history.json').read_text())
assert [e['epoch'] for e in h] == [1, 2], h
print(f"RESULT 2 processes, resumed after epoch 1: epochs {[e['epoch'] for e in h]}, val match acc {h[-1].get('val_match_acc', float('nan')):.3f}, {h[-1]['seconds']:.0f} s/epoch")
EOF
}
export -f ddp_pretrain
step ddp-pretrain 50 bash -c ddp_pretrain

echo
echo "| step | status | seconds | result |"
echo "|---|---|---|---|"
while IFS=$'\t' read -r n s t r; do echo "| $n | $s | $t | $r |"; done < "$ROWS"
echo
echo "logs: $OUT"
exit $FAILED
