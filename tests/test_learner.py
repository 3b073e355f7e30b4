"Training, checkpoints and inference: exact resume, no pickle, atomic writes, clear errors."
import json, pickle
import numpy as np, pytest, torch
from torch import nn
import sspvs.learner as L
from sspvs.core import SSPVSError
from sspvs.data import write_benchmark, toy_video, BenchmarkFile
from sspvs.learner import (ModelConfig, TrainConfig, build_summarizer, fit, predict, save_checkpoint, load_checkpoint,
                           read_checkpoint, load_summarizer, sidecar)

MC = ModelConfig(feat_dim=8, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=2)
TC = TrainConfig(epochs=3, batch_size=2, max_len=12, repeat=2, seed=1, precision='fp32')   # exact resumption is tested in float32

@pytest.fixture(scope='module')
def recs(tmp_path_factory):
    d = tmp_path_factory.mktemp('toy')
    write_benchmark(d/'toy.h5', {f'video_{i}': toy_video(n_frames=150 + 60 * i, feat_dim=8, seed=i) for i in range(1, 6)},
                    text={f'video_{i}': dict(title=f'video {i}') for i in range(1, 6)})
    return list(BenchmarkFile(d/'toy.h5').values())

def weights_equal(a, b): return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))

def fresh(seed=0):
    torch.manual_seed(seed); return build_summarizer(MC)

class Crash(Exception): pass

def crash_at(epoch):
    def hook(model, e, entry):
        if e == epoch: raise Crash
        return dict(seen=e)
    return hook

def test_exact_resume(recs, tmp_path):
    "3 epochs straight == 2 epochs, a crash in the third (after its steps, before its checkpoint), then resume to 3."
    straight = fresh()
    h1 = fit(straight, recs, TC, checkpoint=tmp_path/'a.safetensors', on_epoch=crash_at(None), progress=False)
    m = fresh()
    with pytest.raises(Crash): fit(m, recs, TC, checkpoint=tmp_path/'b.safetensors', on_epoch=crash_at(3), progress=False)
    assert read_checkpoint(tmp_path/'b.safetensors').extra['epoch'] == 2
    torch.manual_seed(99); np.random.seed(5)                 # a new process: other RNG states, other initial weights
    resumed = fresh(seed=7)
    h2 = fit(resumed, recs, TC, checkpoint=tmp_path/'b.safetensors', on_epoch=crash_at(None), progress=False)
    assert weights_equal(straight, resumed)
    assert [e['loss'] for e in h1] == [e['loss'] for e in h2] and [e['seen'] for e in h2] == [1, 2, 3]
    assert len(json.loads(sidecar(tmp_path/'b.safetensors').read_text())['extra']['history']) == 3
    # training on to more epochs continues from the checkpoint
    more = fit(resumed, recs, TrainConfig(**{**TC.as_dict(), 'epochs': 4}), checkpoint=tmp_path/'b.safetensors', progress=False)
    assert [e['epoch'] for e in more] == [1, 2, 3, 4]

def test_resume_needs_rng_state(recs, tmp_path, monkeypatch):
    "The resume test can fail: without restoring the dropout RNG the weights differ."
    straight = fresh(); fit(straight, recs, TC, progress=False)
    m = fresh(); fit(m, recs, TrainConfig(**{**TC.as_dict(), 'epochs': 2}), checkpoint=tmp_path/'c.safetensors', progress=False)
    monkeypatch.setattr(L, 'set_rng_state', lambda *a: None)
    torch.manual_seed(99)
    resumed = fresh(); fit(resumed, recs, TC, checkpoint=tmp_path/'c.safetensors', progress=False)
    assert not weights_equal(straight, resumed)

def test_fit_is_reproducible_and_shuffles(recs):
    a, b = fresh(), fresh(seed=3)
    fit(a, recs, TC, progress=False); fit(b, recs, TC, progress=False)
    assert not weights_equal(a, b)                           # different initial weights
    c = fresh(); fit(c, recs, TC, progress=False)
    assert weights_equal(a, c)
    d = fresh(); fit(d, recs, TrainConfig(**{**TC.as_dict(), 'seed': 2}), progress=False)
    assert not weights_equal(a, d)
    assert L.epoch_order(10, 0, 0) != L.epoch_order(10, 0, 1) != L.epoch_order(10, 1, 0)

