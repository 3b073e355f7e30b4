"The evaluation protocol against straightforward references, and the console scripts end to end (every bad input)."
import json, os, shutil, subprocess, sys
from pathlib import Path
import h5py, numpy as np, pytest, scipy.stats
from hypothesis import given, settings, strategies as st
from sspvs.core import SSPVSError, data_path, NO_DATA
from sspvs.data import BenchmarkFile, STANDARD
from sspvs.synthetic import make_benchmark
from sspvs.metrics import (f1_score, rank_correlation, evaluate_video, evaluate, write_predictions, read_predictions,
                           StepTargets, pairwise_rank_correlation, random_baseline, human_baseline, default_metric)

# ---------- references written the plain way, as in most public evaluation code ----------
def ref_knapsack(values, weights, capacity):
    "The textbook table, in pure Python."
    n = len(values)
    K = [[0.] * (capacity + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for c in range(capacity + 1):
            K[i][c] = K[i - 1][c]
            if weights[i - 1] <= c: K[i][c] = max(K[i][c], K[i - 1][c - weights[i - 1]] + values[i - 1])
    chosen, c = [], capacity
    for i in range(n, 0, -1):
        if K[i][c] != K[i - 1][c]: chosen.append(i - 1); c -= weights[i - 1]
    return chosen

def ref_ortools(values, weights, capacity):
    "The official SSPVS code's knapsack_ortools, on today's OR-Tools API."
    from ortools.algorithms.python import knapsack_solver as ks
    values = (np.array(values) * 1000).astype(int)
    s = ks.KnapsackSolver(ks.SolverType.KNAPSACK_DYNAMIC_PROGRAMMING_SOLVER, 'test')
    s.init(values.tolist(), [np.array(weights).astype(int).tolist()], [capacity])
    s.solve()
    return [x for x in range(len(weights)) if s.best_solution_contains(x)]

def ref_evaluate(step_scores, r, metric, knapsack='exact'):
    frames = np.zeros(r.n_frames, dtype=np.float32)          # the public code's frame scores are float32
    pos = list(r.picks) + [r.n_frames]
    for i in range(len(r.picks)): frames[pos[i]:pos[i + 1]] = step_scores[i]
    shot_vals = [float(frames[a:b + 1].mean()) for a, b in r.change_points]
    lens = [int(x) for x in r.n_frame_per_seg]
    picked = (ref_ortools if knapsack == 'official' else ref_knapsack)(shot_vals, lens, int(r.n_frames * 0.15))
    summary = np.concatenate([np.full(n, float(j in picked)) for j, n in enumerate(lens)])[:r.n_frames]   # laid out shot after shot
    f1s = []
    for u in r.user_summary:
        ov = (summary * u).sum()
        if ov == 0: f1s.append(0.); continue
        p, rc = ov / summary.sum(), ov / u.sum()
        f1s.append(2 * p * rc / (p + rc))
    tg = r.user_scores if r.user_scores is not None else r.user_summary
    taus = [scipy.stats.kendalltau(frames, y).statistic for y in tg]
    rhos = [scipy.stats.spearmanr(frames, y).statistic for y in tg]
    return dict(f1=max(f1s) if metric == 'max' else np.mean(f1s), kendall=np.mean(taus), spearman=np.mean(rhos))

@pytest.fixture(scope='module')
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp('bench')
    tv = make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=8, n_videos=4)
    sm = make_benchmark(d/STANDARD['summe'], 'summe', feat_dim=8, n_videos=3)
    return d, tv, sm

def test_evaluate_matches_reference(files):
    _, tv, sm = files
    rng = np.random.default_rng(0)
    for path, metric in ((tv, 'avg'), (sm, 'max')):
        for r in BenchmarkFile(path).values():
            s = rng.random(r.n_steps)
            for kn in ('official', 'exact'):
                got, want = evaluate_video(s, r, metric, knapsack=kn), ref_evaluate(s, r, metric, kn)
                for k in ('f1', 'kendall', 'spearman'): assert abs(got[k] - want[k]) < 1e-10, (r.key, kn, k, got, want)

@settings(max_examples=150, deadline=None)
@given(st.integers(2, 60), st.integers(1, 5), st.integers(1, 6), st.integers(0, 2**32 - 1), st.booleans())
def test_rank_correlation_matches_scipy(n, m, levels, seed, continuous):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, n).astype(float) if seed % 2 else rng.random(n)
    Y = rng.random((m, n)) if continuous else rng.integers(0, levels, (m, n)).astype(float)
    tau, rho = rank_correlation(x, Y)
    ref_t = [scipy.stats.kendalltau(x, y).statistic for y in Y]; ref_r = [scipy.stats.spearmanr(x, y).statistic for y in Y]
    ref_t = np.mean([0. if np.isnan(t) else t for t in ref_t]); ref_r = np.mean([0. if np.isnan(t) else t for t in ref_r])
    assert abs(tau - ref_t) < 1e-10 and abs(rho - ref_r) < 1e-10

