"`sspvs-benchmark --setting all`: the whole grid (dataset x setting x variant) into one table with the paper's numbers beside, resumable; and the same runs spread over two processes with torchrun (gloo, CPU) giving the same results."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

from sspvs.data import STANDARD
from sspvs.synthetic import make_benchmark
from sspvs.report import PUBLISHED

TINY = ['--preset', 'small', '--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64', '--no_progress', '--no_figures']
SHORT = ['--folds', '0', '--seeds', '1', '--epochs', '1']

@pytest.fixture(scope='module')
def four(tmp_path_factory):
    "Tiny stand-ins for the four eccv16 files (16-d features): every setting can run."
    d = tmp_path_factory.mktemp('four')
    for name, n in (('tvsum', 6), ('summe', 5), ('ovp', 3), ('youtube', 3)): make_benchmark(d/STANDARD[name], name, feat_dim=16, n_videos=n)
    return d

def run(*args, tmp):
    "A console script with no official split files in reach (SSPVS_DATA: an empty folder), so splits are generated from the files' keys."
    env = dict(os.environ, MPLBACKEND='Agg', OMP_NUM_THREADS='1', SSPVS_DATA=str(tmp/'no-research-data'))
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=900)

def results(out:Path)->dict: return json.loads((out/'results.json').read_text())

