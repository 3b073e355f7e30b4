"The video encoder and the progressive summarizer: size, masks, batched == unbatched, the official recurrence."
import math
import pytest, torch
from torch import nn
from sspvs.encoders import VideoEncoder, sinusoidal_encoding, length_mask, encoder_param_count
from sspvs.progressive import ProgressiveSummarizer

def n_params(m): return sum(p.numel() for p in m.parameters())

def test_default_parameter_count():
    "The paper's architecture, counted by hand: 3 post-norm layers of width 1024, ff 4096, plus the CLS embedding."
    d, ff = 1024, 4096
    attn = 3 * d * d + 3 * d + d * d + d          # in_proj (q, k, v) + out_proj, with biases
    ffn = d * ff + ff + ff * d + d                 # linear1 + linear2
    norms = 2 * 2 * d                              # norm1, norm2 (weight + bias)
    expected = 3 * (attn + ffn + norms) + d        # + CLS
    assert expected == 37_789_696
    enc = VideoEncoder()
    assert n_params(enc) == expected == encoder_param_count()
    assert isinstance(enc.proj, nn.Identity)       # no input projection for 1024-d features
    layer = enc.encoder.layers[0]
    assert not layer.norm_first and layer.activation_relu_or_gelu == 1 and layer.self_attn.batch_first
    assert len(enc.encoder.layers) == 3 and layer.self_attn.num_heads == 8 and layer.linear1.out_features == 4096
    model = ProgressiveSummarizer(enc, n_stages=4)
    assert n_params(model) == expected + 4 * (d + 1)
    assert round(n_params(enc) / 1e6, 1) == 37.8

def small(feat_dim=12, d_model=16, **kw):
    torch.manual_seed(0)
    return VideoEncoder(feat_dim=feat_dim, d_model=d_model, n_layers=2, n_heads=2, d_ff=32, **kw)

