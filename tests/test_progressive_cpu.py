"On the CPU, inference runs without torch's fused Transformer path (slower there for the small model) and gives the fused path's scores."
import contextlib
from unittest import mock
import torch
import sspvs.progressive as P
from sspvs.learner import build_summarizer
from sspvs.encoders import length_mask

def test_cpu_inference_equals_fused_path():
    torch.manual_seed(0)
    m = build_summarizer(dict(feat_dim=48, d_model=32, n_layers=2, n_heads=4, d_ff=64, n_stages=3)).eval()
    x, mask = torch.randn(3, 50, 48), length_mask([50, 31, 7])
    seen = []
    real = P.no_fastpath
    def spy(off=True):
        seen.append(off); return real(off)
    with torch.no_grad(), mock.patch.object(P, 'no_fastpath', spy): ours = m(x, mask)
    assert seen == [True]                                     # the CPU forward asked for the fused path to be off
    assert torch.backends.mha.get_fastpath_enabled()          # and the global setting came back
    with torch.no_grad(), mock.patch.object(P, 'no_fastpath', lambda off=True: contextlib.nullcontext()): fused = m(x, mask)
    torch.testing.assert_close(ours['scores'], fused['scores'], atol=1e-5, rtol=1e-5)
    assert ours['scores'][~mask].abs().sum() == 0

def test_all_true_mask_equals_no_mask():
    "A batch with nothing padded skips the attention mask: the same scores, in training (same dropout draws) and in evaluation."
    torch.manual_seed(0)
    m = build_summarizer(dict(feat_dim=24, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=2))
    x = torch.randn(2, 30, 24); full = length_mask([30, 30])
    with mock.patch.object(m.encoder, 'forward', wraps=m.encoder.forward) as enc:
        m.eval()
        with torch.no_grad(): a, b = m(x, full), m(x)
        assert enc.call_args_list[0].args[1] is None       # the all-true mask did not reach the encoder
    torch.testing.assert_close(a['scores'], b['scores'], atol=0, rtol=0)
    m.train()
    torch.manual_seed(1); c = m(x, full)['scores']
    torch.manual_seed(1); d = m(x)['scores']
    torch.testing.assert_close(c, d, atol=0, rtol=0)