@settings(max_examples=100, deadline=None)
@given(st.integers(5, 200), st.integers(1, 20), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_step_targets_match_frame_level(n_frames, stride, m, seed):
    rng = np.random.default_rng(seed)
    picks = np.arange(int(rng.integers(0, min(stride, n_frames))), n_frames, stride)
    Y = rng.integers(1, 6, (m, n_frames)).astype(float)
    s = rng.integers(0, 3, len(picks)).astype(float) if seed % 2 else rng.random(len(picks))
    tau, rho = StepTargets(Y, picks, n_frames).corr(s)
    from sspvs.keyshots import upsample
    want = rank_correlation(upsample(s, picks, n_frames), Y)
    assert abs(tau.mean() - want[0]) < 1e-10 and abs(rho.mean() - want[1]) < 1e-10

def test_pairwise_matches_per_annotator():
    rng = np.random.default_rng(3)
    Y = rng.integers(1, 6, (6, 400)).astype(float)
    tau, rho = pairwise_rank_correlation(Y)
    for u in range(6):
        for w in range(6):
            if u != w:
                assert abs(tau[u, w] - scipy.stats.kendalltau(Y[u], Y[w]).statistic) < 1e-12
                assert abs(rho[u, w] - scipy.stats.spearmanr(Y[u], Y[w]).statistic) < 1e-12

def test_f1_edge_cases():
    users = np.array([[1, 1, 0, 0], [0, 0, 0, 0]])
    assert f1_score([1, 1, 0, 0], users) == 0.5        # an annotator who selected nothing scores 0
    assert f1_score([1, 1, 0, 0], users, 'max') == 1.
    with pytest.raises(SSPVSError, match="metric must be 'avg' or 'max'"): f1_score([1, 1, 0, 0], users, 'median')

def test_baselines_sane(files):
    _, tv, _ = files
    r = BenchmarkFile(tv)['video_1']
    rb, hb = random_baseline(r, n_draws=30), human_baseline(r)
    assert abs(rb['kendall']) < .05 and abs(rb['spearman']) < .07
    assert hb['kendall'] > rb['kendall'] + .05 and 0 <= rb['f1'] <= 1 and 0 <= hb['f1'] <= 1
    with pytest.raises(SSPVSError, match='n_draws must be at least 1'): random_baseline(r, n_draws=0)

def test_default_metric():
    assert default_metric('eccv16_dataset_summe_google_pool5') == 'max' and default_metric('SumMe') == 'max'
    assert default_metric('eccv16_dataset_tvsum_google_pool5.h5') == 'avg' and default_metric('ovp') == 'avg'

def test_predictions_roundtrip(tmp_path):
    p = write_predictions(tmp_path/'p.h5', {'video_1': np.arange(3.), 'eccv16_dataset_tvsum_google_pool5/video_2': [1, 2]})
    got = read_predictions(p)
    assert set(got) == {'video_1', 'eccv16_dataset_tvsum_google_pool5/video_2'} and got['video_1'].dtype == np.float32
    with pytest.raises(SSPVSError, match='q.h5: video_1: predictions must be a non-empty 1-D array'): write_predictions(tmp_path/'q.h5', {'video_1': np.zeros((2, 2))})
    with pytest.raises(SSPVSError, match='does not exist'): write_predictions(tmp_path/'no'/'q.h5', {'video_1': [1.]})
    assert sorted(os.listdir(tmp_path)) == ['p.h5']

# ---------- console scripts ----------
def run(prog, *args):
    exe = Path(sys.executable).parent/prog
    fn = prog.replace('-', '_')
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-c', f'import sys; sys.argv[0] = {prog!r}; from sspvs.metrics import {fn}; {fn}()']
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300)

