"""Training and inference speed of the DEFAULT progressive summarizer (37.8 M encoder, 3 stages) at batch 4, in float32 and bfloat16.

Padding/masking: ours pads each batch to its longest video (after the 512-step training crop) and masks the
padding; the official code pads every video to 512 steps with no mask. Both run on the same batches of video
lengths drawn from the real SumMe / TVSum length distributions (n_steps = ceil(n_frames / 15) from the raw
annotations under $SSPVS_DATA) or, without the research data, from the synthetic benchmark.
Wall-clock rates suffer on a shared machine; "CPU s" (process CPU time, all threads) measures the work itself.
Each configuration runs in its own subprocess so that its peak memory (CPU: peak RSS of the process; CUDA:
torch.cuda.max_memory_allocated) is its own.

Precision: every configuration runs once per `--precisions` entry (default fp32 and bf16: `sspvs.learner.precision_autocast`,
the arithmetic `--precision` selects in sspvs-train / sspvs-benchmark), and the tables give the bf16 / fp32 ratios. The metrics
check then trains the same model from the same initial weights on the same batches in each precision (a few steps on the
synthetic TVSum stand-in's split 0, 1024-d features) and scores the split's test videos: the resulting F1 / Kendall / Spearman,
and how far the bf16 model's scores are from the fp32 model's. A few steps say whether bf16 changes what is learned early on,
not what a full run reaches.

    python benchmarks/bench_train.py                 # CPU: a few minutes
    python benchmarks/bench_train.py --steps 20 --device cuda
    python benchmarks/bench_train.py --datasets tvsum --precisions fp32,bf16 --metric_steps 6
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
    return [r.n_steps for r in BenchmarkFile(p).values()], f'synthetic {dataset}'

def batches(lengths, n, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.choice(lengths, batch_size).tolist() for _ in range(n)]

def peak_memory(device):
    if device.type == 'cuda': return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux -> MiB

ARCH = {'default': {}, 'small': dict(d_model=64, n_layers=2, n_heads=4, d_ff=128)}   # the small preset's encoder (sspvs.benchmark.small_config)

def worker(job):
    "Run one configuration (in a subprocess) and print its result as JSON."
    from sspvs.core import get_device
    from sspvs.learner import ModelConfig, build_summarizer, masked_mse, predict, resolve_precision, precision_autocast
    from sspvs.encoders import length_mask
    device = get_device(job['device'])
    prec = resolve_precision(job.get('precision', 'auto'), device)
    if job['kind'] == 'metrics': return print(json.dumps(metrics_worker(job, device, prec)))
    torch.manual_seed(0)
    model = build_summarizer(ModelConfig(n_stages=job['n_stages'], **ARCH[job.get('model', 'default')])).to(device)
    D, out = 1024, {}
    if job['kind'] == 'train':
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        scaler = torch.amp.GradScaler(device.type, enabled=prec == 'fp16')
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
            with precision_autocast(device, prec): s = model(x, mask)['scores']
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
        predict(model, recs[:1], device=device, batch_size=1, precision=prec)                # warm-up
        if device.type == 'cuda': torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        predict(model, recs, device=device, batch_size=job['batch_size'], precision=prec)
        if device.type == 'cuda': torch.cuda.synchronize()
        out = dict(videos_per_s=len(recs) / (time.perf_counter() - t0), cpu_s_per_video=(time.process_time() - c0) / len(recs))
    out['peak_mib'] = peak_memory(device); out['precision'] = prec
    print(json.dumps(out))

def metrics_worker(job, device, prec):
    "Train the default model `metric_steps` steps in `prec` on the synthetic TVSum split 0, score its test videos; scores and metrics."
    from sspvs.learner import ModelConfig, TrainConfig, build_summarizer, fit, predict
    from sspvs.synthetic import synthetic_dir
    from sspvs.data import STANDARD, load_benchmarks, get_record
    from sspvs.benchmark import make_splits
    from sspvs.metrics import evaluate
    files = load_benchmarks(synthetic_dir()/STANDARD['tvsum'])
    sp = make_splits(files, 'tvsum')[0]
    tr = [get_record(files, k) for k in sp.train_keys][:4 * job['metric_steps']]
    te = [get_record(files, k) for k in sp.test_keys]
    torch.manual_seed(0)
    model = build_summarizer(ModelConfig(feat_dim=tr[0].features.shape[1], n_stages=job['n_stages'], **ARCH[job.get('model', 'default')]))
    t0, c0 = time.perf_counter(), time.process_time()
    h = fit(model, tr, TrainConfig(epochs=1, repeat=1, batch_size=4, max_len=512, lr=1e-4, seed=0, precision=prec), device, progress=False)
    t1, c1 = time.perf_counter(), time.process_time()
    preds = predict(model, te, device=device)                               # in the training precision
    t2, c2 = time.perf_counter(), time.process_time()
    m = evaluate(te, preds, 'avg')['mean']
    return dict(precision=prec, loss=h[0]['loss'], steps=len(tr) // 4, videos=len(te), train_s=t1 - t0, train_cpu_s=c1 - c0,
                infer_s=t2 - t1, infer_cpu_s=c2 - c1, **m, scores={k: v.tolist() for k, v in preds.items()})

def run(job):
    r = subprocess.run([sys.executable, __file__, '--worker', json.dumps(job)], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"worker failed: {job['kind']} {job.get('scheme')}\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def native_bf16()->str:
    from sspvs.learner import cpu_has_bf16
    caps = getattr(torch.cpu, 'get_capabilities', lambda: {})()
    flags = [k for k in ('avx512_bf16', 'amx_bf16', 'bf16', 'sve_bf16') if caps.get(k)]
    return f"native bf16: {'yes (' + ', '.join(flags) + ')' if cpu_has_bf16() else 'no'}"

def machine(device):
    cpu = platform.processor() or platform.machine()
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    s = f"{cpu}, {os.cpu_count()} cores, {native_bf16()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
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
    ap.add_argument('--model', default='default', choices=list(ARCH), help="default (37.8 M) or small (the small preset's 64-wide encoder)")
    ap.add_argument('--precisions', default='fp32,bf16', help='precisions to compare (fp32, bf16, auto), comma-separated')
    ap.add_argument('--schemes', default='ours,official', help="padding schemes timed in training: ours (pad to longest + mask), official (pad to 512)")
    ap.add_argument('--metric_steps', type=int, default=None, help='training steps of the metrics check per precision (default: CPU 6, CUDA 50; 0: skip it)')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(json.loads(a.worker))
    cpu = a.device == 'cpu'
    if a.steps is None: a.steps = 1 if cpu else 20
    if a.warmup is None: a.warmup = 0 if cpu else 3
    if a.videos is None: a.videos = 4 if cpu else 32
    if a.metric_steps is None: a.metric_steps = 6 if cpu else 50
    precs, schemes = a.precisions.split(','), a.schemes.split(',')
    t_start = time.time()
    print(f"machine: {machine(a.device)}; device {a.device}")
    print(f"model: default ProgressiveSummarizer (d_model 1024, 3 layers, 8 heads, ff 4096), {a.n_stages} stages, batch 4, Adam\n" if a.model == 'default' else
          f"model: the small preset's ProgressiveSummarizer (d_model 64, 2 layers, 4 heads, ff 128; 1024-d features), {a.n_stages} stages, batch 4, Adam\n")
    rows = []
    for ds in a.datasets.split(','):
        lengths, src = lengths_of(ds)
        print(f"{ds}: {len(lengths)} video lengths from {src}: median {np.median(lengths):.0f}, max {max(lengths)} steps")
        bs = batches(lengths, a.warmup + a.steps, 4)
        res = {(s, p): run(dict(kind='train', scheme=s, batches=bs, warmup=a.warmup, device=a.device, n_stages=a.n_stages, model=a.model, precision=p))
               for s in schemes for p in precs}
        videos = np.random.default_rng(1).choice(lengths, a.videos).tolist()
        inf = {(b, p): run(dict(kind='infer', videos=videos, batch_size=b, device=a.device, n_stages=a.n_stages, model=a.model, precision=p))
               for b in (4, 1) for p in precs}
        crop = np.minimum(lengths, 512)
        many = np.random.default_rng(2).choice(crop, (100_000, 4))
        expected = many.max(1).mean() / 512                     # E[longest of 4 cropped lengths] / 512
        rows.append((ds, res, inf, expected))
    mem = 'peak GPU MiB' if a.device == 'cuda' else 'peak RSS MiB'
    names = {'ours': 'pad to longest + mask', 'official': 'pad all to 512'}
    ratio = lambda x, y: f"{x / y:.2f}" if y else '-'
    print(f"\n| dataset | scheme | precision | padded steps / batch | train steps/s | CPU s / step | {mem} |")
    print("|---|---|---|---|---|---|---|")
    for ds, res, inf, expected in rows:
        for s in schemes:
            for p in precs:
                r = res[s, p]; print(f"| {ds} | {names[s]} | {r['precision']} | {r['padded_steps_per_batch']:.0f} | {r['steps_per_s']:.3f} | {r['cpu_s_per_step']:.1f} | {r['peak_mib']:.0f} |")
            if len(precs) > 1:
                x, y = res[s, precs[-1]], res[s, precs[0]]
                print(f"| {ds} | {names[s]} | **ratio {x['precision']} / {y['precision']}** | | **{ratio(x['steps_per_s'], y['steps_per_s'])}x** | "
                      f"{ratio(x['cpu_s_per_step'], y['cpu_s_per_step'])} | {ratio(x['peak_mib'], y['peak_mib'])} |")
        if set(schemes) >= {'ours', 'official'}:
            o, f = res['ours', precs[0]], res['official', precs[0]]
            print(f"| {ds} | **ratio ours / official** | {o['precision']} | {o['padded_steps_per_batch'] / f['padded_steps_per_batch']:.2f} | "
                  f"**{o['steps_per_s'] / f['steps_per_s']:.2f}x** | {o['cpu_s_per_step'] / f['cpu_s_per_step']:.2f} | {o['peak_mib'] / f['peak_mib']:.2f} |")
    print("\nexpected padded length per batch, ours / official, over 100,000 random batches of 4: " +
          ", ".join(f"{ds} {e:.2f}" for ds, _, _, e in rows) + " (compute grows at least linearly with it)")
    print(f"\n| dataset | inference | precision | videos/s | CPU s / video | {mem} |")
    print("|---|---|---|---|---|---|")
    for ds, res, inf, expected in rows:
        for b, name in ((4, 'batch 4, length-sorted, masked (`predict`)'), (1, 'one video at a time (as the official test loop)')):
            for p in precs:
                r = inf[b, p]; print(f"| {ds} | {name} | {r['precision']} | {r['videos_per_s']:.2f} | {r['cpu_s_per_video']:.1f} | {r['peak_mib']:.0f} |")
            if len(precs) > 1:
                x, y = inf[b, precs[-1]], inf[b, precs[0]]
                print(f"| {ds} | {name} | **ratio {x['precision']} / {y['precision']}** | **{ratio(x['videos_per_s'], y['videos_per_s'])}x** | "
                      f"{ratio(x['cpu_s_per_video'], y['cpu_s_per_video'])} | {ratio(x['peak_mib'], y['peak_mib'])} |")
    if a.metric_steps > 0:
        met = {p: run(dict(kind='metrics', metric_steps=a.metric_steps, device=a.device, n_stages=a.n_stages, model=a.model, precision=p)) for p in precs}
        m0 = met[precs[0]]
        print(f"\nmetrics check: the default model trained {m0['steps']} steps (batch 4, 512-step crops, Adam 1e-4, seed 0) on the synthetic TVSum "
              f"stand-in's split 0 in each precision from the same initial weights, then scored on its {m0['videos']} test videos "
              "(synthetic data: the size of any difference is what matters, not the metrics themselves)")
        print(f"\n| precision | training loss | test F1 (%) | test Kendall τ | test Spearman ρ | train s (CPU s) | inference s (CPU s) | max abs score difference to {m0['precision']} |")
        print("|---|---|---|---|---|---|---|---|")
        for p in precs:
            r = met[p]
            diff = max(float(np.max(np.abs(np.asarray(r['scores'][k]) - np.asarray(m0['scores'][k])))) for k in r['scores'])
            print(f"| {r['precision']} | {r['loss']:.4f} | {100 * r['f1']:.1f} | {r['kendall']:.3f} | {r['spearman']:.3f} | "
                  f"{r['train_s']:.0f} ({r['train_cpu_s']:.0f}) | {r['infer_s']:.1f} ({r['infer_cpu_s']:.1f}) | {diff:.4f} |")
    print(f"\n{a.steps} timed training steps (after {a.warmup} warm-up) per configuration; {a.videos} whole videos scored; "
          f"total {time.time() - t_start:.0f} s; load average at the end {os.getloadavg()[0]:.1f}")

from pathlib import Path
if __name__ == '__main__': main()
