"""The knapsack weights and the summary layout come from the file's `n_frame_per_seg`, as the official code has it, even where `change_points` disagree (issue 22, section 1).

A hand-made video whose `n_frame_per_seg` says the last shot has 20 frames where `change_points` give it 60: the budget (60 frames) then holds
shots 0 and 3 by the file's lengths, but only one of them by the change points. The expected summary and F1 are computed here from first
principles (every subset of the 4 shots tried), not with the library."""
import itertools, json, os, subprocess, sys, warnings
from pathlib import Path
import numpy as np, h5py, pytest

from sspvs.keyshots import select_shots, upsample
from sspvs.data import BenchmarkFile, AnomalyWarning
from sspvs.metrics import evaluate_video, write_predictions

EXE = Path(sys.executable).parent
N = 400
CP = np.array([[0, 39], [40, 139], [140, 339], [340, 399]])   # lengths 40, 100, 200, 60
NF = np.array([40, 100, 200, 20])                               # the file's: the last shot is 20 frames; they sum to 360 of 400
PICKS = np.arange(0, N, 10)
SHOT_SCORE = np.array([0.8, 0.1, 0.1, 0.5])

def step_scores():
    shot_of_step = np.searchsorted(CP[:, 0], PICKS, side='right') - 1
    return SHOT_SCORE[shot_of_step].astype(np.float32)

def users():
    us = np.zeros((2, N), np.float32)
    us[0, 0:40] = 1; us[0, 340:360] = 1     # agrees with the summary laid out by the file's lengths
    us[1, 340:400] = 1                      # the last shot by its change points
    return us

def expected(ratio=0.15, official=True):
    "The summary and mean F1 by the official convention, computed by brute force: weights and layout from n_frame_per_seg."
    frames = np.repeat(step_scores(), np.diff(np.r_[PICKS, N]))
    means = np.array([frames[a:b + 1].mean() for a, b in CP])
    vals = (means * 1000).astype(int) if official else means
    cap = int(np.floor(ratio * N))
    best = max((s for r in range(5) for s in itertools.combinations(range(4), r) if NF[list(s)].sum() <= cap), key=lambda s: vals[list(s)].sum())
    summary = np.zeros(N, np.uint8); start = np.r_[0, np.cumsum(NF)[:-1]]
    for i in best: summary[start[i]:start[i] + NF[i]] = 1
    f1 = []
    for u in users().astype(np.float64):
        ov = (summary * u).sum()
        p, r = ov / summary.sum(), ov / u.sum()
        f1.append(0 if ov == 0 else 2 * p * r / (p + r))
    return set(best), summary, float(np.mean(f1))

def bench(tmp_path):
    v = dict(features=np.random.default_rng(0).normal(size=(len(PICKS), 8)).astype(np.float32), picks=PICKS, n_frames=N,
             change_points=CP, n_frame_per_seg=NF, gtscore=np.full(len(PICKS), .5, np.float32), user_summary=users())
    p = tmp_path/'w_tvsum.h5'
    with h5py.File(p, 'w') as f:
        g = f.create_group('video_1')
        for k, x in v.items(): g.create_dataset(k, data=x)
    return p

def test_expected_is_the_file_lengths_choice():
    chosen, summary, f1 = expected()
    assert chosen == {0, 3} and summary.sum() == 60 and summary[340:360].all() and not summary[360:].any()
    # by the change points' lengths only one of shots 0 and 3 would fit: the test tells the two apart
    assert (CP[:, 1] - CP[:, 0] + 1)[[0, 3]].sum() > 60
    assert 0 < f1 < 1

@pytest.mark.parametrize('knapsack', ['official', 'exact'])
def test_select_and_evaluate_follow_n_frame_per_seg(tmp_path, knapsack):
    _, summary, f1 = expected(official=knapsack == 'official')
    frames = upsample(step_scores(), PICKS, N)
    np.testing.assert_array_equal(select_shots(frames, CP, 0.15, knapsack, NF), summary)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AnomalyWarning); bf = BenchmarkFile(bench(tmp_path))
    assert any(a.key == 'n_frame_per_seg' for a in bf.anomalies)
    res = evaluate_video(step_scores(), bf['video_1'], 'avg', knapsack=knapsack)
    assert res['f1'] == pytest.approx(f1, abs=1e-12)

def test_sspvs_evaluate_matches_an_independent_computation(tmp_path):
    _, _, f1 = expected()
    p = bench(tmp_path)
    write_predictions(tmp_path/'pred.h5', {'video_1': step_scores()})
    r = subprocess.run([str(EXE/'sspvs-evaluate'), str(p), str(tmp_path/'pred.h5'), '--json', str(tmp_path/'r.json')],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    res = json.loads((tmp_path/'r.json').read_text())
    assert res['videos']['video_1']['f1'] == pytest.approx(f1, abs=1e-12) and res['mean']['f1'] == pytest.approx(f1, abs=1e-12)
    # the anomaly is one line on stderr saying what the convention does with it
    lines = [l for l in r.stderr.splitlines() if 'video_1' in l]
    assert len(lines) == 1 and 'sum to 360 of 400 frames' in lines[0] and 'Warning' not in r.stderr and 'the last 40 frames count as not selected' in lines[0], r.stderr