def call(fn, *args, **kw):
    "Run a console-script function in this process: (exit status, stdout, the SystemExit message)."
    import io, contextlib
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf): fn(*[str(a) for a in args], **{k: (str(v) if isinstance(v, Path) else v) for k, v in kw.items()})
    except SystemExit as e: return (e.code if isinstance(e.code, int) else 1), buf.getvalue(), str(e)
    return 0, buf.getvalue(), ''

def preds_for(path, **changes):
    p = {r.key: r.gtscore for r in BenchmarkFile(path).values()}
    p.update(changes)
    return {k: v for k, v in p.items() if v is not None}

def test_evaluate_cli(files, tmp_path):
    _, tv, _ = files
    pr = write_predictions(tmp_path/'preds.h5', preds_for(tv))
    out = tmp_path/'res.json'
    res = run('sspvs-evaluate', tv, pr, '--json', out)
    assert res.returncode == 0, res.stderr
    assert 'metric avg: the file name does not say SumMe' in res.stdout
    assert "knapsack official: shot values int(1000 x mean score), OR-Tools" in res.stdout
    lines = res.stdout.splitlines()
    assert lines[2].startswith('rank otani: frame scores against each annotator') and lines[3].split()[:3] == ['video', 'frames', 'F1']
    assert len(lines) == 4 + 4 + 2 and lines[-2].startswith('mean of 4')
    assert lines[-1].startswith('ties: ') and 'of 4 videos have more than one optimal summary under the official knapsack' in lines[-1]
    j = json.loads(out.read_text())
    assert set(j) == {'metric', 'metric_from', 'knapsack', 'rank', 'videos', 'mean', 'ties'} and j['metric'] == 'avg' and j['rank'] == 'otani' and list(j['videos']) == [f'video_{i}' for i in range(1, 5)]
    assert j['knapsack'] == 'official' and set(j['videos']['video_1']['ties']) >= {'tied', 'n_optimal', 'f1_min', 'f1_max', 'ties_exhaustive'}
    bf = BenchmarkFile(tv)
    want = evaluate(bf, {r.key: r.gtscore for r in bf.values()}, 'avg')
    for k in ('f1', 'kendall', 'spearman'):
        assert abs(j['mean'][k] - want['mean'][k]) < 1e-6 and 0 <= j['videos']['video_1']['f1'] <= 1
    res = run('sspvs-evaluate', tv, pr, '--metric', 'max')
    assert res.returncode == 0 and 'metric max: as given by --metric' in res.stdout
    res = run('sspvs-evaluate', tv, pr, '--knapsack', 'exact', '--json', out)
    assert res.returncode == 0 and 'knapsack exact: float shot means' in res.stdout and json.loads(out.read_text())['knapsack'] == 'exact'
    want = evaluate(bf, {r.key: r.gtscore for r in bf.values()}, 'avg', knapsack='exact')
    assert abs(json.loads(out.read_text())['mean']['f1'] - want['mean']['f1']) < 1e-6
    res = run('sspvs-evaluate', tv, pr, '--knapsack', 'greedy')
    assert res.returncode != 0 and 'greedy' in res.stderr