def test_precision_option_validates():
    with pytest.raises(SSPVSError, match=r"^--precision must be fp32, bf16 or auto, got 'fp64'$"): TrainConfig(precision='fp64')
    with pytest.raises(SSPVSError, match="fp16 is for CUDA only"): L.resolve_precision('fp16', 'cpu')

def test_auto_precision_resolves_as_documented(monkeypatch):
    assert L.resolve_precision('fp32', 'cpu') == 'fp32' and L.resolve_precision('bf16', 'cpu') == 'bf16'
    monkeypatch.setattr(L, 'cpu_has_bf16', lambda: True);  assert L.resolve_precision('auto', 'cpu') == 'bf16'
    monkeypatch.setattr(L, 'cpu_has_bf16', lambda: False); assert L.resolve_precision('auto', 'cpu') == 'fp32'
    caps = torch.cpu.get_capabilities()
    monkeypatch.undo()
    assert L.cpu_has_bf16() == bool(caps.get('avx512_bf16') or caps.get('amx_bf16') or caps.get('bf16') or caps.get('sve_bf16'))

def test_bf16_on_cpu_trains_with_finite_loss(recs, tmp_path):
    m = fresh()
    h = fit(m, recs, TrainConfig(**{**TC.as_dict(), 'epochs': 1, 'precision': 'bf16'}), 'cpu', checkpoint=tmp_path/'bf.safetensors', progress=False)
    assert np.isfinite(h[0]['loss']) and h[0]['loss'] > 0
    assert m.train_precision == 'bf16' and read_checkpoint(tmp_path/'bf.safetensors').extra['precision'] == 'bf16'
    assert all(torch.isfinite(p).all() for p in m.parameters()) and not weights_equal(m, fresh())
    p16, p32 = predict(m, recs), predict(m, recs, precision='fp32')    # predict follows the training precision unless told
    k = recs[0].key
    assert not np.array_equal(p16[k], p32[k]) and np.allclose(p16[k], p32[k], atol=0.05)
    with pytest.raises(SSPVSError, match="cannot resume: the checkpoint was trained in bf16, this run would train in fp32"):
        fit(fresh(), recs, TrainConfig(**{**TC.as_dict(), 'epochs': 2}), 'cpu', checkpoint=tmp_path/'bf.safetensors', progress=False)

def test_resume_refuses_other_runs(recs, tmp_path):
    ck = tmp_path/'r.safetensors'
    fit(fresh(), recs, TrainConfig(**{**TC.as_dict(), 'epochs': 1}), checkpoint=ck, progress=False)
    with pytest.raises(SSPVSError, match="r.safetensors: cannot resume: the checkpoint was trained with lr=0.0001, this run has 0.001"):
        fit(fresh(), recs, TrainConfig(**{**TC.as_dict(), 'lr': 1e-3}), checkpoint=ck, progress=False)
    with pytest.raises(SSPVSError, match="cannot resume: the checkpoint's model has n_stages=2, this one 3"):
        fit(build_summarizer(ModelConfig(**{**MC.as_dict(), 'n_stages': 3})), recs, TC, checkpoint=ck, progress=False)
    with pytest.raises(SSPVSError, match='trained on other videos'):
        fit(fresh(), recs[:3], TC, checkpoint=ck, progress=False)
    fit(fresh(), recs[:3], TC, checkpoint=ck, resume=False, progress=False)   # resume=False starts over
    assert read_checkpoint(ck).extra['epoch'] == 3

