"The GPU paths, checked on the CPU: precision 'auto' per device (torch.cuda's queries mocked), fp32 stage scores under autocast, host syncs per step, device choice per process and worker, the Hausdorff distance without a (B, N, M, D) tensor, the fp16 loss scaler in pretraining checkpoints, and an exact resume of 2-process (gloo) pretraining."
import functools, json, os, subprocess, sys
from functools import reduce
from types import SimpleNamespace
from unittest import mock
import numpy as np, pytest, torch
import torch.nn.functional as F
import sspvs.benchmark as B
import sspvs.learner as L
import sspvs.pretrain as P
from scipy.stats import kendalltau
from sspvs.core import rank_threads
from sspvs.data import write_benchmark, toy_video, BenchmarkFile
from sspvs.encoders import VideoEncoder
from sspvs.progressive import ProgressiveSummarizer
from sspvs.ssl import hausdorff_distance
from sspvs.synthetic import make_corpus
from sspvs.corpus import Corpus

def gpus(*majors, name='GPU'):
    "torch.cuda's queries as on a machine with CUDA devices of these compute capabilities (no GPU needed)."
    calls = []
    def props(i):
        calls.append(i); return SimpleNamespace(major=majors[i], name=f'{name}{i}')
    p = mock.patch.multiple(torch.cuda, is_available=lambda: True, device_count=lambda: len(majors), current_device=lambda: 0,
                            get_device_properties=props, get_device_name=lambda d=None: name,
                            is_bf16_supported=mock.Mock(side_effect=AssertionError('emulation probe: allocates on the current device')))
    p.calls = calls
    return p

# 1. precision 'auto'
def test_auto_is_fp16_on_a_gpu_without_native_bf16():
    with gpus(7, name='Tesla T4'):
        assert L.resolve_precision('auto', 'cuda') == 'fp16'
        with pytest.raises(L.SSPVSError, match='T4 does not compute bfloat16 natively'): L.resolve_precision('bf16', 'cuda')
    with gpus(8): assert L.resolve_precision('auto', 'cuda') == 'bf16'
    with gpus(8, 7) as _:
        assert [L.resolve_precision('auto', f'cuda:{i}') for i in (0, 1)] == ['bf16', 'fp16']   # each process asks about its own device
    g = gpus(7, 8)
    with g: L.resolve_precision('auto', 'cuda:1')
    assert g.calls == [1]                                                                           # and only about it

# 2. fp32 stage scores under autocast
def _old_scores(model, x):
    "The stage heads as they were: inside autocast, so bf16 stages and a bf16 product."
    sc = None
    for head in model.heads:
        _, h = model.encoder(x); h = h + model.encoder.project(x); s = torch.sigmoid(head(h)).squeeze(-1)
        sc = s if sc is None else sc * s; x = x * s[..., None].to(x.dtype) + x
    return sc

def test_scores_are_float32_under_bf16_autocast():
    torch.manual_seed(0)
    model = ProgressiveSummarizer(VideoEncoder(feat_dim=64, d_model=64, n_layers=2, n_heads=4, d_ff=128, pos_scale=0.1), n_stages=3).eval()
    x = torch.randn(1, 700, 64)
    with torch.no_grad():
        ref = model(x)['scores'][0]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(x); old = _old_scores(model, x)[0]
    assert out['scores'].dtype == torch.float32 and all(s.dtype == torch.float32 for s in out['stages'])
    assert old.dtype == torch.bfloat16 and len(old.unique()) < 600                   # bf16 heads tie steps
    assert len(out['scores'].unique()) == 700
    new_err, old_err = 1 - kendalltau(ref, out['scores'][0])[0], 1 - kendalltau(ref, old.float())[0]
    assert new_err < old_err / 3, (new_err, old_err)                                  # measured about 5x fewer discordant pairs
    assert (out['scores'][0] - ref).abs().max() < (old.float() - ref).abs().max() / 3

# 3. host syncs per step
SYNCS = ('item', '__bool__', '__int__', '__float__', 'tolist', 'cpu', 'numpy')

class Syncs(dict):
    "Calls that read a tensor back to the host, by kind; `where` the call sites (file:line outside torch)."
    active = True
    def __init__(self): super().__init__({k: 0 for k in SYNCS}); self.where = {}
    def reset(self):
        for k in SYNCS: self[k] = 0
        self.where.clear()
    @property
    def total(self): return sum(self.values())

