"The synthetic generator: layout, determinism, the cached default, the console script."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, h5py, pytest
from sspvs.core import SSPVSError, data_path, NO_DATA
from sspvs.data import BenchmarkFile, load_benchmarks, STANDARD, DATASETS, standard_keys, check_video, text_path
from sspvs.keyshots import select_shots
import sspvs.synthetic as S

def h5_arrays(path):
    "Every dataset of an h5 file, as {name: array}."
    out = {}
    with h5py.File(path, 'r') as f: f.visititems(lambda n, x: out.__setitem__(n, x[()]) if isinstance(x, h5py.Dataset) else None)
    return out

@pytest.fixture(scope='module')
def small(tmp_path_factory):
    "All four stand-ins at feat_dim 16 with their full video counts."
    return S.write_standard(tmp_path_factory.mktemp('syn'), seed=3, feat_dim=16)

def test_layout_of_each_stand_in(small):
    files = load_benchmarks(small)
    assert sorted(files) == sorted(Path(n).stem for n in STANDARD.values())
    for name in DATASETS:
        bf = files[Path(STANDARD[name]).stem]
        assert bf.name == name and list(bf) == standard_keys(name) and bf.feat_dim == 16
        spec = S.SPECS[name]
        for r in bf.values():
            lo, hi = spec['secs']
            assert lo * S.FPS <= r.n_frames <= hi * S.FPS
            np.testing.assert_array_equal(r.picks, np.arange(0, r.n_frames, 15))
            lens = r.n_frame_per_seg / S.FPS
            assert lens.min() >= 2 and lens[:-1].max() <= 10 and lens[-1] < 12
            assert spec['users'][0] <= r.n_users <= spec['users'][1]
            assert (r.user_scores is not None) == (name == 'tvsum')
            assert 0 <= r.gtscore.min() and r.gtscore.max() <= 1 and r.gtscore.max() > 0
            # each annotator's summary is a keyshot selection of at most 15%
            assert (r.user_summary.sum(1) <= np.floor(0.15 * r.n_frames)).all()
            if name == 'summe':   # own segments, 7-15% of the video
                assert (r.user_summary.mean(1) > 0.06).all()
            else:                 # whole KTS-like shots only
                for u in r.user_summary: assert (u[r.change_points[:, 0]] == u[r.change_points[:, 1]]).all()
            assert r.video_name.endswith(f"_{r.key.split('_')[1]}")
            t = bf.text[r.key]
            assert set(t) == {'category', 'query', 'title', 'description'} and t['query'] in t['description']
        if name == 'tvsum':
            r = bf['video_1']
            assert set(np.unique(r.user_scores)) <= {1., 2., 3., 4., 5.}
            chunks = r.user_scores[:, :r.n_frames // 60 * 60].reshape(r.n_users, -1, 60)
            assert (chunks == chunks[:, :, :1]).all()   # constant over 2-second chunks
            np.testing.assert_array_equal(r.user_summary[0], select_shots(r.user_scores[0], r.change_points, 0.15))
            assert 300_000 < sum(x.n_frames for x in bf.values()) < 400_000
            topics = [bf.text[k]['query'] for k in bf]
            assert sorted({q: topics.count(q) for q in topics}.values()) == [5] * 10   # 10 topics x 5 videos
        if name == 'summe':   # gtscore is the fraction of annotators selecting a frame, as in the real file
            for r in bf.values(): np.testing.assert_allclose(r.gtscore, r.user_summary.mean(0)[r.picks], rtol=1e-6)
    with h5py.File(small/STANDARD['ovp']) as f:
        assert set(f['video_1']) == {'features', 'picks', 'n_frames', 'n_steps', 'change_points', 'n_frame_per_seg', 'gtscore', 'gtsummary', 'user_summary', 'video_name'}

def test_same_seed_same_bytes(tmp_path):
    for ds in DATASETS:
        a = S.make_benchmark(tmp_path/f'a_{ds}.h5', ds, seed=11, feat_dim=8, n_videos=3)
        b = S.make_benchmark(tmp_path/f'b_{ds}.h5', ds, seed=11, feat_dim=8, n_videos=3)
        A, B = h5_arrays(a), h5_arrays(b)
        assert A.keys() == B.keys() and len(A) >= 3 * 10
        for k in A: assert np.asarray(A[k]).tobytes() == np.asarray(B[k]).tobytes(), (ds, k)
        assert json.loads(text_path(a).read_text()) == json.loads(text_path(b).read_text())
        C = h5_arrays(S.make_benchmark(tmp_path/f'c_{ds}.h5', ds, seed=12, feat_dim=8, n_videos=3))
        first = sorted(A)[0].split('/')[0]
        assert not np.array_equal(A[f'{first}/features'], C[f'{first}/features'])

def test_video_does_not_depend_on_n_videos(tmp_path):
    a = BenchmarkFile(S.make_benchmark(tmp_path/'a.h5', 'youtube', seed=0, feat_dim=8, n_videos=2))
    b = BenchmarkFile(S.make_benchmark(tmp_path/'b.h5', 'youtube', seed=0, feat_dim=8, n_videos=4))
    assert list(a) == ['video_11', 'video_12'] and list(b) == ['video_11', 'video_12', 'video_13', 'video_14']
    np.testing.assert_array_equal(a['video_12'].features, b['video_12'].features)
    c = BenchmarkFile(S.make_benchmark(tmp_path/'c.h5', 'summe', seed=0, feat_dim=8, n_videos=27))
    assert list(c)[-3:] == ['video_25', 'video_26', 'video_27']

def test_make_benchmark_errors(tmp_path):
    with pytest.raises(SSPVSError, match="unknown dataset 'msvd'"): S.make_benchmark(tmp_path/'x.h5', 'msvd')
    with pytest.raises(SSPVSError, match='n_videos should be at least 1'): S.make_benchmark(tmp_path/'x.h5', 'tvsum', n_videos=0)
    with pytest.raises(SSPVSError, match='does not exist'): S.make_benchmark(tmp_path/'no'/'x.h5', 'tvsum', n_videos=1)

def test_structure_is_learnable():
    "Importance depends on the topic and on novelty: the latent rule, checked on a generated video."
    w = S.make_world(0, 16)
    rng = np.random.default_rng(0)
    c = S.shot_concepts(rng, w, 2, 400)
    assert set(c) <= set(w.vocab[2]) | set(w.background)
    imp = S.shot_importance(np.random.default_rng(1), w, 2, c)
    key_first = [imp[j] for j in range(len(c)) if c[j] in w.key[2] and c[j] not in c[:j]]
    other = [imp[j] for j in range(len(c)) if c[j] not in w.vocab[2]]
    assert np.mean(key_first) > 0.6 > 0.2 > np.mean(other)

def test_synthetic_dir_cached_and_race_safe(tmp_path, monkeypatch):
    "Two processes asking for the same folder at once: both get it whole, generated once."
    env = dict(os.environ, SSPVS_CACHE=str(tmp_path/'cache'))
    code = ("from sspvs.synthetic import synthetic_dir; from sspvs.data import load_benchmarks; d = synthetic_dir(seed=1, feat_dim=4); "
            "print(d, sum(len(f) for f in load_benchmarks(d).values()))")
    ps = [subprocess.Popen([sys.executable, '-c', code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert all(p.returncode == 0 for p in ps), outs
    d = tmp_path/'cache'/'synthetic'/f'v{S.VERSION}-seed1-d4'
    assert [o[0].split() for o in outs] == [[str(d), '164']] * 2
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith('.')) == sorted(['DONE.json'] + list(STANDARD.values()) + [p.replace('.h5', '.text.json') for p in STANDARD.values()])
    assert not list(d.glob('.*.tmp'))
    # a folder with a damaged file is regenerated
    (d/STANDARD['ovp']).write_bytes(b'x')
    monkeypatch.setenv('SSPVS_CACHE', str(tmp_path/'cache'))
    assert S.synthetic_dir(seed=1, feat_dim=4) == d
    assert sum(len(f) for f in load_benchmarks(d).values()) == 164

@pytest.mark.skipif(data_path('splits') is None, reason=NO_DATA)
def test_official_splits_on_small_stand_ins(small):
    from sspvs.data import load_splits, split_file, SETTINGS
    files = load_benchmarks(small)
    for ds in ('summe', 'tvsum'):
        for st in SETTINGS: assert load_splits(data_path('splits')/split_file(ds, st), files, ds)

def test_sspvs_synthetic_cli(tmp_path):
    exe = Path(sys.executable).parent/'sspvs-synthetic'
    if not exe.exists(): pytest.skip('console script sspvs-synthetic is not installed in this environment')
    out = tmp_path/'out'
    r = subprocess.run([str(exe), str(out), '--seed', '2', '--feat_dim', '8', '--corpus', '12'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 5 and 'corpus/synthetic_corpus.h5: 12 videos' in r.stdout
    files = load_benchmarks(out)   # the corpus sits in a sub-folder, so the folder still loads as benchmark files
    assert {f.name: len(f) for f in files.values()} == dict(summe=25, tvsum=50, ovp=50, youtube=39)
    from sspvs.corpus import Corpus
    cp = out/'corpus'/'synthetic_corpus.h5'
    tr, va = S.corpus_lists(cp)
    assert len(Corpus(cp, tr)) + len(Corpus(cp, va)) == 12
    # the same as the library writes
    ref = S.make_benchmark(tmp_path/'ref.h5', 'summe', seed=2, feat_dim=8)
    A, B = h5_arrays(ref), h5_arrays(out/STANDARD['summe'])
    assert all(np.asarray(A[k]).tobytes() == np.asarray(B[k]).tobytes() for k in A)
    r = subprocess.run([str(exe), str(out/STANDARD['summe']), '--feat_dim', '8'], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip().endswith('exists and is not a folder') and 'Traceback' not in r.stderr
    r = subprocess.run([str(exe), str(out), '--feat_dim', '0'], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip() == 'sspvs-synthetic: error: --feat_dim should be at least 1, got 0'

def test_make_corpus(tmp_path):
    from sspvs.corpus import Corpus
    p = S.make_corpus(tmp_path/'c.h5', n_videos=20, seed=5, feat_dim=8)
    tr, va = S.corpus_lists(p)
    ids_tr, ids_va = json.loads(tr.read_text()), json.loads(va.read_text())
    assert (len(ids_tr), len(ids_va)) == (16, 4) and not set(ids_tr) & set(ids_va)
    c = Corpus(p)
    assert len(c) == 20 and c.feat_dim == 8 and all(len(i) == 11 for i in c.keys)
    for it in c:
        assert it.text['query'] in [q for _, q in S.TOPICS] and it.text['query'] in it.text['description']
        assert 30 * S.FPS // 15 <= it.n_steps <= 240 * S.FPS // 15 + 1
    p2 = S.make_corpus(tmp_path/'d.h5', n_videos=20, seed=5, feat_dim=8)
    A, B = h5_arrays(p), h5_arrays(p2)
    assert A.keys() == B.keys() and all(np.asarray(A[k]).tobytes() == np.asarray(B[k]).tobytes() for k in A)
    with pytest.raises(SSPVSError, match='n_videos should be at least 2'): S.make_corpus(tmp_path/'e.h5', n_videos=1)
