"Clean failures, as a new user meets them: every bad option or input gives one line, exit status 1, and leaves nothing behind; the corrected command then runs into the same --out."
import json, os, subprocess, sys, warnings
from pathlib import Path
import numpy as np, pytest

from sspvs.core import SSPVSError, cli_errors, check_out_path, save_json
from sspvs.data import STANDARD, load_benchmarks
from sspvs.synthetic import make_benchmark
from sspvs.metrics import evaluate

EXE = Path(sys.executable).parent
TINY = ['--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64', '--no_progress', '--no_figures']

def run(tool, *args, cwd=None):
    env = dict(os.environ, MPLBACKEND='Agg')
    return subprocess.run([str(EXE/tool), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)

def one_line_error(p, tool, *parts):
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in p.stderr, p.stderr
    assert lines[0].startswith(f'{tool}: error: '), lines[0]
    for s in parts: assert s in lines[0], lines[0]
    return lines[0]

def tree(d:Path)->list[str]:
    "Every path below `d`, relative, sorted: what a failed command must not have changed."
    return sorted(str(p.relative_to(d)) for p in Path(d).rglob('*'))

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "A 10-video TVSum stand-in (16-d features), a 5-fold split file, and a split file whose only split has no test videos."
    d = tmp_path_factory.mktemp('fail_data')
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10)
    keys = [f'video_{i}' for i in range(1, 11)]
    save_json([{'train_keys': [k for k in keys if k not in keys[2*i:2*i+2]], 'test_keys': keys[2*i:2*i+2]} for i in range(5)], d/'tvsum_splits.json')
    (d/'empty').mkdir()
    save_json([{'train_keys': keys, 'test_keys': []}], d/'empty'/'tvsum_splits.json')
    return d

# --- cli_errors and the output-folder check, in the library ---

def test_cli_errors_file_exists_and_not_a_directory(tmp_path):
    f = tmp_path/'f'; f.write_text('')
    for bad, err in ((f, 'File exists'), (f/'sub', 'Not a directory')):
        with pytest.raises(SystemExit) as e:
            with cli_errors('tool'): bad.mkdir()
        assert str(e.value) == f'tool: error: {err}: {bad}'

def test_check_out_path_creates_nothing(tmp_path):
    f = tmp_path/'f'; f.write_text('')
    check_out_path(tmp_path/'a'/'b')
    with pytest.raises(SSPVSError, match='exists and is not a folder'): check_out_path(f)
    with pytest.raises(SSPVSError, match='is a file, not a folder'): check_out_path(f/'a'/'b')
    assert tree(tmp_path) == ['f']

def test_check_out_path_create(tmp_path):
    "With create=True: the same checks first (nothing made on failure), then the folder, then a probe write that even root fails in /proc."
    f = tmp_path/'f'; f.write_text('')
    for bad in (f, f/'a'/'b'):
        with pytest.raises(SSPVSError): check_out_path(bad, create=True)
    assert tree(tmp_path) == ['f']
    assert check_out_path(tmp_path/'a'/'b', create=True) == tmp_path/'a'/'b'
    assert tree(tmp_path) == ['a', 'a/b', 'f']   # the folders, and no probe file left
    if not Path('/proc').is_dir(): pytest.skip('no /proc on this system')
    with pytest.raises(SSPVSError, match='--out /proc: cannot write in the output folder'): check_out_path('/proc', create=True)

# --- --out is a file, or below a file ---

@pytest.mark.parametrize('tool', ['sspvs-train', 'sspvs-benchmark'])
@pytest.mark.parametrize('below', [False, True])
def test_out_is_a_file(data, tmp_path, tool, below):
    f = tmp_path/'results.txt'; f.write_text('keep me')
    out = f/'run' if below else f
    args = ['--data', data, '--splits', data, '--epochs', '1', '--out', out, *TINY] + (['--dataset', 'tvsum'] if tool == 'sspvs-benchmark' else [])
    one_line_error(run(tool, *args), tool, str(out), 'is a file, not a folder' if below else 'exists and is not a folder')
    assert tree(tmp_path) == ['results.txt'] and f.read_text() == 'keep me'

@pytest.mark.parametrize('below', [False, True])
def test_synthetic_out_is_a_file(tmp_path, below):
    f = tmp_path/'x.h5'; f.write_text('keep me')
    out = f/'sub' if below else f
    one_line_error(run('sspvs-synthetic', out, '--feat_dim', '4'), 'sspvs-synthetic', str(out),
                   'is a file, not a folder' if below else 'exists and is not a folder')
    assert tree(tmp_path) == ['x.h5'] and f.read_text() == 'keep me'

# --- options no model can use: nothing written, and the corrected rerun into the same folder works ---

def test_bad_heads_and_lr_then_corrected_rerun(data, tmp_path):
    out = tmp_path/'o'
    base = ['--data', data, '--splits', data, '--epochs', '1', '--out', out, *TINY[2:]]
    one_line_error(run('sspvs-train', *base, '--d_model', '16', '--n_heads', '3'), 'sspvs-train',
                   '--n_heads 3 does not divide the model width --d_model 16')
    assert not out.exists()
    one_line_error(run('sspvs-train', *base, '--d_model', '16', '--n_heads', '2', '--lr', '-0.001'), 'sspvs-train',
                   '--lr must be a positive number, got -0.001')
    assert not out.exists()
    one_line_error(run('sspvs-benchmark', '--dataset', 'tvsum', *base, '--d_model', '16', '--n_heads', '5'), 'sspvs-benchmark',
                   '--n_heads 5 does not divide')
    assert not out.exists()
    one_line_error(run('sspvs-train', *base, '--d_model', '16', '--n_heads', '2', '--n_train', '7'), 'sspvs-train',
                   'split 0: --n_train must be a whole number from 1 to the 6 training videos left after validation, got 7')
    assert not out.exists()
    p = run('sspvs-train', *base, '--d_model', '16', '--n_heads', '2')
    assert p.returncode == 0, p.stderr
    assert (out/'split0'/'seed0'/'result.json').is_file() and (out/'results.md').is_file()
    p = run('sspvs-train', *[tmp_path/'scarce' if a == out else a for a in base], '--d_model', '16', '--n_heads', '2', '--n_train', '3')   # the label-scarce regime
    assert p.returncode == 0, p.stderr
    r = json.loads((tmp_path/'scarce'/'split0'/'seed0'/'result.json').read_text())
    assert (r['n_train'], r['n_val']) == (3, 2) and set(r['train_keys']) < set(json.loads((out/'split0'/'seed0'/'result.json').read_text())['train_keys'])

