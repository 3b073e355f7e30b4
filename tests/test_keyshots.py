"Property tests of the keyshot protocol: the knapsack against brute force, and the selection's invariants."
import itertools
import numpy as np, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from sspvs.core import SSPVSError
from sspvs.keyshots import knapsack, upsample, shot_scores, select_shots, keyshot_summary, uniform_shots

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
    s = select_shots(f, cp, ratio)
    assert s.dtype == np.uint8 and s.shape == (n_frames,)
    assert s.sum() <= int(np.floor(ratio * n_frames))
    for a, b in cp: assert len(set(s[a:b + 1])) == 1              # whole shots only
    # the chosen shots have the optimal total shot score
    w = cp[:, 1] - cp[:, 0] + 1
    chosen = np.array([s[a] == 1 for a, _ in cp])
    ref = knapsack(shot_scores(f, cp), w, int(np.floor(ratio * n_frames)))
    assert np.isclose(shot_scores(f, cp)[chosen].sum(), shot_scores(f, cp)[ref].sum())

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
    assert (select_shots(F, cp, .3) == np.stack([select_shots(f, cp, .3) for f in F])).all()

def test_keyshot_summary_single_shot():
    "One shot longer than the budget: nothing fits, the summary is empty."
    s = keyshot_summary([.5, .9], [0, 10], 20, [[0, 19]])
    assert s.sum() == 0

def test_all_zero_scores_give_empty_summary():
    assert select_shots(np.zeros(100), uniform_shots(100, 5)).sum() == 0

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
