"Property tests of the self-supervised objectives: the masked Hausdorff distance against SciPy, pairs, masked steps, and batch invariance of the pretraining model for random lengths."
import math
import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st, HealthCheck
from scipy.spatial.distance import directed_hausdorff
from sspvs.encoders import VideoEncoder, length_mask
from sspvs.ssl import (hausdorff_distance, contrastive_loss, make_pairs, pick_masked_steps, local_windows, PretrainModel)
from sspvs.text import TextEncoder

@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(0, 2**31 - 1), st.booleans())
def test_hausdorff_matches_scipy(B, N, M, D, seed, normalize):
    "Batched, masked distance == SciPy's symmetric Hausdorff distance on each set's real points."
    g = np.random.default_rng(seed)
    X, Y = g.normal(size=(B, N, D)), g.normal(size=(B, M, D))
    nx, ny = g.integers(1, N + 1, B), g.integers(1, M + 1, B)
    X[np.arange(N)[None] >= nx[:, None]] = 1e6      # padding far away: it would dominate if it were counted
    d = hausdorff_distance(torch.tensor(X), torch.tensor(Y), length_mask(torch.tensor(nx), N), length_mask(torch.tensor(ny), M), normalize=normalize)
    for b in range(B):
        x, y = X[b, :nx[b]], Y[b, :ny[b]]
        if normalize: x, y = x / np.linalg.norm(x, axis=1, keepdims=True), y / np.linalg.norm(y, axis=1, keepdims=True)
        ref = max(directed_hausdorff(x, y)[0], directed_hausdorff(y, x)[0])
        assert abs(d[b].item() - ref) < 1e-4 * max(1, ref)

@given(st.floats(0, 3), st.booleans())
def test_contrastive_loss_by_hand(d, y):
    m = math.sqrt(2)
    want = d ** 2 if y else max(0., m - d) ** 2
    assert abs(contrastive_loss(torch.tensor([d]), torch.tensor([float(y)])).item() - want) < 1e-5

@given(st.integers(1, 40), st.integers(0, 10**6))
def test_pairs(n, seed):
    idx, lab = make_pairs(n, torch.Generator().manual_seed(seed))
    assert torch.equal(idx == torch.arange(n), lab.bool())      # negatives never get their own text
    assert sorted(idx[lab == 1].tolist()) == torch.arange(n)[lab == 1].tolist()
    n_neg = int((lab == 0).sum())
    assert n_neg in ({n // 2, (n + 1) // 2} if n > 1 else {0})

@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.integers(0, 10**6), st.integers(0, 6))
def test_masked_steps_and_windows_stay_on_real_steps(lengths, seed, radius):
    T = max(lengths) + 3
    mask = length_mask(torch.tensor(lengths), T)
    pos = pick_masked_steps(mask, torch.Generator().manual_seed(seed))
    assert (pos < torch.tensor(lengths)).all() and (pos >= 0).all()
    x = torch.arange(T, dtype=torch.float32)[None, :, None].expand(len(lengths), T, 1) + 1
    w, v = local_windows(x, mask, pos, radius)
    assert v[:, radius].all()                                          # the centre is the masked step
    for b, l in enumerate(lengths):
        for j in range(2 * radius + 1):
            t = pos[b].item() - radius + j
            assert v[b, j].item() == (0 <= t < l)
            assert w[b, j, 0].item() == (t + 1 if 0 <= t < l else 0)

def test_bad_masks_are_refused():
    with pytest.raises(ValueError, match='at least one real step'): pick_masked_steps(torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match='prefix'): pick_masked_steps(torch.tensor([[False, True]]))

@pytest.fixture(scope='module')
def text_encoder(): return TextEncoder(cache=True)

TEXTS = [dict(category=c, query=q, title=f'{q} video {i}') for i, (c, q) in
         enumerate([('Sports', 'parkour'), ('Food', 'sandwich'), ('Pets', 'dog show'), ('Autos', 'tire'), ('Events', 'parade')])]

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 14), min_size=2, max_size=5), st.integers(0, 10**6))
def test_batch_equals_alone(text_encoder, lengths, seed):
    "Whatever the padding holds, every video gets in the batch what it gets alone: no padded step is masked, matched or attended to."
    torch.manual_seed(0)
    pm = PretrainModel(VideoEncoder(feat_dim=8, d_model=16, n_layers=2, n_heads=2, d_ff=32), text_encoder, hidden=(16, 8)).eval()
    B, T = len(lengths), max(lengths) + 2
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, T, 8, generator=g); mask = length_mask(torch.tensor(lengths), T)
    junk = x.clone(); junk[~mask] = torch.randn(int((~mask).sum()), 8, generator=g) * 100
    texts = TEXTS[:B]
    with torch.no_grad():
        out = pm(junk, mask, texts, generator=g)
        assert (out['masked_pos'] < torch.tensor(lengths)).all()
        for b, l in enumerate(lengths):
            t = out['text_index'][b].item()
            solo = pm(x[b:b+1, :l], None, [texts[t]], text_index=torch.tensor([0]), labels=out['labels'][b:b+1], masked_pos=out['masked_pos'][b:b+1])
            for k in ('logits', 'distance', 'pred'): assert torch.allclose(out[k][b], solo[k][0], atol=1e-4), (k, b)