def test_failed_start_does_not_block_the_corrected_rerun(data, tmp_path):
    "A folder holding only what a start that failed before training wrote (run.json, splits.json, baselines) is taken over by the corrected run."
    import sspvs.benchmark as B
    out = tmp_path/'o'; (out/'split0').mkdir(parents=True)
    save_json(dict(dataset='tvsum', setting='canonical', config=dict(epochs=99)), out/'run.json')
    save_json([], out/'splits.json'); save_json(dict(random={}, human={}), out/'split0'/'baselines.json')
    p = run('sspvs-train', '--data', data, '--splits', data, '--epochs', '1', '--out', out, *TINY)
    assert p.returncode == 0, p.stderr
    assert json.loads((out/'run.json').read_text())['config']['epochs'] == 1
    assert len(json.loads((out/'splits.json').read_text())) == 5
    assert 'human' in json.loads((out/'split0'/'baselines.json').read_text()) and json.loads((out/'split0'/'baselines.json').read_text())['human']
    # once a run has trained, a different one is still refused
    one_line_error(run('sspvs-train', '--data', data, '--splits', data, '--epochs', '2', '--out', out, *TINY), 'sspvs-train',
                   'this folder holds another run (config.epochs=1, this one has 2)')

# --- a split without test videos ---

def test_split_without_test_videos(data, tmp_path):
    split_file = data/'empty'/'tvsum_splits.json'
    for tool in ('sspvs-train', 'sspvs-benchmark'):
        out = tmp_path/tool
        msg = one_line_error(run(tool, '--data', data, '--dataset', 'tvsum', '--splits', split_file, '--epochs', '1', '--out', out, *TINY), tool,
                             'split 0 has no test videos')
        assert str(split_file) in msg             # the message names the split file
        assert not out.exists()                   # nothing trained, no run.json, splits.json or baselines.json

def test_split_without_test_videos_in_the_library(data, tmp_path):
    import sspvs.benchmark as B
    files = load_benchmarks(data/STANDARD['tvsum'])
    cfg = B.small_config('tvsum', d_model=16, d_ff=32, n_heads=2, n_layers=1, max_len=64, epochs=1, n_draws=2)
    with pytest.raises(SSPVSError, match='tvsum_splits.json: split 0 has no test videos'):
        B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', cfg, tmp_path/'o', splits=data/'empty'/'tvsum_splits.json', log=None)
    assert not (tmp_path/'o').exists()

# --- sspvs-summarize with a garbage checkpoint: no output folder ---

def test_summarize_garbage_checkpoint_leaves_no_folder(tmp_path):
    from sspvs.video import make_clip
    clip = make_clip(tmp_path/'clip.mp4', 2, [1.5, 1.5], (96, 64), 10)
    ck = tmp_path/'garbage.safetensors'; ck.write_bytes(b'\x00\x01 not a checkpoint' * 10)
    out = tmp_path/'new'/'out'
    one_line_error(run('sspvs-summarize', clip, '--checkpoint', ck, '--out', out), 'sspvs-summarize', 'garbage.safetensors: not a readable safetensors checkpoint')
    assert not (tmp_path/'new').exists()
    one_line_error(run('sspvs-summarize', clip, '--out', ck/'sub'), 'sspvs-summarize', 'is a file, not a folder')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['clip.mp4', 'garbage.safetensors']

# --- negative scores (logits) in evaluation: one warning that says what the protocol does ---

def test_negative_scores_warn_once(tmp_path):
    bf = load_benchmarks(make_benchmark(tmp_path/STANDARD['tvsum'], 'tvsum', feat_dim=4, n_videos=3))
    recs = list(next(iter(bf.values())).values())
    rng = np.random.default_rng(0)
    logits = {r.key: rng.normal(-3, 1, r.n_steps) for r in recs}             # all negative: every shot's mean is <= 0
    with pytest.warns(UserWarning) as w: res = evaluate(recs, logits, source='logits.h5', knapsack='exact')
    assert len(w) == 1
    msg = str(w[0].message)
    assert msg.startswith('logits.h5: 3 of 3 videos have negative scores') and 'never chooses a shot whose mean score is <= 0' in msg
    assert res['mean']['f1'] == 0                                               # what the warning explains
    with pytest.warns(UserWarning) as w: evaluate(recs, logits, source='logits.h5')     # the default, official: OR-Tools' habits decide
    assert len(w) == 1 and 'the official knapsack values a shot at int(1000 x mean)' in str(w[0].message)
    probs = {k: 1 / (1 + np.exp(-v)) for k, v in logits.items()}
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                           # scores in [0, 1]: no warning
        res2 = evaluate(recs, probs)
    assert res2['mean']['f1'] > 0
    np.testing.assert_allclose(res2['mean']['kendall'], res['mean']['kendall'])  # a monotone map leaves the ranks alone
