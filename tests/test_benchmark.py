"The benchmark runner's command-line tools end to end, their one-line errors, and resuming an interrupted run."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest

from sspvs.core import save_json, data_path, NO_DATA
from sspvs.data import STANDARD, load_benchmarks
from sspvs.synthetic import make_benchmark
from sspvs.learner import build_summarizer, save_checkpoint
from sspvs.metrics import read_predictions
import sspvs.benchmark as B
from sspvs.learner import read_checkpoint

TINY = ['--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64', '--no_progress', '--no_figures']

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "A 10-video TVSum stand-in and a 5-video SumMe stand-in with 16-d features, and a 5-fold split file for the TVSum one."
    d = tmp_path_factory.mktemp('bench')
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10)
    make_benchmark(d/STANDARD['summe'], 'summe', feat_dim=16, n_videos=5)
    keys = [f'video_{i}' for i in range(1, 11)]
    save_json([{'train_keys': [k for k in keys if k not in keys[2*i:2*i+2]], 'test_keys': keys[2*i:2*i+2]} for i in range(5)], d/'tvsum_splits.json')
    return d

def run(*args, cwd=None):
    env = dict(os.environ, MPLBACKEND='Agg')
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)

def one_line_error(p, *parts):
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in p.stderr, p.stderr
    for s in parts: assert s in lines[0], lines[0]
    return lines[0]

# --- bad configurations: one line, exit status 1 ---

def test_unknown_setting(data, tmp_path):
    one_line_error(run('sspvs-benchmark', '--data', data, '--dataset', 'tvsum', '--setting', 'cannonical', '--out', tmp_path/'o'),
                   "sspvs-benchmark: error: unknown setting 'cannonical'")

def test_unknown_dataset(data, tmp_path):
    one_line_error(run('sspvs-train', '--data', data, '--dataset', 'ovp', '--out', tmp_path/'o'), "sspvs-train: error: unknown dataset 'ovp'")

def test_split_keys_missing(data, tmp_path):
    save_json([{'train_keys': ['video_1', 'video_2'], 'test_keys': ['video_99']}], tmp_path/'tvsum_splits.json')
    one_line_error(run('sspvs-train', '--data', data, '--splits', tmp_path/'tvsum_splits.json', '--out', tmp_path/'o'),
                   "tvsum_splits.json: split 0: test_keys: 'video_99': no video 'video_99'")

def test_split_index_out_of_range(data, tmp_path):
    one_line_error(run('sspvs-train', '--data', data, '--splits', data, '--split', '7', '--out', tmp_path/'o'),
                   "split 7: the tvsum canonical splits are numbered 0 to 4")

@pytest.mark.skipif(data_path('splits') is None, reason=NO_DATA)
def test_official_split_needs_all_videos(data, tmp_path):
    "The official TVSum splits name 50 videos; our 10-video stand-in lacks most of them."
    one_line_error(run('sspvs-train', '--data', data, '--out', tmp_path/'o'), 'tvsum_splits.json: split 0:', 'no video')

def test_checkpoint_feature_width(data, tmp_path):
    ck = save_checkpoint(tmp_path/'wide.safetensors', build_summarizer(dict(feat_dim=32, d_model=16, n_layers=1, n_heads=2, d_ff=32)))
    one_line_error(run('sspvs-train', '--data', data, '--splits', data, '--pretrained', ck, '--out', tmp_path/'o'),
                   "wide.safetensors: the checkpoint reads 32-d features but eccv16_dataset_tvsum_google_pool5.h5 has 16-d features")

def test_other_run_in_out(data, tmp_path):
    p = run('sspvs-train', '--data', data, '--splits', data, '--epochs', '1', '--out', tmp_path/'o', *TINY)
    assert p.returncode == 0, p.stderr
    one_line_error(run('sspvs-train', '--data', data, '--splits', data, '--epochs', '2', '--out', tmp_path/'o', *TINY),
                   'this folder holds another run (config.epochs=1, this one has 2)')

# --- end to end ---

