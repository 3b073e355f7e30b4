"""CPU paths of the small and the default progressive summarizer (one thread, best-of CPU times):

1. inference with and without torch's fused Transformer "fast path" (a batch of 4 videos of 600, 450, 300, 200 steps),
   and the largest difference between the two scores (nbs/09_progressive.ipynb cites this);
2. one training step of the small model (4 crops of 256 steps) with no padding and with real padding, at encoder
   dropout 0.1, 0.5 and 0 (dropout on the attention weights selects a slower attention path on the CPU).

    python benchmarks/bench_cpu_paths.py
"""
import contextlib, time, torch, numpy as np
import sspvs.progressive as P
from sspvs.learner import build_summarizer
P.no_fastpath = lambda off=True: contextlib.nullcontext()   # let torch's global switch alone decide, for the comparison
from sspvs.encoders import length_mask
torch.set_num_threads(1)
for name, cfg in (('small (64 wide, 2 layers, 4 stages)', dict(feat_dim=1024, d_model=64, n_layers=2, n_heads=4, d_ff=128, n_stages=4)),
                  ('default (1024 wide, 3 layers, 3 stages)', dict(n_stages=3))):
    torch.manual_seed(0); m = build_summarizer(cfg).eval()
    x = torch.randn(4, 600, 1024); mask = length_mask([600, 450, 300, 200])
    res = {}
    for fp in (True, False):
        torch.backends.mha.set_fastpath_enabled(fp)
        with torch.no_grad():
            m(x, mask); best = 1e9
            for _ in range(3):
                t0 = time.process_time(); o = m(x, mask)['scores']; best = min(best, time.process_time() - t0)
        res[fp] = (best, o)
    print(f"{name}: fast path {res[True][0]:.3f} s CPU, without {res[False][0]:.3f} s; ratio {res[True][0]/res[False][0]:.2f}; max diff {(res[True][1]-res[False][1]).abs().max():.1e}")

# --- training steps ---

x = torch.randn(4, 256, 1024); full = length_mask([256]*4); part = length_mask([256, 200, 256, 256])
for drop in (0.1, 0.5, 0.0):
    torch.manual_seed(0); m = build_summarizer(dict(feat_dim=1024, d_model=64, n_layers=2, n_heads=4, d_ff=128, n_stages=4, dropout=drop)).train()
    for name, mask in (('no padding', full), ('with padding', part)):
        best = 1e9
        for _ in range(4):
            t0 = time.process_time(); m(x, mask)['scores'].sum().backward(); best = min(best, time.process_time() - t0)
        print(f'dropout {drop}: {name}: train step {best*1000:.0f} ms CPU')