def test_checkpoint_round_trip_without_pickle(recs, tmp_path, monkeypatch):
    m = fresh()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m(torch.randn(1, 5, 8))['scores'].sum().backward(); opt.step()
    save_checkpoint(tmp_path/'m.safetensors', m, optimizer=opt, rng=True, epoch=1, history=[{'loss': np.float32(0.5)}])
    def no(*a, **k): raise AssertionError('pickle used')
    monkeypatch.setattr(torch, 'load', no); monkeypatch.setattr(pickle, 'load', no); monkeypatch.setattr(pickle, 'loads', no)
    monkeypatch.setattr(pickle, 'Unpickler', no)
    sd, cfg = load_checkpoint(tmp_path/'m.safetensors')
    assert cfg == MC.as_dict()
    m2 = build_summarizer(cfg); m2.load_state_dict(sd)
    assert weights_equal(m, m2)
    ck = read_checkpoint(tmp_path/'m.safetensors')
    assert ck.extra == {'epoch': 1, 'history': [{'loss': 0.5}]}
    opt2 = torch.optim.Adam(m2.parameters(), lr=1e-3); opt2.load_state_dict(ck.optimizer)
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        s1, s2 = opt.state[p1], opt2.state[p2]
        assert all(torch.equal(s1[k], s2[k]) for k in ('exp_avg', 'exp_avg_sq', 'step'))
    assert opt2.param_groups[0]['lr'] == 1e-3
    assert ck.rng[0]['rng.torch'].dtype == torch.uint8
    header = json.loads(sidecar(tmp_path/'m.safetensors').read_text())
    assert header['config'] == cfg and 'rng' not in header