@pytest.fixture
def count_syncs(monkeypatch):
    "Count the calls that read a tensor back to the host (each one a device sync on a GPU); not inside Adam's step, whose step counters are host tensors already."
    import traceback
    n = Syncs()
    for k in SYNCS:
        orig = getattr(torch.Tensor, k)
        def wrap(self, *a, _orig=orig, _k=k, **kw):
            if n.active:
                n[_k] += 1
                f = next((f for f in reversed(traceback.extract_stack()[:-1]) if '/torch/' not in f.filename), None)
                key = f"{_k} {os.path.basename(f.filename)}:{f.lineno}" if f else _k
                n.where[key] = n.where.get(key, 0) + 1
            return _orig(self, *a, **kw)
        monkeypatch.setattr(torch.Tensor, k, wrap)
    step = torch.optim.Adam.step
    def paused(self, *a, **kw):
        n.active = False
        try: return step(self, *a, **kw)
        finally: n.active = True
    monkeypatch.setattr(torch.optim.Adam, 'step', paused)
    return n

@pytest.fixture(scope='module')
def recs(tmp_path_factory):
    d = tmp_path_factory.mktemp('toy')
    write_benchmark(d/'toy.h5', {f'video_{i}': toy_video(n_frames=150 + 60 * i, feat_dim=8, seed=i) for i in range(1, 7)})
    return list(BenchmarkFile(d/'toy.h5').values())

