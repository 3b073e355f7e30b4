"""The rank-correlation conventions (sspvs.metrics.RANKS) on a published model's real outputs: MCSF's per-step scores
(crosscheck/mcsf: SumMe 3 variants x 5 splits x 20 epochs = 1,500 video evaluations; TVSum 292 epochs = 2,920) against the real
annotations, each convention checked against a literal computation written out here with scipy.stats.kendalltau / spearmanr
and OR-Tools (nothing from sspvs but the inputs: the TVSum user summaries and the 2-second shots that `summary` needs on TVSum).

Cost: scipy's kendalltau on a TVSum video (about 4,000-20,000 frames) x 20 annotators takes about 50 ms, so comparing every one of
the 4,420 evaluations under every convention would take minutes. Two layers, then:
- every evaluation (all 4,420): the predictions line up with the annotations (keys, one score per 15 frames, covering the video);
- the literal scipy comparison, per convention, on a deterministic sample of epochs: the last epoch of every variant and split
  (SumMe 75 evaluations, TVSum 150). The whole module takes about 70 s on a 2-core AMD EPYC VM."""
import csv, dataclasses, json, math
import numpy as np, pytest, scipy.io, scipy.stats
from sspvs.core import data_path, NO_DATA
from sspvs.data import BenchmarkFile, write_benchmark
from sspvs.annotations import read_tvsum, read_summe, read_summe_shots
from sspvs.metrics import annotation_record, read_crosscheck, evaluate, RANKS, write_predictions, evaluate_files

pytestmark = pytest.mark.skipif(any(data_path(*p) is None for p in [('crosscheck', 'mcsf'), ('summe', 'eccv16_shots.json'), ('tvsum', 'ydata-anno.tsv'),
                                                                       ('tvsum', 'mapped_video_names.json')]),
                                reason=NO_DATA + ' (needs crosscheck/mcsf, summe/GT and eccv16_shots.json, tvsum/ydata-anno.tsv and mapped_video_names.json)')

# ---- the literal side: annotations read here, frame scores, scipy, OR-Tools ----
def raw_tvsum():
    "video_i -> (20, n_frames) ratings, straight from ydata-anno.tsv and mapped_video_names.json."
    names = json.loads(data_path('tvsum', 'mapped_video_names.json').read_text())
    out = {}
    with open(data_path('tvsum', 'ydata-anno.tsv')) as f:
        for name, _, scores in csv.reader(f, delimiter='\t'): out.setdefault(names[name], []).append([float(x) for x in scores.split(',')])
    return {k: np.array(v) for k, v in out.items()}

def raw_summe():
    "video_i -> (n_users, n_frames) 0/1 selections, straight from GT/*.mat (keys: the case-sensitive ASCII order of the names)."
    paths = sorted(data_path('summe', 'GT').glob('*.mat'), key=lambda p: p.stem)
    return {f'video_{i + 1}': (scipy.io.loadmat(p)['user_score'].T > 0).astype(float) for i, p in enumerate(paths)}

def frames(step_scores, n):
    "Each step's score on its 15 frames (a step every 15 frames from frame 0), as the official code upsamples."
    f = np.zeros(n)
    pos = list(range(0, n, 15)) + [n]
    for i in range(len(pos) - 1): f[pos[i]:pos[i + 1]] = step_scores[i]
    return f

def tau_rho(x, y):
    "scipy's tau-b and rho, 0 where undefined (a constant side), as sspvs does."
    t, r = scipy.stats.kendalltau(x, y).statistic, scipy.stats.spearmanr(x, y).statistic
    return (0. if np.isnan(t) else t), (0. if np.isnan(r) else r)

def official_summary(step_scores, n, shots):
    "The official SSPVS keyshot summary: float32 frame scores, shot means, int(1000 x mean), OR-Tools' dynamic programme, 15% of the frames."
    from ortools.algorithms.python import knapsack_solver as ks
    f = frames(step_scores, n).astype(np.float32)
    values = (np.array([float(f[a:b + 1].mean()) for a, b in shots]) * 1000).astype(int)
    lengths = [int(b - a + 1) for a, b in shots]
    solver = ks.KnapsackSolver(ks.SolverType.KNAPSACK_DYNAMIC_PROGRAMMING_SOLVER, 'test')
    solver.init(values.tolist(), [lengths], [int(math.floor(n * 0.15))]); solver.solve()
    s = np.zeros(n)
    for j, (a, b) in enumerate(shots):
        if solver.best_solution_contains(j): s[a:b + 1] = 1
    return s

def literal(rank, step_scores, Y, n, summaries=None, shots=None):
    "One video under one convention, written out: (tau, rho)."
    if rank == 'otani': f = frames(step_scores, n); pairs = [tau_rho(f, y) for y in Y]
    elif rank == 'mean': pairs = [tau_rho(frames(step_scores, n), Y.mean(0))]
    elif rank == 'steps': pairs = [tau_rho(step_scores, y[::15]) for y in Y]
    else: pairs = [tau_rho(official_summary(step_scores, n, shots), summaries.mean(0))]
    return np.mean([p[0] for p in pairs]), np.mean([p[1] for p in pairs])