def test_evaluate_cli_summe_default(files, tmp_path):
    _, _, sm = files
    pr = write_predictions(tmp_path/'preds.h5', preds_for(sm))
    res = run('sspvs-evaluate', sm, pr)
    assert res.returncode == 0 and 'metric max: the file name says SumMe' in res.stdout

def _bad_cases(tv, d):
    "(name, prepared predictions path or None, extra args, the message expected)"
    bf = BenchmarkFile(tv)
    n2 = bf['video_2'].n_steps
    (d/'text.h5').write_text('not hdf5 at all')
    with h5py.File(d/'twod.h5', 'w') as f:
        for r in bf.values(): f[r.key] = np.zeros((r.n_steps, 2))
    with h5py.File(d/'nan.h5', 'w') as f:
        for r in bf.values(): f[r.key] = np.where(np.arange(r.n_steps) == 3, np.nan, r.gtscore) if r.key == 'video_3' else r.gtscore
    return [
        ('missing video', write_predictions(d/'miss.h5', preds_for(tv, video_2=None)), [], "miss.h5: video_2: no predictions for this video"),
        ('wrong length', write_predictions(d/'len.h5', preds_for(tv, video_2=np.ones(n2 - 1))), [], f"len.h5: video_2: {n2 - 1} scores but {tv.name} has {n2} steps"),
        ('NaN', d/'nan.h5', [], "nan.h5: video_3: 1 NaN or inf scores"),
        ('extra video', write_predictions(d/'extra.h5', preds_for(tv, video_99=np.ones(5))), [], f"extra.h5: video_99: not a video of {tv.name}"),
        ('2-D predictions', d/'twod.h5', [], "twod.h5: video_1: predictions must be a 1-D array"),
        ('predictions not HDF5', d/'text.h5', [], "text.h5: not an HDF5 file"),
        ('predictions missing', d/'nope.h5', [], f"{d/'nope.h5'}: no such file"),
        ('json folder missing', write_predictions(d/'ok.h5', preds_for(tv)), ['--json', d/'no_dir'/'o.json'], f"the folder {d/'no_dir'} does not exist"),
        ('json is a folder', d/'ok.h5', ['--json', d], 'is a folder; --json needs a file name'),
    ]

def test_evaluate_cli_bad_inputs(files, tmp_path):
    "Every bad input: exit status 1, one line naming the file and video, no output file. In-process (the console wrapper is tested below)."
    from sspvs.metrics import sspvs_evaluate
    _, tv, _ = files
    d = tmp_path/'in'; d.mkdir()
    outdir = tmp_path/'out'; outdir.mkdir()
    for name, pr, extra, msg in _bad_cases(tv, d):
        kw = dict(json=outdir/'res.json') if not extra else {extra[0][2:]: extra[1]}
        code, out, err = call(sspvs_evaluate, tv, pr, **kw)
        assert code != 0, name
        assert msg in err and err.startswith('sspvs-evaluate: error: '), (name, err)
        assert '\n' not in err, (name, err)
        assert list(outdir.iterdir()) == [], (name, list(outdir.iterdir()))      # no output file, no temporary
    assert not (d/'no_dir').exists()

def test_evaluate_cli_bad_input_process(files, tmp_path):
    "The installed console script: exit status, one line on stderr, no traceback, nothing written."
    _, tv, _ = files
    pr = write_predictions(tmp_path/'miss.h5', preds_for(tv, video_2=None))
    res = run('sspvs-evaluate', tv, pr, '--json', tmp_path/'o.json')
    assert res.returncode == 1 and res.stdout == ''
    assert res.stderr.strip() == 'sspvs-evaluate: error: miss.h5: video_2: no predictions for this video (it is in eccv16_dataset_tvsum_google_pool5.h5)'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['miss.h5']

