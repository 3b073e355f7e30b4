"Property tests of the keyshot protocol: the knapsack against brute force, and the selection's invariants."
import itertools
import numpy as np, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from sspvs.core import SSPVSError
import itertools
from sspvs.keyshots import KNAPSACKS, official_values, exact_ints, optimal_subsets, knapsack_official, knapsack_exact as knapsack, upsample, shot_scores, select_shots, keyshot_summary, uniform_shots

def brute_force(v, w, c):
    "The optimal value over all 2^n subsets."
    best = 0.
    for mask in itertools.product([False, True], repeat=len(v)):
        m = np.array(mask, bool)
        if w[m].sum() <= c: best = max(best, v[m].sum())
    return best

problems = st.integers(0, 10).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-1, 10, allow_nan=False, width=32) | st.sampled_from([0., 1., 2.]), min_size=n, max_size=n),  # ties likely
    st.lists(st.integers(0, 15), min_size=n, max_size=n),
    st.integers(0, 40)))

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems)
def test_knapsack_matches_brute_force(p):
    v, w, c = np.array(p[0], float).reshape(-1), np.array(p[1], np.int64).reshape(-1), p[2]
    sel = knapsack(v, w, c)
    assert sel.dtype == bool and sel.shape == v.shape
    assert w[sel].sum() <= c                                    # feasible
    assert abs(v[sel].sum() - brute_force(v, w, c)) <= 1e-9 * max(1., np.abs(v).sum())  # optimal (ties may pick other sets)
    assert (v[sel] > 0).all()                                   # never takes a useless item

@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.integers(1, 40), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_select_shots_invariants(n_frames, seg, ratio, seed):
    rng = np.random.default_rng(seed)
    cp = uniform_shots(n_frames, seg)
    f = rng.random(n_frames)
    w, cap = cp[:, 1] - cp[:, 0] + 1, int(np.floor(ratio * n_frames))
    for kn in KNAPSACKS:
        s = select_shots(f, cp, ratio, kn)
        assert s.dtype == np.uint8 and s.shape == (n_frames,)
        assert s.sum() <= cap
        for a, b in cp: assert len(set(s[a:b + 1])) == 1              # whole shots only
        chosen = np.array([s[a] == 1 for a, _ in cp])
        vals = official_values(shot_scores(f, cp)) if kn == 'official' else exact_ints(shot_scores(f, cp))[0]
        assert vals[chosen].sum() == optimal_subsets(vals, w, cap)['value']   # optimal under its own convention's values

@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_upsample_intervals(n_frames, stride, seed):
    rng = np.random.default_rng(seed)
    picks = np.arange(0, n_frames, stride)
    steps = rng.random(len(picks))
    f = upsample(steps, picks, n_frames)
    assert f.shape == (n_frames,)
    for i, p in enumerate(picks):
        end = picks[i + 1] if i + 1 < len(picks) else n_frames
        assert (f[p:end] == steps[i]).all()

@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(0, 12), st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_batched_knapsack_and_selection_match_single(D, n, c, seed):
    rng = np.random.default_rng(seed)
    V, w = rng.normal(size=(D, n)).round(1), rng.integers(0, 10, n)    # rounding makes ties
    B = knapsack(V, w, c)
    assert B.shape == (D, n)
    for row, b in zip(V, B):
        assert (b == knapsack(row, w, c)).all()
    F, cp = rng.random((D, 50)), uniform_shots(50, int(rng.integers(1, 12)))
    for kn in KNAPSACKS: assert (select_shots(F, cp, .3, kn) == np.stack([select_shots(f, cp, .3, kn) for f in F])).all()

def test_keyshot_summary_single_shot():
    "One shot longer than the budget: nothing fits, the summary is empty."
    s = keyshot_summary([.5, .9], [0, 10], 20, [[0, 19]])
    assert s.sum() == 0

def test_all_zero_scores():
    "Nothing worth taking: exact keeps nothing, OR-Tools (official) still packs the first shot."
    assert select_shots(np.zeros(100), uniform_shots(100, 5), knapsack='exact').sum() == 0
    assert select_shots(np.zeros(100), uniform_shots(100, 5), knapsack='official').tolist() == [1] * 5 + [0] * 95

def brute_optimal(v, w, c):
    ok = [np.array(m, bool) for m in itertools.product([0, 1], repeat=len(v))]
    ok = [m for m in ok if w[m].sum() <= c]
    best = max(v[m].sum() for m in ok)
    return {tuple(m) for m in ok if v[m].sum() == best}, best

@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9), st.integers(0, 30), st.integers(0, 2**32 - 1))
def test_optimal_subsets_and_both_conventions_against_brute_force(n, c, seed):
    "Heavy ties (values 0..3): every optimal subset is found, and each convention's choice is one of them."
    rng = np.random.default_rng(seed)
    v, w = rng.integers(0, 4, n), rng.integers(1, 8, n)
    want, best = brute_optimal(v, w, c)
    r = optimal_subsets(v, w, c)
    assert r['exhaustive'] and r['value'] == best and r['n_optimal'] == len(want) and {tuple(x) for x in r['subsets']} == want
    assert tuple(knapsack(v.astype(float), w, c)) in want
    if w.sum() > c: assert tuple(knapsack_official(v, w, c)) in want     # (when everything fits OR-Tools takes everything, zeros too)
    r = optimal_subsets(v, w, c, limit=1, n_samples=20, seed=seed)        # too many to list: a sample, still all optimal
    assert {tuple(x) for x in r['subsets']} <= want and r['exhaustive'] == (len(want) <= 1)

def test_official_values_truncate_like_the_official_code():
    m = np.array([0.9999999, 0.0015, 0.0009, 0.5, 1.0])
    assert official_values(m).tolist() == (m * 1000).astype(int).tolist() == [999, 1, 0, 500, 1000]

def test_zero_weight_items_are_taken_when_positive():
    assert knapsack([1., 2.], [0, 5], 0).tolist() == [True, False]

@pytest.mark.parametrize('call, msg', [
    (lambda: upsample([1., 2.], [0], 5), "'step_scores' has 2 steps but 'picks' has 1"),
    (lambda: upsample([1.], [0], 0), "'n_frames' must be positive"),
    (lambda: upsample([], [], 5), "'picks' is empty"),
    (lambda: upsample([np.inf], [0], 5), "non-finite"),
    (lambda: shot_scores(np.ones(5), [[0, 5]]), "'change_points' must lie in [0, 5)"),
    (lambda: knapsack([1., np.nan], [1, 1], 2), "'values' has 1 non-finite"),
    (lambda: knapsack(np.zeros((2, 2, 2)), [1, 1], 2), "'values' must be 1-D (or 2-D for a batch)"),
    (lambda: knapsack(np.zeros((2, 3)), [1, 1], 2), "'values' has 3 items but 'weights' has 2"),
    (lambda: knapsack([1.], [1], -1), "'capacity' must be a non-negative integer"),
    (lambda: uniform_shots(0, 5), "must be positive"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(SSPVSError, match=None) as e: call()
    assert msg in str(e.value) and '\n' not in str(e.value)
