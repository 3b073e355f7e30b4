"""A published model's real outputs on SumMe (crosscheck/mcsf: MCSF, 3 variants x 5 splits x 20 epochs = 1,500 video evaluations):
`--knapsack exact` reproduces the F1 its own evaluator reported, and `--knapsack official` agrees, video by video, with the official
SSPVS evaluation written out literally here (float32 frame scores, int(1000 x mean), OR-Tools' dynamic-programming solver)."""
import json, math
import numpy as np, pytest
from sspvs.core import data_path, NO_DATA
from sspvs.annotations import read_summe, read_summe_shots
from sspvs.metrics import annotation_record, read_crosscheck, evaluate

pytestmark = pytest.mark.skipif(data_path('crosscheck', 'mcsf') is None or data_path('summe', 'eccv16_shots.json') is None,
                                reason=NO_DATA + ' (needs crosscheck/mcsf and summe/eccv16_shots.json)')

def official_f1(step_scores, r):
    "The official code's path, step by step, with nothing from sspvs.keyshots."
    from ortools.algorithms.python import knapsack_solver as ks
    frame_scores = np.zeros(r.n_frames, dtype=np.float32)
    positions = np.concatenate([r.picks, [r.n_frames]])
    for i in range(len(positions) - 1): frame_scores[positions[i]:positions[i + 1]] = step_scores[i]
    seg_score = [float(frame_scores[int(a):int(b) + 1].mean()) for a, b in r.change_points]
    values = (np.array(seg_score) * 1000).astype(int)
    solver = ks.KnapsackSolver(ks.SolverType.KNAPSACK_DYNAMIC_PROGRAMMING_SOLVER, 'test')
    solver.init(values.tolist(), [r.n_frame_per_seg.astype(int).tolist()], [int(math.floor(r.n_frames * 0.15))])
    solver.solve()
    picks = [x for x in range(len(values)) if solver.best_solution_contains(x)]
    summary = np.concatenate([np.full(n, 1. if j in picks else 0.) for j, n in enumerate(r.n_frame_per_seg)])[:r.n_frames]
    f = []
    for u in (r.user_summary > 0).astype(float):
        ov = (summary * u).sum(); p, rc = ov / (summary.sum() + 1e-8), ov / (u.sum() + 1e-8)
        f.append(0. if p == 0 and rc == 0 else 2 * p * rc / (p + rc))
    return max(f)

@pytest.fixture(scope='module')
def cc():
    folder = data_path('summe')
    summe = read_summe(folder); shots = read_summe_shots(folder, summe)
    recs = {k: annotation_record(a, shots=shots[k]) for k, a in summe.items()}
    return recs, read_crosscheck(data_path('crosscheck', 'mcsf'))

def test_exact_reproduces_the_reported_f1(cc):
    recs, runs = cc
    assert len(runs) == 300 and sum(len(r['predictions']) for r in runs) == 1500
    gap = [abs(100 * evaluate([recs[k] for k in r['predictions']], r['predictions'], 'max', knapsack='exact', ties=False)['mean']['f1'] - r['reported'])
           for r in runs]
    assert max(gap) < 1e-4, max(gap)

def test_official_agrees_with_the_official_code_on_every_video(cc):
    recs, runs = cc
    worst, differ = 0., 0
    for r in runs:
        off = evaluate([recs[k] for k in r['predictions']], r['predictions'], 'max', knapsack='official', ties=False)['videos']
        ex = evaluate([recs[k] for k in r['predictions']], r['predictions'], 'max', knapsack='exact', ties=False)['videos']
        for k, s in r['predictions'].items():
            worst = max(worst, abs(off[k]['f1'] - official_f1(s, recs[k])))
            differ += off[k]['f1'] != ex[k]['f1']
    assert worst < 1e-6, worst
    assert differ == 415          # the two conventions give another F1 in 415 of the 1,500 evaluations

def test_ties_are_reported_on_real_outputs(cc):
    recs, runs = cc
    r = runs[0]
    res = evaluate([recs[k] for k in r['predictions']], r['predictions'], 'max')
    assert res['knapsack'] == 'official' and res['ties']['videos'] == 5
    for v in res['videos'].values():
        t = v['ties']
        assert t['f1_min'] <= v['f1'] <= t['f1_max'] or not t['chosen_optimal']
        assert t['tied'] == (t['n_optimal'] > 1)
