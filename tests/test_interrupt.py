"""Ctrl-C and SIGTERM stop a multi-process `sspvs-benchmark` run at once, leave no process and no half-written file, and the same command then
resumes to the results of an uninterrupted run (issue 22, section 2). No wall-clock assertion: "at once" is checked as "no run finishes after
the signal" (the result files' times against the moment it was sent) and "no queued run starts"."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

from sspvs.core import save_json
from sspvs.data import STANDARD
from sspvs.synthetic import make_benchmark

EXE = Path(sys.executable).parent
TINY = ['--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64', '--no_progress', '--no_figures']

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp('bench')
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10)
    keys = [f'video_{i}' for i in range(1, 11)]
    save_json([{'train_keys': [k for k in keys if k not in keys[2*i:2*i+2]], 'test_keys': keys[2*i:2*i+2]} for i in range(5)], d/'tvsum_splits.json')
    return d

def cmd(data, out, torchrun=False):
    "Three runs (splits 0-2, one seed) shared by two worker processes (or two torchrun ranks): the third waits its turn."
    args = ['--data', str(data), '--dataset', 'tvsum', '--splits', str(data), '--folds', '0,1,2', '--seeds', '1', '--epochs', '4', '--out', str(out), *TINY]
    if torchrun: return [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--standalone', str(EXE/'sspvs-benchmark'), *args]
    return [str(EXE/'sspvs-benchmark'), *args, '--workers', '2']

def group(pgid:int)->list[int]:
    "The live processes of a process group (a /proc scan)."
    pids = []
    for d in Path('/proc').iterdir():
        if not d.name.isdigit(): continue
        try: st = (d/'stat').read_text()
        except OSError: continue
        f = st[st.rindex(')') + 2:].split()
        if int(f[2]) == pgid and f[0] != 'Z': pids.append(int(d.name))
    return pids

def results(out:Path)->dict:
    "Each run's result without its timings and the process that ran it."
    res = {}
    for p in sorted(out.glob('split*/seed*/result.json')):
        r = json.loads(p.read_text())
        for k in ("seconds", "train_seconds", "process", "device"): r.pop(k, None)
        r['history'] = [{k: v for k, v in h.items() if k != 'seconds'} for h in r['history']]
        res[str(p.relative_to(out))] = r
    return res

def interrupt(data, out, sig, whole_group, torchrun=False):
    "Start the run, send `sig` once a run has trained an epoch, and check what the signal left."
    p = subprocess.Popen(cmd(data, out, torchrun), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, MPLBACKEND='Agg'))
    try:
        while p.poll() is None and not any(out.glob('split*/seed*/last.safetensors')): time.sleep(0.05)
        assert p.poll() is None, p.communicate()
        sent = time.time()
        (os.killpg if whole_group else os.kill)(p.pid, sig)
        _, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    if torchrun: assert p.returncode != 0 and err.count('sspvs-benchmark: interrupted') == 2, err[-3000:]   # each rank says so (torchrun adds its own report)
    else:   # the tool's last word; multiprocessing's resource tracker, in the same process group, may warn after it (about the pool's semaphore)
        own = [l for l in err.strip().splitlines() if l.startswith('sspvs-benchmark:')]
        assert p.returncode == 1 and own[-1] == 'sspvs-benchmark: interrupted' and 'Traceback' not in err, err
    done = list(out.glob('split*/seed*/result.json'))
    assert len(done) < 3 and all(r.stat().st_mtime <= sent for r in done), [(r, r.stat().st_mtime - sent) for r in done]   # no run finished after the signal
    assert not any(out.glob('split2/seed0/*')), "the queued run started after the signal"
    assert not [f for f in out.rglob('*') if f.name.startswith('.') and f.name.endswith('.tmp')], "a temporary file was left"
    for _ in range(600):   # the pool's workers (and multiprocessing's resource tracker) are gone with the tool
        if not group(p.pid): break
        time.sleep(0.1)
    assert not group(p.pid), f"processes of the run left: {group(p.pid)}"

@pytest.fixture(scope='module')
def reference(data, tmp_path_factory):
    out = tmp_path_factory.mktemp('ref')/'run'
    r = subprocess.run(cmd(data, out), capture_output=True, text=True, timeout=900, env=dict(os.environ, MPLBACKEND='Agg'))
    assert r.returncode == 0, r.stderr
    return results(out)

@pytest.mark.parametrize('sig,whole_group', [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=['ctrl-c-to-the-group', 'sigterm-to-the-tool'])
def test_interrupt_stops_everything_and_resumes_equal(data, reference, tmp_path, sig, whole_group):
    out = tmp_path/'run'
    interrupt(data, out, sig, whole_group)
    r = subprocess.run(cmd(data, out), capture_output=True, text=True, timeout=900, env=dict(os.environ, MPLBACKEND='Agg'))
    assert r.returncode == 0, r.stderr
    assert results(out) == reference

def test_ctrl_c_stops_torchrun_ranks(data, reference, tmp_path):
    "The same under torchrun (two CPU ranks, gloo): Ctrl-C to the group stops both ranks, no run finishes after it, nothing is left, the rerun (torchrun again) equals the reference."
    out = tmp_path/'run'
    interrupt(data, out, signal.SIGINT, True, torchrun=True)
    r = subprocess.run(cmd(data, out, torchrun=True), capture_output=True, text=True, timeout=900, env=dict(os.environ, MPLBACKEND='Agg'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert results(out) == reference

# ------------------------------------------------------------------------------------------------ sspvs-pretrain
PRE = ['--preset', 'quick', '--d_model', '32', '--n_layers', '1', '--n_heads', '2', '--d_ff', '64', '--max_len', '48', '--batch_size', '4',
       '--lr', '1e-3', '--no_progress', '--epochs', '4']

@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    from sspvs.synthetic import make_corpus
    return make_corpus(tmp_path_factory.mktemp('corpus')/'corpus.h5', n_videos=20, seed=1, feat_dim=32)

@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['ctrl-c', 'sigterm'])
def test_pretrain_interrupt_stops_and_resumes_exactly(corpus, tmp_path, sig):
    "`sspvs-pretrain` stopped by Ctrl-C or SIGTERM after its first epoch: one line, no epoch finishes after the signal, no temporary file and no process left, intact checkpoints; the same command then resumes to the weights of an uninterrupted run."
    from sspvs.learner import read_checkpoint
    import torch
    env = dict(os.environ, OMP_NUM_THREADS='1', TOKENIZERS_PARALLELISM='false')
    run = lambda out: [sys.executable, '-m', 'sspvs.pretrain', str(corpus), '--out', str(out), *PRE]
    part, full = tmp_path/'part', tmp_path/'full'
    p = subprocess.Popen(run(part), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while p.poll() is None and not (part/'last.json').exists(): time.sleep(0.02)
        assert p.poll() is None, p.communicate()
        sent = time.time()
        os.killpg(p.pid, sig)
        _, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 1 and err.strip().splitlines()[-1] == 'sspvs-pretrain: interrupted' and 'Traceback' not in err, err[-3000:]
    h = json.loads((part/'history.json').read_text())
    assert 1 <= len(h) < 4 and all(f.stat().st_mtime <= sent for f in part.iterdir()), [(f.name, f.stat().st_mtime - sent) for f in part.iterdir()]
    assert not [f for f in part.rglob('*') if f.name.endswith('.tmp')], "a temporary file was left"
    assert read_checkpoint(part/'last.safetensors').extra['epoch'] == len(h)   # the checkpoint matches the history: nothing half-written
    for _ in range(600):
        if not group(p.pid): break
        time.sleep(0.1)
    assert not group(p.pid), f"processes of the run left: {group(p.pid)}"
    for out in (part, full):
        r = subprocess.run(run(out), capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = read_checkpoint(full/'last.safetensors'), read_checkpoint(part/'last.safetensors')
    assert a.extra['epoch'] == b.extra['epoch'] == 4
    for k in a.model: assert torch.allclose(a.model[k], b.model[k], atol=1e-6), k
