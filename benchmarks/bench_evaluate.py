"""Time to evaluate a TVSum-sized benchmark file with the standard protocol.

Compares, in one run and on the same predictions:
  * `sspvs-evaluate` end to end (the console-script function: open and validate the benchmark file, read the
    predictions file, evaluate, write the JSON), and `sspvs.metrics.evaluate` alone (records in memory);
  * the straightforward way found in most public repositories: a pure-Python knapsack DP table
    (a list of lists filled cell by cell), Python loops for upsampling and F1, and scipy's kendalltau /
    spearmanr called once per annotator.
Both must give the same numbers; the script checks it.

The file is synthetic (`sspvs.synthetic.make_benchmark`, dataset 'tvsum': 50 videos, 20 annotators, 1024-d features,
KTS-like shots), made in a temporary folder. Target: a whole TVSum-sized evaluation in under 2 s on 2 CPU cores.

Usage: python benchmarks/bench_evaluate.py [--repeat 3]
"""
import argparse, contextlib, io, os, platform, sys, tempfile, time
from pathlib import Path
import numpy as np, scipy.stats

from sspvs.data import BenchmarkFile, STANDARD
from sspvs.synthetic import make_benchmark
from sspvs.metrics import evaluate, write_predictions, sspvs_evaluate
from sspvs.keyshots import knapsack_exact, knapsack_official, official_values, shot_scores, upsample

# ---------------- the straightforward baseline (as in most public evaluation code) ----------------
def py_knapsack(capacity, weights, values):
    "The textbook 0/1 knapsack table in pure Python; returns the chosen item indices."
    n = len(values)
    K = [[0.0 for _ in range(capacity + 1)] for _ in range(n + 1)]
    for i in range(n + 1):
        for w in range(capacity + 1):
            if i == 0 or w == 0: K[i][w] = 0.0
            elif weights[i - 1] <= w: K[i][w] = max(values[i - 1] + K[i - 1][w - weights[i - 1]], K[i - 1][w])
            else: K[i][w] = K[i - 1][w]
    chosen, w = [], capacity
    for i in range(n, 0, -1):
        if K[i][w] != K[i - 1][w]: chosen.append(i - 1); w -= weights[i - 1]
    return chosen[::-1]

def baseline_video(scores, r, metric):
    frame_scores = np.zeros(r.n_frames, dtype=np.float32)
    positions = list(r.picks) + [r.n_frames]
    for i in range(len(positions) - 1): frame_scores[positions[i]:positions[i + 1]] = scores[i]
    seg_score = [float(frame_scores[a:b + 1].mean()) for a, b in r.change_points]
    lens = [int(x) for x in r.n_frame_per_seg]
    picks = py_knapsack(int(r.n_frames * 0.15), lens, seg_score)
    summary = np.zeros(r.n_frames)
    for j in picks: summary[r.change_points[j][0]:r.change_points[j][1] + 1] = 1
    f1s = []
    for u in r.user_summary:
        overlap = (summary * u).sum()
        if overlap == 0: f1s.append(0.); continue
        p, rc = overlap / summary.sum(), overlap / u.sum()
        f1s.append(2 * p * rc / (p + rc))
    targets = r.user_scores if r.user_scores is not None else r.user_summary
    taus = [scipy.stats.kendalltau(frame_scores, y).statistic for y in targets]
    rhos = [scipy.stats.spearmanr(frame_scores, y).statistic for y in targets]
    return dict(f1=max(f1s) if metric == 'max' else float(np.mean(f1s)), kendall=float(np.mean(taus)), spearman=float(np.mean(rhos)))

def baseline_evaluate(records, preds, metric='avg'):
    videos = {r.key: baseline_video(preds[r.key], r, metric) for r in records}
    return dict(videos=videos, mean={m: float(np.mean([v[m] for v in videos.values()])) for m in ('f1', 'kendall', 'spearman')})

# ---------------- timing ----------------
def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return min(times), out

