"The linear-probe baseline: the ridge fit, the penalty chosen on validation videos only, the same videos as the model's run, and its row in every output."
import json, os, subprocess, warnings
from pathlib import Path
import numpy as np, pytest

from sspvs.core import save_json
from sspvs.data import STANDARD, load_benchmarks, get_record, minmax
from sspvs.synthetic import make_benchmark, synthetic_dir
import sspvs.benchmark as B

TINY = ['--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64', '--no_progress', '--no_figures']

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp('probe')
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10)
    keys = [f'video_{i}' for i in range(1, 11)]
    save_json([{'train_keys': [k for k in keys if k not in keys[2*i:2*i+2]], 'test_keys': keys[2*i:2*i+2]} for i in range(5)], d/'tvsum_splits.json')
    return d

def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=dict(os.environ, MPLBACKEND='Agg'), timeout=600)

def test_fit_ridge_closed_form():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 7)) + 5; y = X @ rng.normal(size=7) + rng.normal(0, .5, 300)
    pens = [1e-3, .3, 30.]
    W, b = B.fit_ridge(X, y, pens)
    Xc, yc = X - X.mean(0), y - y.mean()
    for i, p in enumerate(pens):
        w = np.linalg.solve(Xc.T @ Xc + len(X) * p * np.eye(7), Xc.T @ yc)
        np.testing.assert_allclose(W[i], w, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(b[i], y.mean() - X.mean(0) @ w, rtol=1e-8)
    # the objective: mean squared error + penalty * |w|^2 is minimal at the fit (a perturbation raises it)
    f = lambda w, c: np.mean((X @ w + c - y) ** 2) + pens[1] * w @ w
    for _ in range(5):
        assert f(W[1] + rng.normal(0, 1e-3, 7), b[1]) > f(W[1], b[1])
    with pytest.raises(Exception, match='penalties must be positive'): B.fit_ridge(X, y, [-1.])

def test_penalty_chosen_on_validation_never_test(data):
    recs = list(load_benchmarks(data)['eccv16_dataset_tvsum_google_pool5'].values())
    a = B.linear_probe(recs[:6], recs[6:8], recs[8:], 'avg', 'kendall')
    b = B.linear_probe(recs[:6], recs[6:8], recs[8:9], 'avg', 'kendall')       # other test videos: the same choice
    assert a['index'] == b['index'] and a['val'] == b['val']
    assert a['val'][a['index']] == max(a['val'])
    c = B.linear_probe(recs[:6], recs[6:8], recs[8:], 'avg', 'loss')
    assert c['val'][c['index']] == min(c['val'])

def test_edge_of_the_grid_warns(data):
    recs = list(load_benchmarks(data)['eccv16_dataset_tvsum_google_pool5'].values())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        r = B.linear_probe(recs[:6], recs[6:8], recs[8:], 'avg', 'kendall', penalties=[1e-8])
    assert r['edge'] is False and not any('edge of the grid' in str(x.message) for x in w)   # one penalty: no edge to speak of
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        r = B.linear_probe(recs[:6], recs[6:8], recs[8:], 'avg', 'loss', penalties=[1e6, 1e7])    # a grid of two: whichever wins is at an edge
    assert r['edge'] is True and r['index'] in (0, 1) and any('edge of the grid' in str(x.message) for x in w)

@pytest.mark.parametrize('dataset', ['summe', 'tvsum'])
def test_stand_in_penalty_inside_the_grid(dataset):
    "On the bundled stand-ins, the penalty chosen for every split and both seeds of the main job lies strictly inside PROBE_PENALTIES."
    files = load_benchmarks(synthetic_dir())
    sp, _ = B.get_splits(files, dataset, 'canonical')
    cfg = B.small_config(dataset); target = B.target_file(files, dataset)
    R = lambda ks: [get_record(files, k) for k in ks]
    for split, seed in [(i, s) for i in range(len(sp)) for s in (0, 1)]:
        tr, va = B.carve_validation(sp[split].train_keys, cfg['val_frac'], seed=seed, prefer=target.stem)
        with warnings.catch_warnings():
            warnings.simplefilter('error')      # an edge warning fails the test
            r = B.linear_probe(R(tr), R(va), R(sp[split].test_keys), B.default_metric(dataset), cfg['select'])
        assert 0 < r['index'] < len(B.PROBE_PENALTIES) - 1, r['penalty']
        assert r['test']['kendall'] > 0.05

def test_probe_in_every_output(data, tmp_path):
    out = tmp_path/'t'
    p = run('sspvs-train', '--data', data, '--splits', data, '--split', '1', '--epochs', '1', '--out', out, *TINY)
    assert p.returncode == 0, p.stderr
    assert '| linear probe | tvsum | canonical | validation (penalty) | 1 |' in p.stdout
    assert 'Model against the linear probe, run by run:' in p.stdout and 'vs linear probe' in p.stdout
    res = json.loads((out/'result.json').read_text()) if (out/'result.json').exists() else json.loads((out/'split1'/'seed0'/'result.json').read_text())
    # the probe of the run used the run's own validation videos and its own test videos
    files = load_benchmarks(data)
    R = lambda ks: [get_record(files, k) for k in ks]
    tr = [k for k in json.loads((out/'splits.json').read_text())[1]['train_keys'] if k not in res['val_keys']]
    again = B.linear_probe(R(tr), R(res['val_keys']), R(res['test_keys']), 'avg', 'kendall')
    assert again['penalty'] == res['probe']['penalty'] and again['test'] == res['probe']['test']
    js = json.loads((out/'results.json').read_text())
    assert [r['variant'] for r in js['rows']].count('linear probe') == 1
    assert js['probe']['summary'][0]['runs'] == 1 and js['probe']['runs'][0]['split'] == 1
    d = js['probe']['runs'][0]
    assert abs(d['diff']['kendall'] - (d['model']['kendall'] - d['probe']['kendall'])) < 1e-12
    md = (out/'results.md').read_text()
    assert '| linear probe |' in md and '## Model against the linear probe, run by run' in md and 'penalties chosen:' in md

def test_finished_run_without_probe_gets_one(data, tmp_path):
    "A run finished before the probe existed gains it on resume, without retraining."
    files = load_benchmarks(data); sp = B.load_splits(data/'tvsum_splits.json', files, 'tvsum')
    cfg = B.small_config(d_model=16, d_ff=32, n_heads=2, n_layers=1, max_len=64, epochs=1, n_draws=2)
    r = B.run_split(files, sp[0], 0, cfg, tmp_path, 'tvsum', 'canonical', progress=False)
    done = tmp_path/'split0'/'seed0'/'result.json'
    old = {k: v for k, v in r.items() if k != 'probe'}; save_json(old, done)
    r2 = B.run_split(files, sp[0], 0, cfg, tmp_path, 'tvsum', 'canonical', progress=False)
    assert r2['probe'] == r['probe'] and r2['history'] == r['history']
    assert json.loads(done.read_text())['probe'] == r['probe']

def test_aggregate_one_probe_per_split_and_seed():
    mk = lambda variant, split, seed, ptau: dict(variant=variant, dataset='summe', setting='canonical', split=split, seed=seed,
                                                 selected={'validation': dict(epoch=1, f1=.4, kendall=.1, spearman=.1)},
                                                 probe=dict(penalty=1., test=dict(f1=.3, kendall=ptau, spearman=.1)))
    base = {s: {'random': dict(f1=.3, kendall=0., spearman=0.), 'human': dict(f1=.5, kendall=.2, spearman=.2)} for s in (0, 1)}
    rows = B.aggregate([mk('plain', 0, 0, .1), mk('+Text', 0, 0, .1), mk('plain', 1, 0, .2), mk('+Text', 1, 0, .2)], base)
    probe = [r for r in rows if r['variant'] == 'linear probe']
    assert len(probe) == 1 and probe[0]['runs'] == 2 and abs(probe[0]['kendall'] - .15) < 1e-12
    s = B.probe_summary([mk('plain', 0, 0, .1), mk('+Text', 0, 0, .05)])
    assert [(x['variant'], x['ahead'], x['behind']) for x in s] == [('plain', 0, 0), ('+Text', 1, 0)]

def test_probe_with_one_training_video_and_no_validation(data):
    "Nothing held out to choose the penalty on: the probe takes the grid point nearest 1 and says so, instead of stopping the run (sspvs-train on a 2-video file)."
    files = load_benchmarks(data)
    recs = list(next(iter(files.values())).values())
    p = B.linear_probe(recs[:1], [], recs[1:3], 'avg', 'kendall')
    assert p['penalty'] == min(B.PROBE_PENALTIES, key=lambda x: abs(np.log(x))) and 'fixed penalty' in p['chosen_on']
    assert p['val'] == [] and not p['edge'] and np.isfinite(p['test']['kendall'])
    json.dumps(p, allow_nan=False)   # valid JSON, no NaN