# ---- fixtures ----
@pytest.fixture(scope='module')
def summe():
    folder = data_path('summe')
    ann = read_summe(folder); shots = read_summe_shots(folder, ann)
    return {k: annotation_record(a, shots=shots[k]) for k, a in ann.items()}, raw_summe(), read_crosscheck(data_path('crosscheck', 'mcsf'), 'summe')

@pytest.fixture(scope='module')
def tvsum():
    ann = read_tvsum(data_path('tvsum'))
    recs = {k: annotation_record(a) for k, a in ann.items()}    # uniform 2-second shots: TVSum's KTS shots are not available
    return recs, raw_tvsum(), read_crosscheck(data_path('crosscheck', 'mcsf'), 'tvsum')

def sample(runs, which):
    "A deterministic sample of epochs: the first and/or last epoch of every variant and split."
    last = {}
    for r in runs: last[(r['variant'], r['split'])] = max(last.get((r['variant'], r['split']), 0), r['epoch'])
    return [r for r in runs if ('first' in which and r['epoch'] == 0) or ('last' in which and r['epoch'] == last[(r['variant'], r['split'])])]

# ---- layer 1: every evaluation lines up with the annotations ----
@pytest.mark.parametrize('dataset, n_runs, n_evals', [('summe', 300, 1500), ('tvsum', 292, 2920)])
def test_every_prediction_lines_up_with_the_annotations(dataset, n_runs, n_evals, request):
    recs, raw, runs = request.getfixturevalue(dataset)
    assert len(runs) == n_runs and sum(len(r['predictions']) for r in runs) == n_evals
    for k in {k for r in runs for k in r['predictions']}:   # sspvs's annotations are the raw ones
        np.testing.assert_array_equal(recs[k].user_scores, raw[k])
    for r in runs:
        for k, s in r['predictions'].items():
            n = raw[k].shape[1]
            assert recs[k].n_frames == n and len(s) == math.ceil(n / 15) == recs[k].n_steps and (recs[k].picks == np.arange(0, n, 15)).all(), (r['variant'], r['split'], r['epoch'], k)
            assert np.isfinite(s).all()

# ---- layer 2: each convention equals the literal computation, video by video ----
@pytest.mark.parametrize('dataset', ['summe', 'tvsum'])
@pytest.mark.parametrize('rank', RANKS)
def test_each_convention_equals_the_literal_computation(dataset, rank, request):
    recs, raw, runs = request.getfixturevalue(dataset)
    chosen = sample(runs, ('last',))
    assert sum(len(r['predictions']) for r in chosen) == (75 if dataset == 'summe' else 150)
    metric = 'max' if dataset == 'summe' else 'avg'
    worst = 0.
    for r in chosen:
        got = evaluate([recs[k] for k in r['predictions']], r['predictions'], metric, ties=False, rank=rank)
        assert got['rank'] == rank
        for k, s in r['predictions'].items():
            rec = recs[k]
            want = literal(rank, s, raw[k], rec.n_frames, rec.user_summary, rec.change_points)
            worst = max(worst, abs(got['videos'][k]['kendall'] - want[0]), abs(got['videos'][k]['spearman'] - want[1]))
    assert worst < 1e-9, worst

def test_tvsum_rank_evaluation_needs_no_shots(tvsum, tmp_path):
    "An annotation-only TVSum file without change_points: sspvs-evaluate's path gives tau and rho (the literal values) and F1 'n/a: no shots'."
    recs, raw, runs = tvsum
    r = sample(runs, ('last',))[0]
    videos = {k: dict(picks=recs[k].picks, n_frames=recs[k].n_frames, user_scores=recs[k].user_scores, gtscore=recs[k].gtscore) for k in r['predictions']}
    h5 = write_benchmark(tmp_path/'tvsum_annotations.h5', videos, strict=False)   # no change_points, no user_summary: anomalies the standard code tolerates
    preds = write_predictions(tmp_path/'mcsf.h5', r['predictions'])
    res, _, _ = evaluate_files(h5, preds)
    assert res['f1_na'] == 'n/a: no shots' and res['mean']['f1'] is None and res['rank'] == 'otani'
    for k, s in r['predictions'].items():
        assert res['videos'][k]['f1'] is None
        want = literal('otani', s.astype(np.float32), raw[k], recs[k].n_frames)
        assert abs(res['videos'][k]['kendall'] - want[0]) < 1e-9 and abs(res['videos'][k]['spearman'] - want[1]) < 1e-9
    no_shots = [dataclasses.replace(recs[k], change_points=None, n_frame_per_seg=None) for k in r['predictions']]
    m = evaluate(no_shots, r['predictions'], 'avg', rank='steps')
    assert m['f1_na'] == 'n/a: no shots' and 'ties' not in m
    assert abs(m['mean']['kendall'] - evaluate([recs[k] for k in r['predictions']], r['predictions'], 'avg', rank='steps', ties=False)['mean']['kendall']) < 1e-12
    from sspvs.core import SSPVSError
    with pytest.raises(SSPVSError, match="'change_points', 'n_frame_per_seg' are missing; evaluation needs"): evaluate(no_shots, r['predictions'], 'avg', rank='summary')
