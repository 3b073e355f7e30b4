"""Peak memory of the alignment objective's Hausdorff distance, forward and backward, in its two forms:
the difference form ((B, N, M, D) tensor of X - Y, the official code's and sspvs's before) and the Gram form (2 - 2 X Yᵀ on unit vectors, sspvs's now).

    python benchmarks/bench_hausdorff_memory.py            # the paper's preset and the quick preset's width

Each measurement runs in a fresh process: the peak resident memory (ru_maxrss) of forward + backward, less the peak after the inputs
were made. Prints one table with the CPU model; CPU only (the same tensors would be allocated on a GPU).
"""
import json, platform, resource, subprocess, sys

SHAPES = {   # B videos x N frames x M words x D width
    'paper (B 8, N 256, M 64, D 1024)': (8, 256, 64, 1024),
    'quick (B 8, N 256, M 64, D 128)': (8, 256, 64, 128),
}

CHILD = r'''
import json, resource, sys, torch, torch.nn.functional as F
from sspvs.ssl import hausdorff_distance
form, (B, N, M, D) = sys.argv[1], json.loads(sys.argv[2])
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
X, Y = torch.randn(B, N, D, generator=g, requires_grad=True), torch.randn(B, M, D, generator=g, requires_grad=True)
def difference(X, Y):   # the (B, N, M, D) form
    X, Y = F.normalize(X, dim=-1), F.normalize(Y, dim=-1)
    d2 = ((X[:, :, None] - Y[:, None]) ** 2).sum(-1)
    return torch.maximum(d2.min(2).values.max(1).values, d2.min(1).values.max(1).values).clamp_min(1e-12).sqrt()
peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
d = (difference if form == 'difference' else hausdorff_distance)(X, Y)
d.sum().backward()
print(json.dumps(dict(extra_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak0, d=d.tolist())))
'''

def cpu_model()->str:
    try:
        for l in open('/proc/cpuinfo'):
            if l.startswith('model name'): return l.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()

def measure(form:str, shape)->dict:
    r = subprocess.run([sys.executable, '-c', CHILD, form, json.dumps(shape)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])

if __name__ == '__main__':
    print(f"Hausdorff distance, forward + backward, peak memory above the inputs; {cpu_model()}, torch 1 thread\n")
    print("| shape | (B, N, M, D) float32 tensor | difference form | Gram form | ratio | max distance difference |")
    print("|---|---|---|---|---|---|")
    for name, shape in SHAPES.items():
        a, b = measure('difference', shape), measure('gram', shape)
        B, N, M, D = shape
        diff = max(abs(x - y) for x, y in zip(a['d'], b['d']))
        print(f"| {name} | {B * N * M * D * 4 / 2**20:.0f} MiB | {a['extra_kib'] / 1024:.0f} MiB | {b['extra_kib'] / 1024:.1f} MiB | "
              f"{a['extra_kib'] / max(b['extra_kib'], 1):.0f}x | {diff:.1e} |")