def test_benchmark_end_to_end(data, tmp_path):
    "Five folds, one seed, two epochs of a tiny model; the predictions file scores with sspvs-evaluate to the table's numbers."
    out = tmp_path/'bench'
    p = run('sspvs-benchmark', '--data', data, '--dataset', 'tvsum', '--splits', data, '--seeds', '1', '--epochs', '2', '--out', out,
            *TINY[:-1])
    assert p.returncode == 0, p.stderr
    assert '| plain | tvsum | canonical | validation | 5 |' in p.stdout and '| random | tvsum | canonical |' in p.stdout
    for f in ('results.md', 'results.json', 'run.json', 'predictions.h5', 'predictions-seed0.h5', 'figures/splits.png', 'figures/scores.png',
              'split0/baselines.json', 'split4/seed0/result.json', 'split4/seed0/last.safetensors', 'split4/seed0/predictions.json'):
        assert (out/f).is_file(), f
    assert not (out/'split0'/'seed0'/'epochs').exists()
    res = json.loads((out/'results.json').read_text())
    val = next(r for r in res['rows'] if r['selection'] == 'validation')
    assert len(read_predictions(out/'predictions.h5')) == 10
    ev = run('sspvs-evaluate', data/STANDARD['tvsum'], out/'predictions.h5', '--json', tmp_path/'ev.json')
    assert ev.returncode == 0, ev.stderr
    mean = json.loads((tmp_path/'ev.json').read_text())['mean']
    for k in ('f1', 'kendall', 'spearman'): assert abs(mean[k] - val[k]) < 1e-9   # equal folds: mean of fold means = mean over videos
    # rerunning the same command resumes: everything is finished, so nothing is retrained
    before = (out/'split2'/'seed0'/'result.json').stat().st_mtime_ns
    p2 = run('sspvs-benchmark', '--data', data, '--dataset', 'tvsum', '--splits', data, '--seeds', '1', '--epochs', '2', '--out', out, *TINY[:-1])
    assert p2.returncode == 0, p2.stderr
    assert (out/'split2'/'seed0'/'result.json').stat().st_mtime_ns == before
    assert p2.stdout.split('\n\n')[1] == p.stdout.split('\n\n')[1]   # the same table

def test_train_one_split(data, tmp_path):
    out = tmp_path/'t'
    p = run('sspvs-train', '--data', data/STANDARD['tvsum'], '--splits', data/'tvsum_splits.json', '--split', '3', '--seed', '1',
            '--epochs', '1', '--out', out, *TINY)
    assert p.returncode == 0, p.stderr
    r = json.loads((out/'split3'/'seed1'/'result.json').read_text())
    assert r['test_keys'] == ['eccv16_dataset_tvsum_google_pool5/video_7', 'eccv16_dataset_tvsum_google_pool5/video_8']
    assert not set(r['val_keys']) & set(r['test_keys']) and r['n_train'] + r['n_val'] == 8
    assert set(read_predictions(out/'predictions.h5')) == {'video_7', 'video_8'}
    from sspvs.learner import resolve_precision
    assert r['train']['precision'] == resolve_precision('auto', 'cpu')    # files given: the official preset, precision auto

def test_bad_precision(data, tmp_path):
    one_line_error(run('sspvs-train', '--data', data, '--splits', data, '--precision', 'fp8', '--out', tmp_path/'o', *TINY),
                   "sspvs-train: error: --precision must be fp32, bf16 or auto, got 'fp8'")
    assert not (tmp_path/'o').exists()

def test_precision_is_recorded_resolved(data, tmp_path):
    "auto is resolved for the device, and the resolved value is in run.json, results.json and each result.json."
    from sspvs.learner import resolve_precision
    out = tmp_path/'p'
    p = run('sspvs-train', '--data', data, '--splits', data, '--epochs', '1', '--precision', 'auto', '--device', 'cpu', '--out', out, *TINY)
    assert p.returncode == 0, p.stderr
    want = resolve_precision('auto', 'cpu')
    assert f'precision {want}' in p.stdout
    assert json.loads((out/'run.json').read_text())['config']['precision'] == want
    assert json.loads((out/'results.json').read_text())['config']['precision'] == want
    r = json.loads((out/'split0'/'seed0'/'result.json').read_text())
    assert r['train']['precision'] == want and np.isfinite(r['history'][0]['loss'])

