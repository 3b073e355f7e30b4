"""Training and inference speed of the DEFAULT progressive summarizer (37.8 M encoder, 3 stages) at batch 4.

Padding/masking: ours pads each batch to its longest video (after the 512-step training crop) and masks the
padding; the official code pads every video to 512 steps with no mask. Both run on the same batches of video
lengths drawn from the real SumMe / TVSum length distributions (n_steps = ceil(n_frames / 15) from the raw
annotations under $SSPVS_DATA) or, without the research data, from the synthetic benchmark.
Wall-clock rates suffer on a shared machine; "CPU s" (process CPU time, all threads) measures the work itself.
Each configuration runs in its own subprocess so that its peak memory (CPU: peak RSS of the process; CUDA:
torch.cuda.max_memory_allocated) is its own.

    python benchmarks/bench_train.py                 # CPU: a few minutes
    python benchmarks/bench_train.py --steps 20 --device cuda
"""
import argparse, json, math, os, platform, resource, subprocess, sys, time, tempfile
import numpy as np, torch

def lengths_of(dataset):
    "n_steps of every video of `dataset` ('summe' or 'tvsum'), and where they came from."
    from sspvs.core import data_path
    folder = data_path(dataset)
    if folder is not None:
        from sspvs.annotations import read_tvsum, read_summe
        ann = (read_tvsum if dataset == 'tvsum' else read_summe)(folder)
        return [math.ceil(a.n_frames / 15) for a in ann.values()], f'raw {dataset} annotations ({folder})'
    from sspvs.synthetic import make_benchmark
    from sspvs.data import BenchmarkFile
    p = make_benchmark(Path(tempfile.mkdtemp())/f'{dataset}.h5', dataset=dataset, feat_dim=8)
    return [r.n_steps for r in BenchmarkFile(p)], f'synthetic {dataset}'

def batches(lengths, n, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.choice(lengths, batch_size).tolist() for _ in range(n)]

def peak_memory(device):
    if device.type == 'cuda': return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux -> MiB

def worker(job):
    "Run one configuration (in a subprocess) and print its result as JSON."
    from sspvs.core import get_device, autocast, amp_dtype
    from sspvs.learner import ModelConfig, build_summarizer, masked_mse, predict
    from sspvs.encoders import length_mask
    device = get_device(job['device'])
    torch.manual_seed(0)
    model = build_summarizer(ModelConfig(n_stages=job['n_stages'])).to(device)
    D, out = 1024, {}
    if job['kind'] == 'train':
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype(device) == torch.float16)
        model.train()
        times, tokens = [], 0
        for i, lens in enumerate(job['batches']):
            lens = [min(l, 512) for l in lens]                           # the 512-step training crop
            T = 512 if job['scheme'] == 'official' else max(lens)
            x = torch.randn(len(lens), T, D, device=device)
            mask = None if job['scheme'] == 'official' else length_mask(torch.tensor(lens), T).to(device)
            y = torch.rand(len(lens), T, device=device)
            lmask = mask if mask is not None else torch.ones(len(lens), T, dtype=torch.bool, device=device)
            if device.type == 'cuda': torch.cuda.synchronize()
            t0, c0 = time.perf_counter(), time.process_time()
            with autocast(device): s = model(x, mask)['scores']
            loss = masked_mse(s, y, lmask)
            opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
            if device.type == 'cuda': torch.cuda.synchronize()
            if i >= job['warmup']: times.append((time.perf_counter() - t0, time.process_time() - c0)); tokens += len(lens) * T
        out = dict(steps_per_s=len(times) / sum(t for t, _ in times), cpu_s_per_step=sum(c for _, c in times) / len(times),
                   padded_steps_per_batch=tokens / len(times))
    else:
        class R:   # a record: features and full key
            def __init__(s, i, n): s.full_key, s.n_steps, s.features = f'v{i}', n, np.random.default_rng(i).normal(size=(n, D)).astype(np.float32)
        recs = [R(i, n) for i, n in enumerate(job['videos'])]
        predict(model, recs[:1], device=device, batch_size=1)                # warm-up
        if device.type == 'cuda': torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        predict(model, recs, device=device, batch_size=job['batch_size'])
        if device.type == 'cuda': torch.cuda.synchronize()
        out = dict(videos_per_s=len(recs) / (time.perf_counter() - t0), cpu_s_per_video=(time.process_time() - c0) / len(recs))
    out['peak_mib'] = peak_memory(device)
    print(json.dumps(out))