def cpu_name():
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or 'unknown CPU'

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=3, help='timings are the best of this many runs')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t = time.perf_counter()
        path = make_benchmark(d/STANDARD['tvsum'], 'tvsum', seed=0, feat_dim=1024)
        bf = BenchmarkFile(path)
        records = list(bf.values())
        rng = np.random.default_rng(0)
        preds = {r.key: rng.random(r.n_steps).astype(np.float32) for r in records}
        ppath = write_predictions(d/'preds.h5', preds)
        n_frames = sum(r.n_frames for r in records)
        print(f"file: {len(records)} videos, {n_frames:,} frames, {sum(r.n_steps for r in records):,} steps, "
              f"{sum(len(r.change_points) for r in records):,} shots, {records[0].n_users} annotators, "
              f"{path.stat().st_size / 2**20:.0f} MiB (synthetic TVSum, made in {time.perf_counter() - t:.1f} s)")

        def cli():
            with contextlib.redirect_stdout(io.StringIO()): sspvs_evaluate(str(path), str(ppath), json=str(d/'out.json'))
        t_cli, _ = best_of(cli, args.repeat)
        t_lib, lib = best_of(lambda: evaluate(records, preds, 'avg', knapsack='exact', ties=False), args.repeat)   # the baseline's convention
        t_off, _ = best_of(lambda: evaluate(records, preds, 'avg', knapsack='official', ties=False), args.repeat)
        t_ties, _ = best_of(lambda: evaluate(records, preds, 'avg'), args.repeat)          # the default: official, ties reported
        t_base, base = best_of(lambda: baseline_evaluate(records, preds, 'avg'), 1)

        # the knapsacks alone, on the same shot scores
        probs = []
        for r in records:
            ss = shot_scores(upsample(preds[r.key], r.picks, r.n_frames), r.change_points)
            probs.append((ss, r.n_frame_per_seg, int(r.n_frames * 0.15)))
        t_kn, _ = best_of(lambda: [knapsack_exact(v, w, c) for v, w, c in probs], args.repeat)
        t_kn_off, _ = best_of(lambda: [knapsack_official(official_values(v), w, c) for v, w, c in probs], args.repeat)
        t_kn_py, _ = best_of(lambda: [py_knapsack(c, [int(x) for x in w], [float(x) for x in v]) for v, w, c in probs], 1)

    diff = max(abs(lib['videos'][k][m] - base['videos'][k][m]) for k in lib['videos'] for m in ('f1', 'kendall', 'spearman'))
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f} at the end; "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"largest difference between the two evaluations over all videos and metrics: {diff:.1e}")
    print(f"means: F1 {lib['mean']['f1']:.4f}, Kendall {lib['mean']['kendall']:.4f}, Spearman {lib['mean']['spearman']:.4f} (random predictions)")
    print()
    rows = [('whole evaluation: pure-Python DP + scipy per annotator', t_base, t_base),
            ('whole evaluation: sspvs.metrics.evaluate, exact knapsack (the same convention)', t_lib, t_base),
            ('whole evaluation: sspvs.metrics.evaluate, official knapsack (OR-Tools)', t_off, t_base),
            ('whole evaluation: sspvs.metrics.evaluate, official + ties reported (the default)', t_ties, t_base),
            ('sspvs-evaluate end to end (open + validate + read + evaluate with ties + JSON)', t_cli, t_base),
            ('50 knapsacks: pure-Python DP table', t_kn_py, t_kn_py),
            ('50 knapsacks: sspvs.keyshots.knapsack_exact', t_kn, t_kn_py),
            ('50 knapsacks: sspvs.keyshots.knapsack_official (OR-Tools)', t_kn_off, t_kn_py)]
    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'seconds':>8}  {'speed-up':>8}")
    for name, t, ref in rows: print(f"{name:<{w}}  {t:>8.3f}  {ref / t:>7.1f}x")
    print()
    verdict = 'meets' if t_cli < 2 else 'MISSES'
    print(f"target: a TVSum-sized evaluation under 2 s: sspvs-evaluate takes {t_cli:.2f} s: {verdict} it")
    assert diff < 1e-6, 'the library and the baseline disagree'

if __name__ == '__main__': main()