def test_interrupted_save_leaves_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path/'m.safetensors'
    m = fresh(); save_checkpoint(path, m, epoch=1)
    before = path.read_bytes(), sidecar(path).read_bytes()
    def half_write(tensors, filename, metadata=None):
        open(filename, 'wb').write(b'\x00' * 100); raise KeyboardInterrupt
    monkeypatch.setattr(L, 'save_file', half_write)
    with pytest.raises(KeyboardInterrupt): save_checkpoint(path, fresh(seed=5), epoch=2)
    assert (path.read_bytes(), sidecar(path).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.json', 'm.safetensors']
    monkeypatch.undo()
    assert read_checkpoint(path).extra['epoch'] == 1

def test_bad_checkpoints(tmp_path):
    (tmp_path/'x.safetensors').write_bytes(b'garbage')
    with pytest.raises(SSPVSError, match='x.safetensors: not a readable safetensors checkpoint'): load_checkpoint(tmp_path/'x.safetensors')
    from safetensors.torch import save_file
    save_file({'a': torch.zeros(1)}, str(tmp_path/'y.safetensors'))
    with pytest.raises(SSPVSError, match="y.safetensors: not an sspvs checkpoint"): load_checkpoint(tmp_path/'y.safetensors')
    with pytest.raises(SSPVSError, match='z.safetensors: no such checkpoint'): load_summarizer(tmp_path/'z.safetensors')
    with pytest.raises(SSPVSError, match='sidecar'): save_checkpoint(tmp_path/'w.json', fresh())

def test_width_mismatch(recs, tmp_path):
    save_checkpoint(tmp_path/'m.safetensors', build_summarizer(ModelConfig.small(1024)))
    with pytest.raises(SSPVSError, match=r"m.safetensors: the checkpoint reads 1024-d features but toy.h5 has 8-d features"):
        load_summarizer(tmp_path/'m.safetensors', feat_dim=8, data='toy.h5')
    assert load_summarizer(tmp_path/'m.safetensors', feat_dim=1024).config['feat_dim'] == 1024
    with pytest.raises(SSPVSError, match=r"toy/video_1: the features are 8-d but the model reads 1024-d"):
        fit(build_summarizer(ModelConfig.small(1024)), recs, TC, progress=False)

def test_predict(recs):
    m = fresh(); m.train()
    p = predict(m, recs, batch_size=3, precision='fp32')   # compared with a float32 forward below
    assert m.training                                          # the mode is restored
    assert list(p) == [r.key for r in recs]                    # one file: its own keys, as `evaluate` and predictions files use them
    assert list(predict(m, recs[::-1])) == [r.key for r in recs[::-1]]
    assert list(predict(m, recs, keys='full')) == [r.full_key for r in recs]
    m.eval()
    for r in recs:
        assert p[r.key].shape == (r.n_steps,) and p[r.key].dtype == np.float32
        with torch.no_grad(): alone = m(torch.from_numpy(r.features)[None])['scores'][0].numpy()
        np.testing.assert_allclose(p[r.key], alone, atol=1e-5)
        np.testing.assert_allclose(predict(m, r, precision='fp32'), alone, atol=1e-5)   # one record: its scores alone
    st = predict(m, recs, stages=True, precision='fp32')
    for k in p: np.testing.assert_allclose(st[k].prod(0), p[k], atol=1e-6); assert st[k].shape[0] == 2

def test_learns(tmp_path):
    "On a learnable toy problem (gtscore a smooth function of the features) the loss falls well below its start."
    rng = np.random.default_rng(0); w = rng.normal(size=8)
    videos = {}
    for i in range(1, 7):
        v = toy_video(n_frames=600, feat_dim=8, seed=i)
        v['gtscore'] = (1 / (1 + np.exp(-v['features'] @ w))).astype(np.float32)
        videos[f'video_{i}'] = v
    write_benchmark(tmp_path/'learn.h5', videos)
    recs = list(BenchmarkFile(tmp_path/'learn.h5').values())
    m = build_summarizer(ModelConfig(feat_dim=8, d_model=32, n_layers=1, n_heads=2, d_ff=64, n_stages=1))
    h = fit(m, recs, TrainConfig(epochs=30, lr=3e-3, batch_size=3, max_len=None, repeat=2), progress=False)
    assert h[-1]['loss'] < 0.3 * h[0]['loss'], [e['loss'] for e in h]

class TinyText(nn.Module):
    "A stand-in text encoder: a learnable vector per title length, returned at 'sentence'."
    def __init__(self): super().__init__(); self.emb = nn.Embedding(20, 4); self.frozen = nn.Parameter(torch.ones(1), requires_grad=False)
    def forward(self, infos): return dict(sentence=self.emb(torch.tensor([len(t.get('title', '')) for t in infos])))

def test_text(recs, tmp_path):
    mc = ModelConfig(**{**MC.as_dict(), 'text_dim': 4})
    vecs = {r.full_key: np.full(4, i, np.float32) for i, r in enumerate(recs)}
    m = build_summarizer(mc)
    fit(m, recs, TrainConfig(**{**TC.as_dict(), 'epochs': 1}), text=vecs, progress=False)
    assert set(predict(m, recs, text=vecs)) == {r.key for r in recs}
    with pytest.raises(SSPVSError, match='no text vector'): predict(m, recs, text={})
    te = TinyText(); before = te.emb.weight.detach().clone()
    m = build_summarizer(mc)
    fit(m, recs, TrainConfig(**{**TC.as_dict(), 'epochs': 2}), text=te, checkpoint=tmp_path/'t.safetensors', progress=False)
    assert not torch.equal(te.emb.weight, before)              # the text encoder's trainable part learns along
    ck = read_checkpoint(tmp_path/'t.safetensors')
    assert set(ck.text) == {'emb.weight'} and torch.equal(ck.text['emb.weight'], te.emb.weight.detach())
    p = predict(m, recs, text=te)
    assert all(np.isfinite(v).all() for v in p.values())

@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')
def test_cuda_mixed_precision(recs, tmp_path):
    m = fresh()
    h = fit(m, recs, TrainConfig(**{**TC.as_dict(), 'precision': 'auto'}), device='cuda', checkpoint=tmp_path/'g.safetensors', progress=False)
    assert all(np.isfinite(e['loss']) for e in h)
    assert read_checkpoint(tmp_path/'g.safetensors').extra['precision'] == ('bf16' if L.cuda_has_bf16('cuda') else 'fp16')   # native bf16 only: emulated bf16 is slower than fp16
    p = predict(m, recs)
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in p.values())
    assert load_summarizer(tmp_path/'g.safetensors', feat_dim=8).config == MC.as_dict()