def test_knapsack_is_recorded(data, tmp_path):
    "--knapsack exact: said on the console, in run.json, results.json and each result.json, and the selected epochs carry their tie report."
    out = tmp_path/'k'
    p = run('sspvs-train', '--data', data, '--splits', data, '--epochs', '1', '--knapsack', 'exact', '--out', out, *TINY)
    assert p.returncode == 0, p.stderr
    assert 'knapsack exact: float shot means' in p.stdout
    assert json.loads((out/'run.json').read_text())['config']['knapsack'] == 'exact'
    assert json.loads((out/'results.json').read_text())['knapsack'] == 'exact'
    r = json.loads((out/'split0'/'seed0'/'result.json').read_text())
    assert r['knapsack'] == 'exact'
    t = r['selected']['validation']['ties']
    assert t['videos'] == r['n_test'] and t['f1_min'] <= r['selected']['validation']['f1'] <= t['f1_max']
    assert '- F1: the exact knapsack convention' in (out/'results.md').read_text()
    p = run('sspvs-train', '--data', data, '--splits', data, '--knapsack', 'greedy', '--out', tmp_path/'g', *TINY)
    assert p.returncode != 0 and 'greedy' in p.stderr and not (tmp_path/'g').exists()

def test_rank_is_recorded(data, tmp_path):
    "--rank steps: said on the console, in run.json, results.json, each result.json and the tables; the recorded tau is the convention's."
    from sspvs.data import load_benchmarks, get_record
    from sspvs.metrics import evaluate
    out = tmp_path/'r'
    p = run('sspvs-train', '--data', data, '--splits', data, '--epochs', '1', '--rank', 'steps', '--out', out, *TINY)
    assert p.returncode == 0, p.stderr
    assert "rank steps: step scores against each annotator's annotation at the steps' frames" in p.stdout and 'Kendall τ (steps)' in p.stdout
    assert json.loads((out/'run.json').read_text())['config']['rank'] == 'steps'
    assert json.loads((out/'results.json').read_text())['rank'] == 'steps'
    r = json.loads((out/'split0'/'seed0'/'result.json').read_text())
    assert r['rank'] == 'steps'
    md = (out/'results.md').read_text()
    assert '- Kendall τ and Spearman ρ: the steps rank-correlation convention' in md and 'Kendall τ (steps)' in md
    files = load_benchmarks(data)
    test = [get_record(files, k) for k in r['test_keys']]
    preds = json.loads((out/'split0'/'seed0'/'predictions.json').read_text())['validation']
    for rank, same in (('steps', True), ('otani', False)):
        got = evaluate(test, {k: np.asarray(v) for k, v in preds.items()}, r['metric'], knapsack=r['knapsack'], ties=False, rank=rank)['mean']['kendall']
        assert (abs(got - r['selected']['validation']['kendall']) < 1e-9) == same, (rank, got)
    p = run('sspvs-train', '--data', data, '--splits', data, '--rank', 'pearson', '--out', tmp_path/'g', *TINY)
    assert p.returncode != 0 and 'pearson' in p.stderr and not (tmp_path/'g').exists()

# --- resuming an interrupted run ---

def test_resume_is_exact(data, tmp_path, monkeypatch):
    "A run interrupted during its second epoch, then rerun, ends exactly like an uninterrupted one (CPU)."
    files = load_benchmarks(data/STANDARD['tvsum'])
    splits, _ = B.get_splits(files, 'tvsum', splits=data)
    cfg = B.small_config('tvsum', d_model=16, d_ff=32, n_heads=2, n_layers=1, max_len=64, epochs=3, n_draws=2, precision='fp32')   # exact in float32
    go = lambda out: B.run_split(files, splits[1], 1, cfg, out, 'tvsum', 'canonical', seed=0, progress=False)
    ref = go(tmp_path/'a')
    calls, real = [0], B.predict
    def flaky(*a, **k):
        calls[0] += 1
        if calls[0] == 3: raise KeyboardInterrupt   # epoch 2: the validation prediction
        return real(*a, **k)
    monkeypatch.setattr(B, 'predict', flaky)
    with pytest.raises(KeyboardInterrupt): go(tmp_path/'b')
    assert not (tmp_path/'b'/'split1'/'seed0'/'result.json').exists()
    assert json.loads((tmp_path/'b'/'split1'/'seed0'/'last.json').read_text())['extra']['epoch'] == 1
    monkeypatch.setattr(B, 'predict', real)
    res = go(tmp_path/'b')
    strip = lambda h: [{k: v for k, v in e.items() if k != 'seconds'} for e in h]
    assert strip(res['history']) == strip(ref['history'])
    assert res['selected'] == ref['selected']
    pa = json.loads((tmp_path/'a'/'split1'/'seed0'/'predictions.json').read_text())
    pb = json.loads((tmp_path/'b'/'split1'/'seed0'/'predictions.json').read_text())
    assert pa == pb