def test_evaluate_cli_bad_dataset(files, tmp_path):
    from sspvs.metrics import sspvs_evaluate
    _, tv, _ = files
    pr = write_predictions(tmp_path/'preds.h5', preds_for(tv))
    (tmp_path/'junk.h5').write_bytes(b'\x00' * 64)
    for ds, msg in ((tmp_path/'junk.h5', 'junk.h5: not an HDF5 file'), (tmp_path/'none.h5', 'none.h5: no such file')):
        code, _, err = call(sspvs_evaluate, ds, pr, json=tmp_path/'o.json')
        assert code != 0 and msg in err and len(err.splitlines()) == 1
        assert not (tmp_path/'o.json').exists()

def test_evaluate_cli_unwritable_json(files, tmp_path):
    "A folder nobody can create files in, root included (CI runs as root, which ignores a read-only mode): /proc."
    _, tv, _ = files
    pr = write_predictions(tmp_path/'preds.h5', preds_for(tv))
    ro = Path('/proc')
    if not ro.is_dir(): pytest.skip('no /proc on this system')
    res = run('sspvs-evaluate', tv, pr, '--json', ro/'o.json')
    assert res.returncode != 0 and f'cannot write in {ro}' in res.stderr and 'Traceback' not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (ro/'o.json').exists()
    # below a regular file: no folder there at all
    res = run('sspvs-evaluate', tv, pr, '--json', pr/'o.json')
    assert res.returncode != 0 and 'does not exist' in res.stderr and 'Traceback' not in res.stderr

def test_baselines_cli_errors(tmp_path):
    from sspvs.metrics import sspvs_baselines
    code, _, err = call(sspvs_baselines)
    assert code != 0 and 'give --tvsum DIR and/or --summe DIR' in err
    code, _, err = call(sspvs_baselines, summe=str(tmp_path), json=str(tmp_path/'b.json'))
    assert code != 0 and f'{tmp_path}: no GT folder' in err and not (tmp_path/'b.json').exists()
    code, _, err = call(sspvs_baselines, tvsum=str(tmp_path/'nothing'))
    assert code != 0 and 'nothing: not a folder' in err
    code, _, err = call(sspvs_baselines, tvsum=str(tmp_path), n_draws=0)
    assert code != 0 and '--n_draws must be at least 1' in err

@pytest.mark.skipif(data_path('tvsum') is None or data_path('summe') is None, reason=NO_DATA)
def test_baselines_cli_real_annotations(tmp_path):
    out = tmp_path/'b.json'
    res = run('sspvs-baselines', '--tvsum', data_path('tvsum'), '--summe', data_path('summe'), '--json', out, '--n_draws', 3)
    assert res.returncode == 0, res.stderr
    assert 'knapsack official' in res.stdout and 'knapsack exact' in res.stdout
    rows = json.loads(out.read_text())
    key = lambda r: (r['dataset'], r['shots'], r['knapsack'])
    assert sorted(map(key, rows)) == sorted((ds, sh, k) for ds, sh in (('tvsum', 'uniform 2 s'), ('summe', 'uniform 2 s'), ('summe', 'KTS (eccv16)'))
                                            for k in ('official', 'exact'))
    for r in rows:
        for who in ('human', 'random'): assert set(r[who]) == {'f1', 'kendall', 'spearman'} and 0 < r[who]['f1'] < 1
        assert r['human']['kendall'] > .1 > abs(r['random']['kendall']) and r['human']['f1'] > r['random']['f1']
    tv = next(r for r in rows if key(r) == ('tvsum', 'uniform 2 s', 'official'))
    assert abs(tv['human']['kendall'] - .177) < 5e-4 and abs(tv['human']['spearman'] - .204) < 5e-4   # Otani et al. 2019
    sm = [r for r in rows if r['dataset'] == 'summe']
    assert all(r['human'] == sm[0]['human'] for r in sm)        # SumMe's people chose frames: neither shots nor knapsack matter to them