@pytest.mark.parametrize('feat_dim', [16, 12])
@pytest.mark.parametrize('grad', [False, True])
def test_encoder_batched_equals_alone(feat_dim, grad):
    "Both PyTorch code paths (fused fast path without grad in eval mode, ordinary path with grad) agree with unbatched runs."
    enc = small(feat_dim).eval()
    lengths = [9, 1, 5, 9, 3]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(len(lengths), 9, feat_dim, generator=g); mask = length_mask(lengths)
    with torch.set_grad_enabled(grad):
        cls, steps = enc(x, mask)
        for i, l in enumerate(lengths):
            c1, s1 = enc(x[i:i+1, :l])
            torch.testing.assert_close(steps[i, :l], s1[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(cls[i], c1[0], atol=1e-5, rtol=1e-5)
        assert steps[~mask].abs().sum() == 0

def test_encoder_paths_agree_at_padding():
    enc = small().eval()
    x, mask = torch.randn(3, 6, 12), length_mask([6, 2, 4])
    with torch.no_grad(): fast = enc(x, mask)
    slow = enc(x, mask)
    for a, b in zip(fast, slow): torch.testing.assert_close(a, b.detach(), atol=1e-5, rtol=1e-5)

@pytest.mark.parametrize('junk', [0., 1e6, float('nan'), float('inf')])
def test_padding_never_affects_real_steps(junk):
    enc = small().eval()
    model = ProgressiveSummarizer(enc, n_stages=3).eval()
    x, mask = torch.randn(3, 7, 12), length_mask([7, 3, 5])
    with torch.no_grad(): ref = model(x, mask)
    xj = x.clone(); xj[~mask] = junk
    with torch.no_grad(): out = model(xj, mask)
    torch.testing.assert_close(out['scores'], ref['scores'], atol=1e-6, rtol=1e-6)
    assert torch.isfinite(out['scores']).all() and out['scores'][~mask].abs().sum() == 0
    for s in out['stages']: assert s[~mask].abs().sum() == 0

def test_no_gradient_reaches_padding():
    model = ProgressiveSummarizer(small(), n_stages=2).train()
    x, mask = torch.randn(2, 6, 12, requires_grad=True), length_mask([6, 2])
    model(x, mask)['scores'].sum().backward()
    assert x.grad[~mask].abs().sum() == 0 and x.grad[mask].abs().sum() > 0

@pytest.mark.parametrize('n_stages,feat_dim,text_dim', [(1, 16, None), (3, 12, None), (4, 16, 10), (2, 12, 6)])
def test_summarizer_batched_equals_alone(n_stages, feat_dim, text_dim):
    model = ProgressiveSummarizer(small(feat_dim, pos_scale=0.1), n_stages=n_stages, text_dim=text_dim).eval()
    lengths = [11, 4, 1, 8]
    x, mask = torch.randn(4, 11, feat_dim), length_mask(lengths)
    t = torch.randn(4, text_dim) if text_dim else None
    for grad in (False, True):
        with torch.set_grad_enabled(grad):
            out = model(x, mask, text=t)
            for i, l in enumerate(lengths):
                solo = model(x[i:i+1, :l], text=None if t is None else t[i:i+1])
                torch.testing.assert_close(out['scores'][i, :l], solo['scores'][0], atol=1e-5, rtol=1e-5)
                for a, b in zip(out['stages'], solo['stages']): torch.testing.assert_close(a[i, :l], b[0], atol=1e-5, rtol=1e-5)

def official_forward(model, x):
    "The official recurrence (seq-first, no mask) written out for one unpadded video (feat_dim == d_model)."
    enc = model.encoder
    v = x.transpose(0, 1)                                             # (T, 1, d)
    scores = []
    for i in range(model.n_stages):
        src = torch.cat([enc.cls.reshape(1, 1, -1), v], 0)
        pe = sinusoidal_encoding(src.shape[0], enc.d_model)[:, None]
        src = src + pe * enc.config['pos_scale']
        h = src
        for layer in enc.encoder.layers:                              # post-norm layer, dropout off
            a = layer.self_attn(h, h, h, need_weights=False)[0] if not layer.self_attn.batch_first else \
                layer.self_attn(h.transpose(0, 1), h.transpose(0, 1), h.transpose(0, 1), need_weights=False)[0].transpose(0, 1)
            h = layer.norm1(h + a)
            h = layer.norm2(h + layer.linear2(torch.relu(layer.linear1(h))))
        out = h[1:] + v
        s = torch.sigmoid(model.heads[i](out))                       # (T, 1, 1)
        scores.append(s)
        v = v * s + v
    return math.prod(scores)[:, 0, 0], [s[:, 0, 0] for s in scores]

def test_matches_official_recurrence():
    torch.manual_seed(0)
    model = ProgressiveSummarizer(VideoEncoder(feat_dim=16, d_model=16, n_layers=2, n_heads=2, d_ff=32, pos_scale=0.1), n_stages=3).eval()
    x = torch.randn(1, 10, 16)
    with torch.no_grad():
        ref, ref_stages = official_forward(model, x)
        out = model(x)
    torch.testing.assert_close(out['scores'][0], ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(out['stages'], ref_stages): torch.testing.assert_close(a[0], b, atol=1e-5, rtol=1e-5)

def test_text_only_at_stage_one():
    "The text vector changes stage 1's head input; with zeroed projection output, text has no effect at all."
    model = ProgressiveSummarizer(small(16), n_stages=2, text_dim=5).eval()
    x = torch.randn(2, 6, 16)
    nn.init.zeros_(model.text_proj[2].weight); nn.init.zeros_(model.text_proj[2].bias)
    with torch.no_grad():
        a = model(x, text=torch.randn(2, 5)); b = model(x, text=torch.randn(2, 5))
    torch.testing.assert_close(a['scores'], b['scores'])
    model.train()
    out = model(x, text=torch.randn(2, 5))
    out['scores'].sum().backward()
    assert model.text_proj[2].weight.grad.abs().sum() > 0

def test_dropout_in_training():
    model = ProgressiveSummarizer(small(16), n_stages=2).train()
    x = torch.randn(1, 6, 16)
    assert not torch.equal(model(x)['scores'], model(x)['scores'])
    model.eval()
    with torch.no_grad(): assert torch.equal(model(x)['scores'], model(x)['scores'])

def test_mixed_precision_cpu_bfloat16():
    "Autocast (bfloat16 on CPU, standing in for CUDA's) runs forward and backward with masks and text, padding at 0."
    model = ProgressiveSummarizer(small(12), n_stages=3, text_dim=6).train()
    x, mask, t = torch.randn(3, 9, 12), length_mask([9, 4, 2]), torch.randn(3, 6)
    with torch.autocast('cpu', dtype=torch.bfloat16): out = model(x, mask, text=t)
    assert out['scores'][~mask].abs().sum() == 0 and torch.isfinite(out['scores']).all()
    ((out['scores'].float() - 0.5) ** 2)[mask].mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