def test_grid_table_and_resume(four, tmp_path):
    out = tmp_path/'all'
    p = run('sspvs-benchmark', '--data', four, '--setting', 'all', *SHORT, *TINY, '--out', out, tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    res = results(out)
    assert res['setting'] == 'all' and res['knapsack'] == 'official' and res['precision'] == 'fp32'
    assert all(c['ran'] for c in res['cells']) and len(res['cells']) == 2 * 3 * 2
    rows = res['rows']
    for ds in ('summe', 'tvsum'):
        for st in ('canonical', 'augmented', 'transfer'):
            for v in ('plain', '+Text'):
                sel = {r['selection']: r for r in rows if (r['dataset'], r['setting'], r['variant']) == (ds, st, v)}
                assert set(sel) == {'validation', 'last', 'test-selected (optimistic)'}, (ds, st, v, sel)
                assert all(r['runs'] == 1 for r in sel.values())
                assert sel['validation']['paper'] == PUBLISHED.get((ds, st, v == '+Text'))   # the paper's number beside, None where it has none
            base = [r['variant'] for r in rows if (r['dataset'], r['setting']) == (ds, st) and r['paper'] is None and r['selection'] in ('-', 'validation (penalty)')]
            assert base == ['linear probe', 'random', 'human (leave-one-out)'], (ds, st, base)
    md = (out/'results.md').read_text()
    assert '| tvsum | canonical | plain | validation | 1 |' in md and '(60.3) | ' in md and '(0.177) |' in md   # the paper's TVSum canonical numbers (Li et al., WACV 2023)
    assert '| summe | canonical | +Text | test-selected (optimistic) | 1 |' in md and '(50.7) |' in md
    assert "Epoch selection:" in md and "- validation: the epoch with the best validation metric" in md
    assert (out/'tvsum-augmented-text'/'results.json').exists() and (out/'summe-transfer-plain'/'split0'/'seed0'/'result.json').exists()
    # the rerun resumes: nothing is trained again, the same table comes out
    done = sorted(out.glob('*/split*/seed*/result.json')); assert len(done) == 12
    stamps = [f.stat().st_mtime_ns for f in done]
    p2 = run('sspvs-benchmark', '--data', four, '--setting', 'all', *SHORT, *TINY, '--out', out, tmp=tmp_path)
    assert p2.returncode == 0, p2.stderr
    assert [f.stat().st_mtime_ns for f in done] == stamps
    assert not list(out.glob('*/split*/seed*/last.safetensors.tmp*'))
    assert results(out)['rows'] == rows and (out/'results.md').read_text() == md

def test_grid_without_other_datasets(four, tmp_path):
    "Only the TVSum file: the canonical cells run, the augmented and transfer cells say why they cannot."
    d = tmp_path/'one'; d.mkdir(); shutil.copy(four/STANDARD['tvsum'], d); shutil.copy((four/STANDARD['tvsum']).with_suffix('.text.json'), d)
    p = run('sspvs-benchmark', '--data', d, '--setting', 'all', *SHORT, *TINY, '--out', tmp_path/'o', tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    cells = {(c['setting'], c['variant']): c for c in results(tmp_path/'o')['cells']}
    assert [k for k, c in cells.items() if c['ran']] == [('canonical', 'plain'), ('canonical', '+Text')]
    assert 'trains on other datasets, but the data holds only' in cells[('augmented', 'plain')]['reason']
    md = (tmp_path/'o'/'results.md').read_text()
    assert '| tvsum | augmented | plain | not run: the augmented setting trains on other datasets' in md and '| tvsum | transfer | +Text | not run:' in md

def test_train_refuses_all(four, tmp_path):
    p = run('sspvs-train', '--data', four, '--setting', 'all', '--out', tmp_path/'o', tmp=tmp_path)
    assert p.returncode == 1 and "--setting all is sspvs-benchmark's" in p.stderr

def test_two_processes_equal_sequential(four, tmp_path):
    "torchrun with two CPU processes (gloo) shares the runs between both and writes the results a single process writes."
    args = ['--data', four, '--dataset', 'tvsum', '--setting', 'all', '--folds', '0,1', '--seeds', '1', '--epochs', '2', *TINY]
    seq = run('sspvs-benchmark', *args, '--workers', '1', '--out', tmp_path/'seq', tmp=tmp_path)
    assert seq.returncode == 0, seq.stderr
    par = run(sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--standalone', shutil.which('sspvs-benchmark'), *args,
              '--out', tmp_path/'par', tmp=tmp_path)
    assert par.returncode == 0, par.stderr[-3000:]
    assert '2 processes' in par.stdout and par.stdout.count('sspvs-benchmark: data:') == 1   # rank 0 alone prints
    a, b = results(tmp_path/'seq'), results(tmp_path/'par')
    assert a['rows'] == b['rows'] and a['probe'] == b['probe']
    assert [c['ran'] for c in a['cells']] == [True] * 6   # transfer: its one split (fold 0) of the folds asked for
    runs = sorted((tmp_path/'seq').glob('*/split*/seed*/result.json')); assert len(runs) == 4 * 2 + 2 * 1
    ranks = set()
    for f in runs:
        x, y = json.loads(f.read_text()), json.loads((tmp_path/'par'/f.relative_to(tmp_path/'seq')).read_text())
        assert x['selected'] == y['selected'] and x['probe'] == y['probe'], f
        assert [h['test'] for h in x['history']] == [h['test'] for h in y['history']], f
        assert x['process'] == {'rank': 0, 'world': 1}
        ranks.add(y['process']['rank']); assert y['process']['world'] == 2
    assert ranks == {0, 1}   # both processes trained
    for c in ('tvsum-canonical-plain', 'tvsum-transfer-text'):
        assert results(tmp_path/'seq'/c)['rows'] == results(tmp_path/'par'/c)['rows']

def test_workers_equal_sequential(four, tmp_path):
    "--workers 2 trains the runs in two spawned processes and writes exactly what one process writes; a bad --workers is one line."
    args = ['--data', four, '--dataset', 'tvsum', '--folds', '0,1', '--seeds', '2', '--epochs', '2', *TINY]
    seq = run('sspvs-benchmark', *args, '--workers', '1', '--out', tmp_path/'seq', tmp=tmp_path)
    assert seq.returncode == 0, seq.stderr
    par = run('sspvs-benchmark', *args, '--workers', '2', '--out', tmp_path/'par', tmp=tmp_path)
    assert par.returncode == 0, par.stderr[-3000:]
    assert 'up to 2 worker processes' in par.stdout and 'worker processes' not in seq.stdout
    runs = sorted((tmp_path/'seq').glob('split*/seed*/result.json')); assert len(runs) == 4
    for f in runs:
        x, y = json.loads(f.read_text()), json.loads((tmp_path/'par'/f.relative_to(tmp_path/'seq')).read_text())
        assert x['selected'] == y['selected'] and x['probe'] == y['probe'] and x['history'][-1]['loss'] == y['history'][-1]['loss'], f
    assert results(tmp_path/'seq')['rows'] == results(tmp_path/'par')['rows']
    bad = run('sspvs-benchmark', *args, '--workers', '0', '--out', tmp_path/'bad', tmp=tmp_path)
    assert bad.returncode == 1 and 'sspvs-benchmark: error: --workers must be at least 1, got 0' in bad.stderr and not (tmp_path/'bad').exists()

def test_two_processes_refuse_another_run(four, tmp_path):
    "Rank 0 finds that the folder holds another run: every process stops with the same one-line error, nothing hangs, nothing trains."
    args = ['--data', four, '--dataset', 'tvsum', '--folds', '0', '--seeds', '1', *TINY, '--out', tmp_path/'o']
    assert run('sspvs-benchmark', *args, '--epochs', '1', tmp=tmp_path).returncode == 0
    stamp = (tmp_path/'o'/'split0'/'seed0'/'result.json').stat().st_mtime_ns
    par = run(sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--standalone', shutil.which('sspvs-benchmark'), *args, '--epochs', '2',
              tmp=tmp_path)
    assert par.returncode != 0
    assert par.stderr.count('sspvs-benchmark: error:') == 2 and 'this folder holds another run (config.epochs=1, this one has 2)' in par.stderr, par.stderr[-2000:]
    assert (tmp_path/'o'/'split0'/'seed0'/'result.json').stat().st_mtime_ns == stamp

def test_grid_with_pretrained(four, tmp_path):
    "--pretrained adds the pretrained and pretrained +Text variants, beside the paper's plain and +Text numbers."
    from sspvs.pretrain import PretrainConfig, build_pretrain_model, save_pretrain
    cfg = PretrainConfig.quick(feat_dim=16, d_model=16, n_layers=1, n_heads=2, d_ff=32, hidden=(16, 8))
    ck = save_pretrain(tmp_path/'best.safetensors', build_pretrain_model(cfg), cfg)
    p = run('sspvs-benchmark', '--data', four, '--dataset', 'tvsum', '--setting', 'all', *SHORT, *TINY, '--pretrained', ck, '--out', tmp_path/'o', tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    res = results(tmp_path/'o')
    assert [c['variant'] for c in res['cells'] if c['setting'] == 'canonical'] == ['plain', '+Text', 'pretrained', 'pretrained +Text']
    v = {(r['setting'], r['variant']): r for r in res['rows'] if r['selection'] == 'validation'}
    assert v[('canonical', 'pretrained')]['paper'] == PUBLISHED[('tvsum', 'canonical', False)]
    assert v[('canonical', 'pretrained +Text')]['paper'] == PUBLISHED[('tvsum', 'canonical', True)]
    assert (tmp_path/'o'/'tvsum-transfer-pretrained-text'/'split0'/'seed0'/'result.json').exists()