def _fit_syncs(recs, n_stages, count):
    torch.manual_seed(0)
    m = L.build_summarizer(L.ModelConfig(feat_dim=8, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=n_stages))
    cfg = L.TrainConfig(epochs=1, batch_size=2, max_len=12, repeat=2, seed=1, precision='fp32')
    count.reset()
    L.fit(m, recs, cfg, progress=False)
    steps = -(-2 * len(recs) // cfg.batch_size)
    return count.total, steps, dict(count.where)

def test_fit_syncs_per_step_do_not_grow_with_stages(recs, count_syncs):
    n1, steps, _ = _fit_syncs(recs, 1, count_syncs)
    n4, _, detail = _fit_syncs(recs, 4, count_syncs)
    assert n1 == n4, (n1, n4, detail)                       # independent of the number of stages
    assert n4 <= 5 * steps + 2, (n4, steps, detail)         # per step only host tensors (collation, the mask's check, the starts' positions), one read of the loss an epoch

def test_predict_syncs_per_batch(recs, count_syncs):
    for n_stages in (1, 4):
        torch.manual_seed(0)
        m = L.build_summarizer(L.ModelConfig(feat_dim=8, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=n_stages))
        count_syncs.reset()
        L.predict(m, recs, batch_size=2, precision='fp32')
        assert count_syncs.total <= 5 * 3, count_syncs.where   # 3 batches: the host's mask and one copy back each, not one per video

def test_pretraining_syncs_per_step(count_syncs):
    "The recovery-only model (no text encoder to load): the mask and masked steps are read on the host, the losses once an epoch."
    from sspvs.ssl import PretrainModel
    torch.manual_seed(0)
    enc = VideoEncoder(feat_dim=16, d_model=16, n_layers=1, n_heads=2, d_ff=32)
    model = PretrainModel(enc, None, w_match=0, w_align=0, w_recover=5., window=3)
    x, mask = torch.randn(4, 20, 16), L.pad_batch([np.ones((n, 1)) for n in (20, 15, 9, 20)])[1]
    count_syncs.reset()
    for i in range(5):
        out = model(x, mask, generator=torch.Generator().manual_seed(i), start=torch.tensor([0, 3, 0, 1]))
        out['loss'].backward()
    assert count_syncs.total <= 6 * 5, count_syncs.where

# 5, 6, 7. devices and threads per process
def test_set_device_where_each_process_sees_one_gpu(monkeypatch, tmp_path):
    "Under torchrun with one visible GPU per process (SLURM binding), local rank 1 uses cuda:0."
    monkeypatch.setenv('RANK', '1'); monkeypatch.setenv('WORLD_SIZE', '2'); monkeypatch.setenv('LOCAL_RANK', '1')
    class Stop(Exception): pass
    seen = []
    with gpus(8), mock.patch.object(torch.cuda, 'set_device', lambda i: seen.append(i)), \
         mock.patch.object(P.dist, 'init_process_group', mock.Mock(side_effect=Stop)), mock.patch.object(P.dist, 'is_initialized', lambda: False):
        with pytest.raises(Stop): P.pretrain([], None, tmp_path, device='cuda')
    assert seen == [0]
    monkeypatch.setattr(B, 'start_dist', lambda: False); monkeypatch.setattr(B, 'dist_env', lambda: (1, 2, 1))
    for n, want in ((1, 0), (2, 1), (3, 1)):
        seen.clear()
        with gpus(*[8] * n), mock.patch.object(torch.cuda, 'set_device', lambda i: (seen.append(i), (_ for _ in ()).throw(Stop()))):
            with pytest.raises(Stop): B._run_cli(None, 'tvsum', 'canonical', None, tmp_path/'o', 'small', (0,), None, 'cuda', None, False, False, False, {}, 'x')
        assert seen == [want], (n, seen)

def test_workers_spread_over_gpus():
    with gpus(8, 8): assert [B.worker_device('cuda', k) for k in range(5)] == ['cuda:0', 'cuda:1', 'cuda:0', 'cuda:1', 'cuda:0']
    with gpus(8, 8): assert B.worker_device(None, 3) == 'cuda:1' and B.worker_device('cuda:1', 0) == 'cuda:1' and B.worker_device('cpu', 1) == 'cpu'
    with gpus(8): assert B.worker_device('cuda', 3) == 'cuda'
    assert B.worker_device('cpu', 1) == 'cpu'

def test_threads_under_torchrun(monkeypatch):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    env = {'LOCAL_WORLD_SIZE': '2', 'OMP_NUM_THREADS': '1'}
    assert rank_threads(env) == max(1, cpus // 2) and rank_threads({**env, 'OMP_NUM_THREADS': '4'}) is None and rank_threads({}) is None
    before = torch.get_num_threads()
    try:
        for k, v in env.items(): monkeypatch.setenv(k, v)
        assert B.set_threads(None, 'official', 'cpu') == max(1, cpus // 2)
        assert B.set_threads(None, 'small', 'cpu') == 1                                    # the small preset's one thread a run stays
        assert B.set_threads(3, 'official', 'cpu') == 3
    finally: torch.set_num_threads(before)

# 8. the Hausdorff distance
def _hausdorff_reference(X, Y, x_mask, y_mask, eps=1e-12):
    "Today's formula before the change: through a (B, N, M, D) tensor of differences."
    X, Y = F.normalize(X.float(), dim=-1), F.normalize(Y.float(), dim=-1)
    d2 = ((X[:, :, None] - Y[:, None]) ** 2).sum(-1)
    inf = torch.tensor(float('inf'))
    x_to_y = d2.masked_fill(~y_mask[:, None], inf).min(2).values.masked_fill(~x_mask, -inf).max(1).values
    y_to_x = d2.masked_fill(~x_mask[:, :, None], inf).min(1).values.masked_fill(~y_mask, -inf).max(1).values
    return torch.maximum(x_to_y, y_to_x).clamp_min(eps).sqrt()

def test_hausdorff_equals_the_difference_formula():
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(6, 40, 64, generator=g), torch.randn(6, 17, 64, generator=g)
    xm, ym = L.pad_batch([np.ones((n, 1)) for n in (40, 33, 1, 12, 40, 25)])[1], L.pad_batch([np.ones((n, 1)) for n in (17, 3, 9, 17, 1, 10)])[1]
    Xa, Xb = X.clone().requires_grad_(), X.clone().requires_grad_()
    a, b = hausdorff_distance(Xa, Y, xm, ym), _hausdorff_reference(Xb, Y, xm, ym)
    assert (a - b).abs().max() <= 1e-6, (a - b).abs().max()
    a.sum().backward(); b.sum().backward()
    assert torch.allclose(Xa.grad, Xb.grad, atol=1e-5)
    with torch.autocast('cpu', dtype=torch.bfloat16): c = hausdorff_distance(X, Y, xm, ym)
    assert c.dtype == torch.float32 and (c - b).abs().max() <= 1e-6          # fp32 also under autocast

# 9. the loss scaler in pretraining checkpoints
def _cfg(**kw):
    return P.PretrainConfig.quick(32, d_model=32, n_layers=1, n_heads=2, d_ff=64, max_len=48, batch_size=4, lr=1e-3, w_match=0., w_align=0., **kw)

@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp('corpus')/'corpus.h5', n_videos=12, seed=1, feat_dim=32)

def test_pretraining_resumes_the_fp16_loss_scaler(corpus, tmp_path, monkeypatch):
    "fp16 on the CPU stands in for CUDA's: a scaler that grows every step; a resumed run continues from its scale, as an uninterrupted one."
    monkeypatch.setattr(P, 'resolve_precision', lambda p, d: 'fp16')
    monkeypatch.setattr(torch.amp, 'GradScaler', functools.partial(torch.amp.GradScaler, growth_interval=1))
    full, part = tmp_path/'full', tmp_path/'part'
    P.pretrain([Corpus(corpus)], None, full, _cfg(epochs=2), device='cpu', progress=False)
    P.pretrain([Corpus(corpus)], None, part, _cfg(epochs=1), device='cpu', progress=False)
    s1 = L.read_checkpoint(part/'last.safetensors').scaler
    assert s1 is not None and s1['scale'] != 65536.0                      # the scale moved and was saved
    P.pretrain([Corpus(corpus)], None, part, _cfg(epochs=2), device='cpu', progress=False)
    a, b = (L.read_checkpoint(d/'last.safetensors') for d in (full, part))
    assert a.scaler == b.scaler
    assert all(torch.equal(a.model[k], b.model[k]) for k in a.model)

# 4. exact resume of 2-process pretraining, each process with its own RNG
SCRIPT = '''
import json, os, sys, torch
import torch.distributed as dist
import sspvs.pretrain as P
from sspvs.corpus import Corpus
corpus, out, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rank, seen, run = int(os.environ['RANK']), [], P.run_epoch
def spy(net, ds, sampler, opt, cfg, epoch, *a, **k):   # the first dropout draw of each epoch, peeked without using it
    g = torch.Generator(); g.set_state(torch.get_rng_state()); seen.append([epoch, torch.rand((), generator=g).item()])
    return run(net, ds, sampler, opt, cfg, epoch, *a, **k)
P.run_epoch = spy
cfg = P.PretrainConfig.quick(32, d_model=32, n_layers=1, n_heads=2, d_ff=64, max_len=48, batch_size=4, lr=1e-3, w_match=0., w_align=0., epochs=epochs)
P.pretrain([Corpus(corpus)], None, out, cfg, device='cpu', progress=False)
json.dump(seen, open(os.path.join(out, f'draws{rank}.{epochs}.json'), 'w'))
dist.destroy_process_group()
'''

def test_ddp_resume_is_exact_and_ranks_draw_apart(corpus, tmp_path):
    script = tmp_path/'run.py'; script.write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    def run(out, epochs):
        r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', str(script), str(corpus), str(out), str(epochs)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        return [json.loads((out/f'draws{k}.{epochs}.json').read_text()) for k in (0, 1)]
    full, part = tmp_path/'full', tmp_path/'part'
    full.mkdir(); part.mkdir()
    f = run(full, 2); run(part, 1); p = run(part, 2)
    assert [e for e, _ in p[0]] == [1] and [e for e, _ in f[0]] == [0, 1]
    assert f[0][1] != f[1][1] and p[0][0] != p[1][0]                       # the two processes draw apart, also after the resume
    assert p[0][0] == f[0][1] and p[1][0] == f[1][1]                       # each draws what it drew in the uninterrupted run
    a, b = (L.read_checkpoint(d/'last.safetensors') for d in (full, part))
    assert all(torch.equal(a.model[k], b.model[k]) for k in a.model)       # the resumed run ends with the uninterrupted run's weights

# 11. sspvs-summarize scores in the checkpoint's precision
def test_summarize_scores_in_the_checkpoint_precision(tmp_path):
    from sspvs.summarize import ModelScorer
    torch.manual_seed(0)
    m = L.build_summarizer(L.ModelConfig(feat_dim=8, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=2)).eval()
    feats = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    rec = SimpleNamespace(full_key='v', features=feats, n_steps=300)
    for prec in ('bf16', 'fp32'):
        m.train_precision = prec
        L.save_checkpoint(tmp_path/f'{prec}.safetensors', m)
        got = ModelScorer(tmp_path/f'{prec}.safetensors', 8, device='cpu')(feats)
        assert np.array_equal(got, L.predict(m, [rec], precision=prec)['v']), prec
    assert not np.array_equal(got, L.predict(m, [rec], precision='bf16')['v'])   # the two precisions do differ
