"""Guards: each test here fails under one specific, plausible break of the method that no other pytest test caught
(each was checked by making the break by hand, running the test, seeing it fail, and reverting):
text added at every stage; validation scored on the test videos; the epoch selected on test metrics; the MSE taken over padding;
the summary mp4 written in place; the DDP wrapper removed in two-process pretraining; the human baseline including the annotator itself.
Everything runs on generated data (no $SSPVS_DATA needed)."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np, pytest, torch
from scipy import stats

from sspvs.data import STANDARD, load_benchmarks, minmax, VideoRecord
from sspvs.synthetic import make_benchmark
from sspvs.learner import build_summarizer, fit, predict, TrainConfig
from sspvs.metrics import evaluate, human_baseline, baselines
import sspvs.benchmark as B

@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    "A 10-video TVSum stand-in with 16-d features and its 5 generated splits."
    d = tmp_path_factory.mktemp('guard')
    files = load_benchmarks(make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10))
    splits = B.make_splits(files, 'tvsum', 'canonical')   # generated: independent of $SSPVS_DATA's official split files
    return files, splits

TINY = dict(d_model=16, d_ff=32, n_heads=2, n_layers=1, max_len=64, epochs=4, n_draws=2, lr=3e-3)

# --- text guides stage 1 only ---

def test_text_guides_only_the_first_stage():
    "With stage 1's head made text-blind (constant score), the later stages must not depend on the text at all."
    torch.manual_seed(0)
    m = build_summarizer(dict(feat_dim=8, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=3, text_dim=4, dropout=0., head_dropout=0.)).eval()
    x, mask = torch.randn(2, 12, 8), torch.ones(2, 12, dtype=torch.bool)
    t1, t2 = torch.randn(2, 4), torch.randn(2, 4)
    with torch.no_grad():
        a, b = m(x, mask, text=t1), m(x, mask, text=t2)
        assert not torch.allclose(a['stages'][0], b['stages'][0])          # the text reaches stage 1 ...
        m.heads[0][1].weight.zero_()                                        # ... make stage 1's score a constant
        a, b = m(x, mask, text=t1), m(x, mask, text=t2)
    torch.testing.assert_close(a['stages'][0], b['stages'][0])
    for s in (1, 2): torch.testing.assert_close(a['stages'][s], b['stages'][s], rtol=0, atol=0)   # ... and nothing else reads the text

# --- model selection: validation videos, never the test videos ---

def test_validation_is_scored_on_the_carved_validation_videos(bench, tmp_path, monkeypatch):
    files, splits = bench
    cfg = B.small_config('tvsum', **TINY)
    calls, real = [], B.predict
    def spy(model, recs, *a, **k):
        p = real(model, recs, *a, **k); calls.append(([r.full_key for r in recs], p)); return p
    monkeypatch.setattr(B, 'predict', spy)
    res = B.run_split(files, splits[0], 0, cfg, tmp_path, 'tvsum', 'canonical', seed=3, progress=False)
    train, val = B.carve_validation(splits[0].train_keys, cfg['val_frac'], seed=3, prefer=B.target_file(files, 'tvsum').stem)
    assert val and res['val_keys'] == val and not set(val) & set(splits[0].test_keys) and set(val) <= set(splits[0].train_keys)
    assert len(calls) == 2 * cfg['epochs']                                  # per epoch: validation, then test
    for e, h in enumerate(res['history']):
        (vk, vp), (tk, tp) = calls[2*e], calls[2*e + 1]
        assert vk == val and tk == list(splits[0].test_keys)
        recs = [B.get_record(files, k) for k in val]
        ev = evaluate(recs, vp, 'avg')['mean']
        for m in ('f1', 'kendall', 'spearman'): assert h['val'][m] == pytest.approx(ev[m], abs=1e-12)
        assert h['val']['loss'] == pytest.approx(B._val_loss(vp, recs), abs=1e-12)

def test_epoch_is_selected_on_validation_not_test():
    "A history where the best validation epoch and the best test epoch differ."
    h = [dict(epoch=e + 1, val=dict(f1=v, kendall=v, spearman=v, loss=1 - v), test=dict(f1=t, kendall=t, spearman=t))
         for e, (v, t) in enumerate([(.1, .9), (.8, .2), (.3, .5)])]
    for sel in ('f1', 'kendall', 'spearman', 'loss'):
        r = B.select_epochs(h, sel)
        assert r['validation'] == dict(epoch=2, f1=.2, kendall=.2, spearman=.2), sel
        assert r['test-selected (optimistic)']['epoch'] == 1 and r['last']['epoch'] == 3

def test_run_split_reports_the_validation_selected_epoch(bench, tmp_path):
    files, splits = bench
    cfg = B.small_config('tvsum', **TINY)
    res = B.run_split(files, splits[1], 1, cfg, tmp_path, 'tvsum', 'canonical', seed=0, progress=False)
    v = [h['val'][cfg['select']] for h in res['history']]
    e = int(np.argmax(v))
    sel = dict(res['selected']['validation']); ties = sel.pop('ties')
    assert sel == {'epoch': e + 1, **{m: res['history'][e]['test'][m] for m in B.METRICS}}
    assert ties['videos'] == len(splits[1].test_keys) and ties['f1_min'] <= sel['f1'] <= ties['f1_max']
    preds = json.loads((tmp_path/'split1'/'seed0'/'predictions.json').read_text())['validation']
    recs = [B.get_record(files, k) for k in splits[1].test_keys]
    ev = evaluate(recs, preds, 'avg')['mean']
    for m in B.METRICS: assert ev[m] == pytest.approx(res['selected']['validation'][m], abs=1e-6)   # the saved predictions are that epoch's

# --- the training loss ignores padding ---

def test_training_loss_is_the_mean_over_real_steps_only(bench):
    "With lr 0 and no dropout the epoch's loss is the MSE over the real steps of videos of different lengths padded into one batch."
    files, _ = bench
    recs = list(next(iter(files.values())).values())[:4]
    assert len({r.n_steps for r in recs}) > 1
    torch.manual_seed(0)
    m = build_summarizer(dict(feat_dim=16, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=2, dropout=0., head_dropout=0.))
    p = predict(m, recs, 'cpu', precision='fp32')
    se = np.concatenate([(np.asarray(p[r.key], np.float64) - minmax(r.gtscore)) ** 2 for r in recs])
    h = fit(m, recs, TrainConfig(epochs=1, lr=0., batch_size=4, max_len=None, repeat=1, precision='fp32'), 'cpu', progress=False)
    assert h[0]['loss'] == pytest.approx(se.mean(), rel=1e-5)

# --- the summary video is written under a temporary name ---

def test_summary_video_is_not_written_in_place(tmp_path, monkeypatch):
    import sspvs.summarize as S
    from sspvs.video import make_clip
    clip = make_clip(tmp_path/'clip.mp4', 3, [1., 1., 1.], (96, 64), 10)
    sm = S.summarize(clip, device='cpu', ratio=0.5)
    paths = S.write_outputs(sm, tmp_path/'out')
    before = {p: p.read_bytes() for p in paths.values()}
    seen, real = [], S.write_summary_video
    def write_then_fail(sm, dest, *a, **k):
        seen.append(Path(dest)); real(sm, dest, 32)     # a smaller video: other bytes
        raise RuntimeError('disk full')
    monkeypatch.setattr(S, 'write_summary_video', write_then_fail)
    with pytest.raises(RuntimeError, match='disk full'): S.write_outputs(sm, tmp_path/'out')
    assert seen and seen[0] != paths['mp4'] and seen[0].parent == paths['mp4'].parent
    assert {p: p.read_bytes() for p in paths.values()} == before               # the previous outputs are untouched
    assert sorted(p.name for p in (tmp_path/'out').iterdir()) == sorted(p.name for p in paths.values())

# --- two-process pretraining keeps the processes' models equal ---

_DDP_SCRIPT = textwrap.dedent('''
    import sys, os, torch
    from pathlib import Path
    import sspvs.pretrain as P
    from sspvs.corpus import Corpus
    corpus, out = sys.argv[1], Path(sys.argv[2])
    real = P.run_epoch
    def spy(model, *a, **k):
        r = real(model, *a, **k)
        m = model.module if hasattr(model, 'module') else model
        torch.save({n: p.detach().clone() for n, p in m.named_parameters() if p.requires_grad}, out/f"rank{os.environ['RANK']}_e{a[4]}.pt")
        return r
    P.run_epoch = spy
    cfg = P.PretrainConfig.quick(feat_dim=32, d_model=16, n_layers=1, n_heads=2, d_ff=32, hidden=(16, 8), w_match=0, w_align=0,
                                 epochs=2, batch_size=4, max_len=48, lr=1e-2)
    P.pretrain([Corpus(corpus)], None, out, cfg, device='cpu', progress=False)
''')

def test_two_process_pretraining_keeps_the_models_equal(tmp_path):
    "Under torchrun (2 CPU processes, gloo) both processes hold the same weights after every epoch: gradients are averaged."
    from sspvs.synthetic import make_corpus
    corpus = make_corpus(tmp_path/'corpus.h5', n_videos=16, seed=1, feat_dim=32)
    (tmp_path/'run').mkdir(); script = tmp_path/'ddp.py'; script.write_text(_DDP_SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'TOKENIZERS_PARALLELISM': 'false'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', str(script), str(corpus), str(tmp_path/'run')],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for e in (0, 1):
        a, b = (torch.load(tmp_path/'run'/f'rank{k}_e{e}.pt') for k in (0, 1))
        assert a.keys() == b.keys() and a
        for n in a: torch.testing.assert_close(a[n], b[n], rtol=0, atol=0, msg=f'epoch {e + 1}: {n} differs between the processes')
    first = torch.load(tmp_path/'run'/'rank0_e0.pt'); second = torch.load(tmp_path/'run'/'rank0_e1.pt')
    assert any(not torch.equal(first[n], second[n]) for n in first)     # they did train

# --- the human baseline leaves the annotator out ---

def _record(us, scores):
    n = us.shape[1]
    cp = np.stack([np.arange(0, n, 10), np.minimum(np.arange(0, n, 10) + 9, n - 1)], 1)
    return VideoRecord(key='v', source=Path('x.h5'), n_frames=n, picks=np.arange(0, n, 5), change_points=cp, n_frame_per_seg=cp[:, 1] - cp[:, 0] + 1,
                       gtscore=np.zeros(n // 5, np.float32), user_summary=us.astype(np.uint8), user_scores=scores.astype(np.float32))

def test_human_baseline_leaves_the_annotator_out():
    "Three annotators with disjoint summaries agree with nobody else: leave-one-out F1 is exactly 0 (it would be 1/3 or 1 with themselves)."
    n = 60; us = np.zeros((3, n)); us[0, :10] = us[1, 20:30] = us[2, 40:50] = 1
    rng = np.random.default_rng(0); scores = rng.integers(1, 6, (3, n)).astype(float)
    rec = _record(us, scores)
    for metric in ('avg', 'max'): assert human_baseline(rec, metric)['f1'] == 0
    tau = np.mean([np.mean([stats.kendalltau(scores[u], scores[v]).statistic for v in range(3) if v != u]) for u in range(3)])
    rho = np.mean([np.mean([stats.spearmanr(scores[u], scores[v]).statistic for v in range(3) if v != u]) for u in range(3)])
    hb = human_baseline(rec)
    assert hb['kendall'] == pytest.approx(tau, abs=1e-9) and hb['spearman'] == pytest.approx(rho, abs=1e-9)
    assert baselines([rec], 'avg', n_draws=2)['human']['f1'] == 0
    # two identical annotators agree perfectly with each other, the third with nobody
    us2 = us.copy(); us2[1] = us2[0]
    assert human_baseline(_record(us2, scores), 'avg')['f1'] == pytest.approx(1 / 3)   # (0.5 + 0.5 + 0) / 3; with themselves: 7/9