# --- variants: fine-tuning from a pretraining checkpoint, +Text ---

@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    "A tiny, untrained sspvs-pretrain checkpoint for 16-d features (the architecture is what matters here)."
    from sspvs.pretrain import PretrainConfig, build_pretrain_model, save_pretrain
    cfg = PretrainConfig.quick(feat_dim=16, d_model=16, n_layers=1, n_heads=2, d_ff=32, hidden=(16, 8))
    return save_pretrain(tmp_path_factory.mktemp('pre')/'best.safetensors', build_pretrain_model(cfg), cfg)

def test_pretrained_text(data, pretrained, tmp_path):
    out = tmp_path/'pt'
    p = run('sspvs-train', '--data', data, '--splits', data, '--epochs', '1', '--pretrained', pretrained, '--text', '--out', out, *TINY[8:])
    assert p.returncode == 0, p.stderr
    assert '| pretrained +Text | tvsum | canonical | validation | 1 |' in p.stdout
    r = json.loads((out/'split0'/'seed0'/'result.json').read_text())
    assert r['variant'] == 'pretrained +Text' and r['model']['d_model'] == 16 and r['model']['text_dim'] == 384   # the checkpoint's width; MiniLM's 384-d text
    assert json.loads((out/'results.json').read_text())['rows'][0]['variant'] == 'pretrained +Text'

def test_pretrained_feature_width(data, tmp_path):
    from sspvs.pretrain import PretrainConfig, build_pretrain_model, save_pretrain
    cfg = PretrainConfig.quick(feat_dim=24, d_model=16, n_layers=1, n_heads=2, d_ff=32, hidden=(16, 8), w_match=0, w_align=0)
    ck = save_pretrain(tmp_path/'pre24.safetensors', build_pretrain_model(cfg), cfg)
    one_line_error(run('sspvs-benchmark', '--data', data, '--dataset', 'tvsum', '--splits', data, '--pretrained', ck, '--out', tmp_path/'o'),
                   "pre24.safetensors: the checkpoint reads 24-d features but eccv16_dataset_tvsum_google_pool5.h5 has 16-d features")

def test_inputs_checked_once_per_target(data, tmp_path, monkeypatch):
    "The console scripts check every target's inputs before any starts, and `run_benchmark` does not check them again."
    calls, real = [], B.check_run_inputs
    monkeypatch.setattr(B, 'check_run_inputs', lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    monkeypatch.setenv('SSPVS_DATA', str(tmp_path))   # no official split files: generated splits for both targets
    B.sspvs_benchmark(data=[str(data)], seeds=1, folds='0', epochs=1, out=str(tmp_path/'o'), d_model=16, d_ff=32, n_heads=2, n_layers=1,
                      max_len=64, no_progress=True, no_figures=True)
    assert sorted(calls) == ['summe', 'tvsum'], calls

TINY_TEXT = ['--split', '0', '--epochs', '1', '--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64',
             '--threads', '1', '--device', 'cpu', '--no_progress', '--no_figures']

def test_summe_text_takes_the_official_budgets_and_repeat(tmp_path):
    "sspvs-train --text on SumMe, official preset: repeat 6 and budgets (1, 3, 1) in run.json and in the checkpoint; --repeat still overrides."
    for extra, repeat in (([], 6), (['--repeat', '2'], 2)):
        out = tmp_path/f'run{repeat}'
        r = subprocess.run(['sspvs-train', '--dataset', 'summe', '--preset', 'official', '--text', '--out', str(out), *TINY_TEXT, *extra],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        cfg = json.loads((out/'run.json').read_text())['config']
        assert cfg['repeat'] == repeat and cfg['text_budgets'] == [1, 3, 1]
        assert read_checkpoint(out/'split0'/'seed0'/'best.safetensors').extra['text_encoder']['budgets'] == [1, 3, 1]