def run(job):
    r = subprocess.run([sys.executable, __file__, '--worker', json.dumps(job)], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"worker failed: {job['kind']} {job.get('scheme')}\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def machine(device):
    cpu = platform.processor() or platform.machine()
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    s = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if device == 'cuda': s += f", GPU {torch.cuda.get_device_name()}"
    return s

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--datasets', default='summe,tvsum')
    ap.add_argument('--steps', type=int, default=None, help='timed training steps per configuration (default: CPU 1, CUDA 20)')
    ap.add_argument('--warmup', type=int, default=None, help='untimed training steps first (default: CPU 0, CUDA 3)')
    ap.add_argument('--videos', type=int, default=None, help='videos scored for the inference throughput (default: CPU 4, CUDA 32)')
    ap.add_argument('--n_stages', type=int, default=3)
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(json.loads(a.worker))
    cpu = a.device == 'cpu'
    if a.steps is None: a.steps = 1 if cpu else 20
    if a.warmup is None: a.warmup = 0 if cpu else 3
    if a.videos is None: a.videos = 4 if cpu else 32
    t_start = time.time()
    print(f"machine: {machine(a.device)}; device {a.device}")
    print(f"model: default ProgressiveSummarizer (d_model 1024, 3 layers, 8 heads, ff 4096), {a.n_stages} stages, batch 4, Adam\n")
    rows = []
    for ds in a.datasets.split(','):
        lengths, src = lengths_of(ds)
        print(f"{ds}: {len(lengths)} video lengths from {src}: median {np.median(lengths):.0f}, max {max(lengths)} steps")
        bs = batches(lengths, a.warmup + a.steps, 4)
        res = {s: run(dict(kind='train', scheme=s, batches=bs, warmup=a.warmup, device=a.device, n_stages=a.n_stages))
               for s in ('ours', 'official')}
        videos = np.random.default_rng(1).choice(lengths, a.videos).tolist()
        inf = {b: run(dict(kind='infer', videos=videos, batch_size=b, device=a.device, n_stages=a.n_stages)) for b in (4, 1)}
        crop = np.minimum(lengths, 512)
        many = np.random.default_rng(2).choice(crop, (100_000, 4))
        expected = many.max(1).mean() / 512                     # E[longest of 4 cropped lengths] / 512
        rows.append((ds, res, inf, expected))
    mem = 'peak GPU MiB' if a.device == 'cuda' else 'peak RSS MiB'
    print(f"\n| dataset | scheme | padded steps / batch | train steps/s | CPU s / step | {mem} |")
    print("|---|---|---|---|---|---|")
    for ds, res, inf, expected in rows:
        for s, name in (('ours', 'pad to longest + mask'), ('official', 'pad all to 512')):
            r = res[s]; print(f"| {ds} | {name} | {r['padded_steps_per_batch']:.0f} | {r['steps_per_s']:.3f} | {r['cpu_s_per_step']:.1f} | {r['peak_mib']:.0f} |")
        o, f = res['ours'], res['official']
        print(f"| {ds} | **ratio ours / official** | {o['padded_steps_per_batch'] / f['padded_steps_per_batch']:.2f} | "
              f"**{o['steps_per_s'] / f['steps_per_s']:.2f}x** | {o['cpu_s_per_step'] / f['cpu_s_per_step']:.2f} | {o['peak_mib'] / f['peak_mib']:.2f} |")
    print("\nexpected padded length per batch, ours / official, over 100,000 random batches of 4: " +
          ", ".join(f"{ds} {e:.2f}" for ds, _, _, e in rows) + " (compute grows at least linearly with it)")
    print(f"\n| dataset | inference | videos/s | CPU s / video | {mem} |")
    print("|---|---|---|---|---|")
    for ds, res, inf, expected in rows:
        print(f"| {ds} | batch 4, length-sorted, masked (`predict`) | {inf[4]['videos_per_s']:.2f} | {inf[4]['cpu_s_per_video']:.1f} | {inf[4]['peak_mib']:.0f} |")
        print(f"| {ds} | one video at a time (as the official test loop) | {inf[1]['videos_per_s']:.2f} | {inf[1]['cpu_s_per_video']:.1f} | {inf[1]['peak_mib']:.0f} |")
    print(f"\n{a.steps} timed training steps (after {a.warmup} warm-up) per configuration; {a.videos} whole videos scored; "
          f"total {time.time() - t_start:.0f} s; load average at the end {os.getloadavg()[0]:.1f}")

from pathlib import Path
if __name__ == '__main__': main()
