"""Corrupted inputs, fuzzed (issue 22, section 4): valid eccv16 files, predictions files, checkpoints and run folders are corrupted at random
(wrong shapes and dtypes, NaN and inf, negative or unsorted picks, reversed, overlapping or fractional change points, zero or huge
`n_frames`, zero shot lengths, 1-D user summaries, empty groups, missing keys, truncated files, configs that do not fit the weights,
run.json that is not JSON, a half-written result.json). Every entry point then either works, its anomalies listed, or refuses with one
line (`SSPVSError`): never another exception, never a hang. What it works on is what could be read (finite, in range, consistent), and
any F1 is in [0, 1]. Hypothesis runs derandomized (the same cases every time) with a fixed number of examples, about a minute in all."""
import json, os, subprocess, sys, tempfile, warnings
from pathlib import Path
import numpy as np, h5py, pytest, torch
from hypothesis import given, settings, strategies as st, HealthCheck

from sspvs.core import SSPVSError, save_json
from sspvs.data import BenchmarkFile, toy_video, strict_check, SummaryDataset, collate, LAYOUT
from sspvs.metrics import evaluate, evaluate_files, random_baseline, human_baseline, write_predictions, read_predictions
from sspvs.learner import build_summarizer, save_checkpoint, read_checkpoint, load_summarizer
import sspvs.benchmark as B

EXE = Path(sys.executable).parent
CASES = {}   # test -> cases tried
def fuzz(n:int): return settings(max_examples=n, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)

def count(name): CASES[name] = CASES.get(name, 0) + 1

def one_line(e:SSPVSError):
    msg = str(e)
    assert msg and '\n' not in msg and 'Traceback' not in msg, msg

def raw_write(path, videos):
    "Write an h5 file as given (values h5py-ready; None = absent; a non-dict = a dataset at the top)."
    with h5py.File(path, 'w') as f:
        for k, v in videos.items():
            if not isinstance(v, dict): f.create_dataset(k, data=v); continue
            g = f.create_group(k)
            for name, x in v.items():
                if x is not None: g.create_dataset(name, data=x)
    return path

# --- corruptions of one video ---

KEYS = ['features', 'picks', 'n_frames', 'n_steps', 'change_points', 'n_frame_per_seg', 'gtscore', 'user_summary', 'user_scores', 'video_name']
ARRAYS = ['features', 'picks', 'change_points', 'n_frame_per_seg', 'gtscore', 'user_summary', 'user_scores']

def corrupt(v:dict, kind:str, key:str, x:int, draw)->dict:
    "One corruption of `v` (a dict of arrays): `kind`, at `key`, with the number `x` for where or how much; `v` as it was where it does not apply."
    try: return _corrupt(v, kind, key, x, draw)
    except (KeyError, IndexError, ValueError, TypeError, ZeroDivisionError, AttributeError): return v

