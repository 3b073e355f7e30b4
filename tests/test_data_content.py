"""Run folders know their data by content, not by path (issue 22, section 5): the same files copied elsewhere resume the same run;
one changed file is refused in one line that names it; a run folder from before (data recorded by path) resumes when the files are the same,
and says what to do when they are gone."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

from sspvs.core import SSPVSError, save_json, data_key
from sspvs.data import STANDARD
from sspvs.synthetic import make_benchmark
import sspvs.benchmark as B

EXE = Path(sys.executable).parent
TINY = ['--epochs', '1', '--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1', '--max_len', '64', '--no_progress', '--no_figures']

def make(d:Path, seed=0)->Path:
    d.mkdir(parents=True, exist_ok=True)
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10, seed=seed)
    keys = [f'video_{i}' for i in range(1, 11)]
    save_json([{'train_keys': [k for k in keys if k not in keys[2*i:2*i+2]], 'test_keys': keys[2*i:2*i+2]} for i in range(5)], d/'tvsum_splits.json')
    return d

def train(data, out):
    return subprocess.run([str(EXE/'sspvs-train'), '--data', str(data), '--splits', str(data), '--out', str(out), *TINY],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, MPLBACKEND='Agg'))

def prepare(data, out):
    inp = B.check_run_inputs(data, 'tvsum', 'canonical', B.small_config('tvsum', 'canonical'), (0,), [0], str(data), 'cpu', None)
    return B.prepare_run(out, inp, 'tvsum', 'canonical')

def test_copied_data_resumes_and_changed_data_is_named(tmp_path):
    a = make(tmp_path/'a'); out = tmp_path/'run'
    r = train(a, out); assert r.returncode == 0, r.stderr
    res = out/'split0'/'seed0'/'result.json'; before = res.read_bytes(), res.stat().st_mtime_ns
    b = tmp_path/'b'; shutil.copytree(a, b)   # the same files elsewhere
    r = train(b, out); assert r.returncode == 0, r.stderr
    assert (res.read_bytes(), res.stat().st_mtime_ns) == before   # resumed: the finished run is read back, not trained again
    make_benchmark(b/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10, seed=1)   # one file changed
    r = train(b, out)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    assert f"{STANDARD['tvsum']} has other content (sha256 " in lines[0] and 'give another --out' in lines[0], lines[0]
    assert data_key(a, 'tvsum') != data_key(b, 'tvsum') and data_key(a, 'tvsum') == data_key(make(tmp_path/'c'), 'tvsum')   # a cache entry per content

def old_format(out:Path):
    "Rewrite run.json as run folders wrote it before data were known by content."
    m = json.loads((out/'run.json').read_text()); m.pop('data_id'); m.pop('splits_id'); save_json(m, out/'run.json')
    return m

def test_path_recorded_run_folders(tmp_path):
    a = make(tmp_path/'a'); out = tmp_path/'run'
    prepare(a, out); (out/'split0'/'seed0').mkdir(parents=True); (out/'split0'/'seed0'/'last.safetensors').write_bytes(b'')   # it has trained
    old_format(out)
    b = tmp_path/'b'; shutil.copytree(a, b)
    _, meta = prepare(b, out)   # the recorded files are still there and are the same: it resumes, and now records them by content
    m = json.loads((out/'run.json').read_text())
    assert m['data_id'] == meta['data_id'] and m['data'] == [str(b/STANDARD['tvsum'])]
    old_format(out); m = json.loads((out/'run.json').read_text()); m['data'] = [str(tmp_path/'gone'/STANDARD['tvsum'])]; save_json(m, out/'run.json')
    with pytest.raises(SSPVSError) as e: prepare(b, out)
    assert 'recorded its data by path' in str(e.value) and 'is gone' in str(e.value) and 'put the files back' in str(e.value)
    (out/'run.json').write_text('{"dataset": "tv')   # half-written (by something else): one line, nothing overwritten
    with pytest.raises(SSPVSError, match='not valid JSON'): prepare(b, out)
