"""Every message in the tool's voice (issue 22, section 3): bad option values are one line naming the option and its valid choices
(`all` included for --setting), `sspvs-verify` given a folder checks the .h5 files in it, and a tolerated anomaly is one line per file and
video on stderr, with no Python warning around it."""
import os, subprocess, sys
from pathlib import Path
import numpy as np, h5py, pytest

from sspvs.data import toy_video, write_benchmark
from sspvs.metrics import write_predictions

EXE = Path(sys.executable).parent

def run(tool, *args):
    return subprocess.run([str(EXE/tool), *map(str, args)], capture_output=True, text=True, timeout=300, env=dict(os.environ, MPLBACKEND='Agg'))

def one_line(r, *parts):
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and len(lines) == 1 and 'Traceback' not in r.stderr and 'usage:' not in r.stderr, r.stderr
    for p in parts: assert p in lines[0], lines[0]

def test_bad_choices_are_one_line(tmp_path):
    one_line(run('sspvs-evaluate', tmp_path/'a.h5', tmp_path/'b.h5', '--knapsack', 'foo'), "sspvs-evaluate: error: argument --knapsack: invalid choice: 'foo'", "'official', 'exact'")
    one_line(run('sspvs-benchmark', '--setting', 'nonsense', '--out', tmp_path/'o'), "sspvs-benchmark: error: unknown setting 'nonsense': choose one of canonical, augmented, transfer, all")
    one_line(run('sspvs-train', '--epochs', 'many'), "sspvs-train: error: argument --epochs: invalid int value: 'many'")
    assert not (tmp_path/'o').exists()

def test_verify_a_folder(tmp_path):
    one_line(run('sspvs-verify', '--strict', tmp_path), f"sspvs-verify: error: {tmp_path}: the folder holds no .h5 files")
    one_line(run('sspvs-verify', tmp_path), f"sspvs-verify: error: {tmp_path}: the folder holds no .h5 files")
    write_benchmark(tmp_path/'a_tvsum.h5', {'video_1': toy_video(seed=1)})
    v = toy_video(seed=2); v['n_frame_per_seg'] = v['n_frame_per_seg'] - np.r_[0, 0, 0, 10]
    write_benchmark(tmp_path/'b_tvsum.h5', {'video_1': v}, strict=False)
    r = run('sspvs-verify', '--strict', tmp_path)
    assert r.returncode == 1 and 'Traceback' not in r.stderr and 'not an HDF5 file' not in r.stdout, (r.stdout, r.stderr)
    out = r.stdout.splitlines()
    assert out[0] == "a_tvsum.h5: 1 video; serves evaluate and train; 0 anomalies" and out[-1] == "b_tvsum.h5: 1 video; serves evaluate and train; 1 anomaly"
    assert "b_tvsum.h5: video_1: 'n_frame_per_seg' says shot 3 has" in out[1] and 'so the last 10 frames count as not selected' in out[1]
    r = run('sspvs-verify', tmp_path)   # checksums: the standard names are missing, the other files are listed as unknown
    assert r.returncode == 1 and 'unknown   ' + str(tmp_path/'a_tvsum.h5') in r.stdout and str(tmp_path/'b_tvsum.h5') in r.stdout, r.stdout

def test_anomaly_is_one_line_per_video(tmp_path):
    vids = {}
    for i in (1, 2, 3):
        v = toy_video(seed=i)
        if i != 2: v['n_frame_per_seg'] = v['n_frame_per_seg'] - np.r_[0, 0, 0, 3 * i]
        vids[f'video_{i}'] = v
    p = write_benchmark(tmp_path/'x_tvsum.h5', vids, strict=False)
    write_predictions(tmp_path/'p.h5', {k: np.random.default_rng(0).random(len(v['picks'])) for k, v in vids.items()})
    r = run('sspvs-evaluate', p, tmp_path/'p.h5')
    assert r.returncode == 0 and 'Warning' not in r.stderr and 'Traceback' not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert [l.split(': ')[2] for l in lines] == ['video_1', 'video_3'], lines
    assert all(l.startswith('sspvs-evaluate: x_tvsum.h5: video_') for l in lines)
    assert 'the last 3 frames count as not selected' in lines[0] and 'the last 9 frames count as not selected' in lines[1]