def _corrupt(v, kind, key, x, draw):
    v = dict(v); a = None if v.get(key) is None else np.asarray(v[key])
    if kind == 'missing': v[key] = None
    elif kind == 'shape' and a is not None:
        v[key] = draw(st.sampled_from([a.reshape(-1), a[None], a.T if a.ndim == 2 else a[:, None], a[: len(a) // 2], np.zeros((0,) + a.shape[1:], a.dtype), a.reshape(-1)[:1]]))
    elif kind == 'dtype' and a is not None:
        v[key] = draw(st.sampled_from([a.astype('S8'), a.astype(np.float64) + 0.5, a.astype(bool), a.astype(np.uint8)]))
    elif kind == 'nonfinite' and a is not None and a.size:
        b = a.astype(np.float64).copy(); b.reshape(-1)[x % b.size] = draw(st.sampled_from([np.nan, np.inf, -np.inf])); v[key] = b
    elif kind == 'picks':
        p = np.asarray(v['picks']).copy()
        what = draw(st.sampled_from(['negative', 'unsorted', 'duplicate', 'beyond']))
        if what == 'negative': p[x % len(p)] = -1 - x
        elif what == 'unsorted' and len(p) > 1: i = x % (len(p) - 1); p[i], p[i + 1] = p[i + 1], p[i]
        elif what == 'duplicate' and len(p) > 1: p[1] = p[0]
        else: p[-1] = int(v['n_frames']) + x
        v['picks'] = p
    elif kind == 'shots':
        cp = np.asarray(v['change_points']).copy(); i = x % len(cp)
        what = draw(st.sampled_from(['reversed', 'overlap', 'fractional', 'order', 'gap', 'beyond']))
        if what == 'reversed': cp[i] = cp[i, ::-1]
        elif what == 'overlap' and i > 0: cp[i, 0] = max(0, cp[i - 1, 0] - 1)
        elif what == 'fractional': cp = cp.astype(np.float64); cp[i, 1] += 0.5
        elif what == 'order': cp = cp[::-1].copy()
        elif what == 'gap': cp[i, 0] += 1
        else: cp[-1, 1] = int(v['n_frames']) + x
        v['change_points'] = cp
    elif kind == 'n_frames': v['n_frames'] = draw(st.sampled_from([0, -1, 1, 10**12, 2**40 + 0.5, np.float64(np.nan), int(v['n_frames']) - 1 - x % 50, int(v['n_frames']) + x]))
    elif kind == 'seglen':
        nf = np.asarray(v['n_frame_per_seg']).copy(); nf[x % len(nf)] = draw(st.sampled_from([0, -1, 10**9, nf[x % len(nf)] - 7]))
        v['n_frame_per_seg'] = nf if draw(st.booleans()) else np.zeros_like(nf)
    elif kind == 'user_1d': v['user_summary'] = np.asarray(v['user_summary'])[0]
    elif kind == 'user_values':
        u = np.asarray(v['user_summary']).astype(np.float64).copy(); u[:, x % u.shape[1]] = draw(st.sampled_from([2., -1., 0.5])); v['user_summary'] = u
    elif kind == 'empty': v = {}
    elif kind == 'extra': v['my_extra'] = np.arange(x % 5)
    return v

KINDS = ['missing', 'shape', 'dtype', 'nonfinite', 'picks', 'shots', 'n_frames', 'seglen', 'user_1d', 'user_values', 'empty', 'extra']

@st.composite
def benchmark_videos(draw):
    n = draw(st.integers(1, 3))
    vids = {f'video_{i}': toy_video(n_frames=draw(st.integers(40, 400)), n_segs=draw(st.integers(1, 6)), n_users=draw(st.integers(1, 4)), seed=i)
            for i in range(1, n + 1)}
    for _ in range(draw(st.integers(1, 2))):   # one or two corruptions, each in one video
        k = f'video_{draw(st.integers(1, n))}'
        vids[k] = corrupt(vids[k], draw(st.sampled_from(KINDS)), draw(st.sampled_from(KEYS)), draw(st.integers(0, 10**6)), draw)
    if draw(st.integers(0, 9)) == 0: vids['video_9'] = np.arange(3)   # a dataset where a group belongs
    return vids

def check_readable(bf:BenchmarkFile):
    "What an opened file offers was read: finite, in range, consistent."
    for r in bf.values():
        assert r.n_frames > 0 and r.picks.ndim == 1 and len(r.picks) > 0
        assert (np.diff(r.picks) > 0).all() and r.picks[0] >= 0 and r.picks[-1] < r.n_frames
        if r.change_points is not None:
            cp = r.change_points; assert cp.ndim == 2 and cp.shape[1] == 2 and (cp[:, 1] >= cp[:, 0]).all() and cp.min() >= 0 and cp.max() < r.n_frames
        if r.n_frame_per_seg is not None: assert (r.n_frame_per_seg >= 0).all()
        if r.user_summary is not None: assert r.user_summary.shape[1] == r.n_frames and set(np.unique(r.user_summary)) <= {0, 1}
        if r.user_scores is not None: assert r.user_scores.shape[1] == r.n_frames and np.isfinite(r.user_scores).all()
        if r.gtscore is not None: assert r.gtscore.shape == r.picks.shape and np.isfinite(r.gtscore).all()

@fuzz(150)
@given(benchmark_videos(), st.integers(0, 2**31), st.sampled_from(['none'] * 6 + ['truncate', 'flip']), st.floats(0, 1))
def test_fuzz_benchmark_files(videos, seed, damage, where):
    count('benchmark files')
    with tempfile.TemporaryDirectory() as d:
        p = raw_write(Path(d)/'fz_tvsum.h5', videos)
        if damage != 'none':   # the bytes: a file cut short (an interrupted copy), or one byte changed
            b = p.read_bytes(); i = int(where * (len(b) - 1))
            p.write_bytes(b[:i] if damage == 'truncate' else b[:i] + bytes([b[i] ^ 0x5A]) + b[i + 1:])
        res = strict_check(p)
        if res['error'] is not None: assert '\n' not in res['error']; count('benchmark files: refused'); return
        count('benchmark files: opened' + (' with anomalies' if res['anomalies'] else ''))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore'); bf = BenchmarkFile(p)
        assert [(a.video, a.key) for a in bf.anomalies] == [(a.video, a.key) for a in res['anomalies']]
        check_readable(bf)
        rng = np.random.default_rng(seed)
        if 'evaluate' in bf.uses:
            preds = {r.key: rng.random(r.n_steps) for r in bf.values()}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore'); out = evaluate(bf, preds, knapsack=rng.choice(['official', 'exact']))
                for v in out['videos'].values():
                    assert 0 <= v['f1'] <= 1 and -1 <= v['kendall'] <= 1 and -1 <= v['spearman'] <= 1
                    assert 0 <= v['ties']['f1_min'] <= v['ties']['f1_max'] <= 1
                count('benchmark files: evaluated'); r = next(iter(bf.values()))
                assert 0 <= random_baseline(r, n_draws=2)['f1'] <= 1
                if r.n_users > 1: assert 0 <= human_baseline(r)['f1'] <= 1
            except SSPVSError as e: one_line(e); count('benchmark files: evaluation refused')
        if 'train' in bf.uses:
            ds = SummaryDataset(bf, max_len=16, train=True)
            b = collate([ds[i] for i in range(len(ds))])
            assert torch.isfinite(b['features']).all() and torch.isfinite(b['target']).all()

# --- predictions files ---

@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    d = tmp_path_factory.mktemp('fz')
    vids = {f'video_{i}': toy_video(seed=i) for i in (1, 2)}
    return raw_write(d/'fz_tvsum.h5', vids), vids

@fuzz(60)
@given(st.data())
def test_fuzz_predictions_files(bench, data):
    count('predictions files')
    path, vids = bench
    n = {k: len(v['picks']) for k, v in vids.items()}
    preds = {k: np.random.default_rng(0).random(m).astype(np.float32) for k, m in n.items()}
    kind = data.draw(st.sampled_from(['length', 'nonfinite', '2d', 'strings', 'missing', 'extra', 'nested', 'empty', 'not_h5', 'truncated', 'negative', 'constant', 'ok']))
    k = data.draw(st.sampled_from(sorted(preds)))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'pred.h5'
        if kind == 'length': preds[k] = preds[k][:data.draw(st.integers(0, n[k] - 1))] if data.draw(st.booleans()) else np.r_[preds[k], 0.5]
        elif kind == 'nonfinite': preds[k][data.draw(st.integers(0, n[k] - 1))] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        elif kind == '2d': preds[k] = preds[k][None]
        elif kind == 'strings': preds[k] = preds[k].astype('S6')
        elif kind == 'missing': del preds[k]
        elif kind == 'extra': preds['video_99'] = preds[k]
        elif kind == 'negative': preds[k] = preds[k] - 2
        elif kind == 'constant': preds[k] = np.zeros_like(preds[k])
        if kind == 'not_h5': p.write_bytes(data.draw(st.binary(max_size=64)))
        else:
            with h5py.File(p, 'w') as f:
                for kk, s in preds.items():
                    (f.require_group('g') if kind == 'nested' else f).create_dataset(kk, data=s)
        if kind == 'empty':
            with h5py.File(p, 'w'): pass
        if kind == 'truncated':
            b = p.read_bytes(); p.write_bytes(b[:data.draw(st.integers(0, len(b) - 1))])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore'); res, _, _ = evaluate_files(path, p, knapsack=data.draw(st.sampled_from(['official', 'exact'])))
        except SSPVSError as e: one_line(e); return
        assert kind in ('ok', 'negative', 'constant', 'nested'), kind   # what is corrupt is refused
        for v in res['videos'].values(): assert 0 <= v['f1'] <= 1

# --- checkpoints ---

@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp('ck')
    m = build_summarizer(dict(feat_dim=8, d_model=16, n_layers=1, n_heads=2, d_ff=32))
    return save_checkpoint(d/'best.safetensors', m, epoch=1)

@fuzz(40)
@given(st.data())
def test_fuzz_checkpoints(checkpoint, data):
    count('checkpoints')
    kind = data.draw(st.sampled_from(['truncated', 'flipped', 'config', 'metadata', 'empty', 'ok']))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'best.safetensors'; b = checkpoint.read_bytes()
        if kind == 'truncated': b = b[:data.draw(st.integers(0, len(b) - 1))]
        elif kind == 'flipped':
            i = data.draw(st.integers(0, min(len(b) - 1, 400))); b = b[:i] + bytes([b[i] ^ data.draw(st.integers(1, 255))]) + b[i + 1:]
        elif kind == 'empty': b = b''
        p.write_bytes(b)
        if kind in ('config', 'metadata'):
            from safetensors.torch import load_file, save_file
            from safetensors import safe_open
            with safe_open(str(checkpoint), 'pt') as f: meta = json.loads(f.metadata()['sspvs'])
            if kind == 'config': meta['config'][data.draw(st.sampled_from(['d_model', 'n_layers', 'd_ff', 'feat_dim']))] = data.draw(st.sampled_from([4, 64, 3]))
            text = json.dumps(meta)
            if kind == 'metadata': text = data.draw(st.sampled_from([text[:len(text) // 2], '[]', '{}', json.dumps(dict(meta, config='x'))]))
            save_file(load_file(str(checkpoint)), str(p), metadata={'sspvs': text})
        for f in (lambda: load_summarizer(p, feat_dim=8), lambda: B.checkpoint_feat_dim(p)):
            try: f()
            except SSPVSError as e: one_line(e)
            else: assert kind in ('ok', 'flipped', 'config') , kind

# --- run folders ---

@pytest.fixture(scope='module')
def run_data(tmp_path_factory):
    from sspvs.synthetic import make_benchmark
    from sspvs.data import STANDARD, load_benchmarks
    d = tmp_path_factory.mktemp('rd')
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=6)
    keys = [f'video_{i}' for i in range(1, 7)]
    save_json([{'train_keys': keys[2:], 'test_keys': keys[:2]}], d/'tvsum_splits.json')
    cfg = B.small_config('tvsum', 'canonical')
    inputs = B.check_run_inputs(d, 'tvsum', 'canonical', cfg, (0,), [0], str(d), 'cpu', None)
    return d, inputs

@fuzz(30)
@given(st.data())
def test_fuzz_run_folders(run_data, data):
    count('run folders')
    d, inputs = run_data
    files, cfg, sp, source, folds = inputs
    with tempfile.TemporaryDirectory() as t:
        out = Path(t)/'run'
        B.prepare_run(out, inputs, 'tvsum', 'canonical')
        which = data.draw(st.sampled_from(['run.json', 'result.json', 'last.safetensors']))
        good = (out/'run.json').read_text() if which == 'run.json' else json.dumps(dict(selected={}, probe={}, history=[])) if which == 'result.json' else ''
        body = data.draw(st.sampled_from([good[:data.draw(st.integers(0, max(0, len(good) - 1)))], 'not json', '[]', '"text"', '{}', '\x00\x01']))
        run = out/'split0'/'seed0'; run.mkdir(parents=True, exist_ok=True)
        (out/which if which == 'run.json' else run/which).write_text(body)
        try:
            B.prepare_run(out, inputs, 'tvsum', 'canonical')
            if which != 'run.json':
                cfg2 = dict(cfg, epochs=1, d_model=16, d_ff=32, n_heads=2, n_layers=1, max_len=32, n_draws=2)
                B.run_split(files, sp[0], 0, cfg2, out, 'tvsum', 'canonical', seed=0, progress=False)
        except SSPVSError as e: one_line(e)

# --- a few cases through the console scripts ---

def cli(tool, *args):
    return subprocess.run([str(EXE/tool), *map(str, args)], capture_output=True, text=True, timeout=300, env=dict(os.environ, MPLBACKEND='Agg'))

def test_fuzzed_files_through_the_tools(tmp_path, bench):
    path, vids = bench
    v = dict(vids['video_1']); v['picks'] = np.asarray(v['picks'])[::-1].copy()
    bad = raw_write(tmp_path/'bad_tvsum.h5', {'video_1': v})
    write_predictions(tmp_path/'p.h5', {k: np.random.default_rng(0).random(len(x['picks'])) for k, x in vids.items()})
    (tmp_path/'t.h5').write_bytes(path.read_bytes()[:1000])
    for tool, args in [('sspvs-verify', ['--strict', bad]), ('sspvs-evaluate', [bad, tmp_path/'p.h5']), ('sspvs-evaluate', [path, tmp_path/'t.h5']),
                       ('sspvs-evaluate', [tmp_path/'t.h5', tmp_path/'p.h5'])]:
        count('console scripts'); r = cli(tool, *args)
        assert r.returncode == 1 and 'Traceback' not in r.stderr, (tool, args, r.stderr)
        lines = (r.stderr + r.stdout).strip().splitlines()
        assert len(lines) == 1 or tool == 'sspvs-verify', (tool, r.stderr)

def test_zz_cases_tried():
    "The number of fuzzed cases (printed with -s); derandomized, so the same every run."
    tried = {k: v for k, v in CASES.items() if ':' not in k}
    print(f"\nfuzz cases tried: {sum(tried.values())} ({CASES})")
    assert sum(tried.values()) >= 200, CASES