def test_loaded_model_predicts_in_its_training_precision(recs, tmp_path):
    "A checkpoint remembers the precision the model was trained in; `load_summarizer` + `predict` score in it, so a reloaded fp32 model gives the training-time scores exactly (not bf16-rounded ones on a CPU with bf16 units)."
    m = fresh(); fit(m, recs, TrainConfig(epochs=1, batch_size=2, max_len=12, seed=1, precision='fp32'), progress=False)
    save_checkpoint(tmp_path/'m.safetensors', m)
    assert read_checkpoint(tmp_path/'m.safetensors').extra['precision'] == 'fp32'
    m2 = load_summarizer(tmp_path/'m.safetensors')
    assert m2.train_precision == 'fp32'
    a, b = predict(m, recs), predict(m2, recs)
    for k in a: np.testing.assert_array_equal(a[k], b[k])

# --- saving and loading like transformers; output paths checked before any work ---

def test_save_pretrained_round_trip_into_a_new_nested_folder(recs, tmp_path):
    "A trained model saved with `save_pretrained` into folders that do not exist yet loads with `from_pretrained` and predicts exactly the same."
    from sspvs.progressive import ProgressiveSummarizer
    m = fresh(); fit(m, recs, TrainConfig(epochs=1, batch_size=2, max_len=12, seed=1, precision='fp32'), progress=False)
    d = m.save_pretrained(tmp_path/'models'/'toy'/'v1')
    assert sorted(p.name for p in d.iterdir()) == ['config.json', 'model.safetensors']
    cfg = json.loads((d/'config.json').read_text())
    assert cfg['config'] == m.config and cfg['precision'] == 'fp32' and cfg['format'] == L.PRETRAINED_FORMAT
    m2 = ProgressiveSummarizer.from_pretrained(d, device='cpu')
    assert not m2.training and m2.train_precision == 'fp32' and weights_equal(m, m2)
    a, b = predict(m, recs), predict(m2, recs)
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    save_checkpoint(tmp_path/'run'/'split0'/'seed0'/'best.safetensors', m)        # a run folder's checkpoint (its folders created)
    for p in (tmp_path/'run'/'split0'/'seed0', tmp_path/'run'/'split0'/'seed0'/'best.safetensors'):
        assert weights_equal(ProgressiveSummarizer.from_pretrained(p), m)
    with pytest.raises(SSPVSError, match=r"reads 8-d features but the data has 1024-d"): ProgressiveSummarizer.from_pretrained(d, feat_dim=1024)
    (d/'config.json').write_text('{"format": "other"}')
    with pytest.raises(SSPVSError, match="unknown format 'other'"): ProgressiveSummarizer.from_pretrained(d)

def test_fit_checks_its_checkpoint_path_before_the_first_step(recs, tmp_path):
    "A checkpoint under a file, or a folder as checkpoint, fails at once: no epoch is trained (on_epoch never runs); a missing folder is created."
    (tmp_path/'afile').write_text('x')
    seen = []
    for bad, msg in ((tmp_path/'afile'/'x.safetensors', 'afile is a file, not a folder'), (tmp_path, 'is a folder; a checkpoint needs a file name'),
                     (tmp_path/'x.json', 'should not end in .json')):
        with pytest.raises(SSPVSError, match=msg): fit(fresh(), recs, TC, checkpoint=bad, on_epoch=lambda *a: seen.append(a), progress=False)
    assert seen == []
    h = fit(fresh(), recs, TrainConfig(**{**TC.as_dict(), 'epochs': 1}), checkpoint=tmp_path/'new'/'dir'/'last.safetensors', progress=False)
    assert len(h) == 1 and (tmp_path/'new'/'dir'/'last.safetensors').is_file()

def test_one_small_preset():
    "`ModelConfig.small()` is the runner's small preset (the main job's), and `TrainConfig.small()` its schedule."
    from sspvs.benchmark import small_config, model_config
    for ds in ('summe', 'tvsum'):
        c = small_config(ds)
        assert ModelConfig(**model_config(c, 1024)) == ModelConfig.small(1024) == L.SMALL_MODEL
        assert all(c[k] == getattr(TrainConfig.small(), k) for k in ('lr', 'epochs', 'batch_size', 'precision'))
    assert (L.SMALL_MODEL.d_model, L.SMALL_MODEL.n_stages, L.SMALL_MODEL.pos_scale, L.SMALL_MODEL.in_dropout) == (64, 2, 1.0, 0.5)
