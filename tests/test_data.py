"Bad-input matrix, round trips, checksums, splits and batching of `sspvs.data`."
import json, os, subprocess, sys, pickle
from pathlib import Path
import numpy as np, h5py, pytest, torch
from sspvs.core import SSPVSError, data_path, NO_DATA
import sspvs.data as D
from sspvs.data import (BenchmarkFile, write_benchmark, toy_video, load_benchmarks, load_splits, get_record, verify, sha256sum,
                        SummaryDataset, collate, STANDARD, split_file, SETTINGS, text_path, standard_keys)

def raw_write(path, videos, text=None):
    "Write an h5 file WITHOUT validation, so that damaged files can be made."
    with h5py.File(path, 'w') as f:
        for k, v in videos.items():
            if v is None: f[k] = np.zeros(3); continue
            g = f.create_group(k)
            for name, x in v.items():
                if x is None: continue
                g[name] = np.bytes_(x.encode()) if isinstance(x, str) else x
    if text is not None: text_path(path).write_text(text if isinstance(text, str) else json.dumps(text))
    return path

def mutate(**kw):
    v = toy_video()
    for k, x in kw.items(): v[k] = x(v) if callable(x) else x
    return v

def with_nan(v, val=np.nan):
    f = v['features'].copy(); f[2, 3] = val; return f

def cps(v, **kw):
    c = v['change_points'].copy()
    for (i, j), x in kw.get('set', {}).items(): c[i, j] = x
    return c

# (id, video dict, expected message after 'bad.h5: video_1: ')
CASES = [
    ('missing-key', mutate(picks=None), "'picks' is missing"),
    ('missing-keys', mutate(picks=None, n_frames=None), "'picks', 'n_frames' are missing (every use needs picks, n_frames)"),
    ('features-1d', mutate(features=np.zeros(20, np.float32)), "'features' should be (n_steps, dim) but has shape (20,)"),
    ('features-empty', mutate(features=np.zeros((0, 8), np.float32)), "'features' is empty (shape (0, 8))"),
    ('features-nan', mutate(features=lambda v: with_nan(v)), "'features' holds 1 NaN or inf values"),
    ('features-inf', mutate(features=lambda v: with_nan(v, np.inf)), "'features' holds 1 NaN or inf values"),
    ('features-strings', mutate(features=np.array([[b'a']])), "'features' has dtype |S1, expected numbers"),
    ('n_frames-zero', mutate(n_frames=0), "'n_frames' is 0: the video is empty"),
    ('n_frames-vector', mutate(n_frames=np.array([300, 300])), "'n_frames' should be one number but has shape (2,)"),
    ('n_frames-fraction', mutate(n_frames=299.5), "'n_frames' holds non-integer values"),
    ('picks-length', mutate(picks=lambda v: v['picks'][:-1]), "'picks' has 19 steps but 'features' has 20"),
    ('picks-high', mutate(picks=lambda v: np.r_[v['picks'][:-1], 300]), "'picks' has frame 300 outside [0, 299] ('n_frames' is 300)"),
    ('picks-negative', mutate(picks=lambda v: np.r_[-1, v['picks'][1:]]), "'picks' has frame -1 outside [0, 299]"),
    ('picks-unsorted', mutate(picks=lambda v: v['picks'][[0, 2, 1] + list(range(3, 20))]), "'picks' is not strictly increasing (step 2: 30 then 15)"),
    ('picks-repeated', mutate(picks=lambda v: np.r_[0, 0, v['picks'][2:]]), "'picks' is not strictly increasing (step 1: 0 then 0)"),
    ('picks-float', mutate(picks=lambda v: v['picks'] + 0.5), "'picks' holds non-integer values"),
    ('gtscore-length', mutate(gtscore=lambda v: v['gtscore'][:-1]), "'gtscore' has shape (19,) but 'features' has 20 steps"),
    ('gtscore-nan', mutate(gtscore=lambda v: np.r_[np.nan, v['gtscore'][1:]]), "'gtscore' holds 1 NaN or inf values"),
    ('cps-shape', mutate(change_points=np.zeros((4, 3), int)), "'change_points' should be (n_segs, 2) but has shape (4, 3)"),
    ('cps-empty', mutate(change_points=np.zeros((0, 2), int)), "'change_points' should be (n_segs, 2) but has shape (0, 2)"),
    ('cps-high', mutate(change_points=lambda v: cps(v, set={(3, 1): 300})), "'change_points' has frame 300 outside [0, 299] ('n_frames' is 300)"),
    ('cps-negative', mutate(change_points=lambda v: cps(v, set={(0, 0): -1})), "'change_points' has frame -1 outside [0, 299]"),
    ('nfps-negative', mutate(n_frame_per_seg=lambda v: v['n_frame_per_seg'] * np.r_[1, -1, 1, 1]), "'n_frame_per_seg' gives shot 1 a negative length"),
    ('cps-reversed', mutate(change_points=np.array([[0, 99], [100, 99], [100, 299]])), "'change_points' shot 1 ends (99) before it starts (100)"),
    ('nfps-count', mutate(n_frame_per_seg=lambda v: v['n_frame_per_seg'][:-1]), "'n_frame_per_seg' has 3 shots but 'change_points' has 4"),
    ('user_summary-frames', mutate(user_summary=np.zeros((3, 299))), "'user_summary' should be (n_users, 300) ('n_frames' is 300) but has shape (3, 299)"),
    ('user_summary-nousers', mutate(user_summary=np.zeros((0, 300))), "'user_summary' should be (n_users, 300) ('n_frames' is 300) but has shape (0, 300)"),
    ('user_summary-1d', mutate(user_summary=np.zeros(300)), "'user_summary' should be (n_users, 300)"),
    ('user_scores-frames', mutate(user_scores=np.zeros((3, 301))), "'user_scores' should be (n_users, 300) ('n_frames' is 300) but has shape (3, 301)"),
    ('user_scores-nan', mutate(user_scores=lambda v: np.where(np.arange(300) == 5, np.nan, v['user_scores'])), "'user_scores' holds 3 NaN or inf values"),
]

# what the standard code tolerates: a warning and an anomaly on open, a refusal by the strict writer (these were refusals before issue 8)
TOLERATED = [
    ('n_steps', mutate(n_steps=21), 'n_steps', "is 21 but 'features' has 20 steps"),
    ('cps-start', mutate(change_points=lambda v: cps(v, set={(0, 0): 1})), 'change_points', "do not tile the video: the first shot starts at frame 1, not 0"),
    ('cps-end', mutate(change_points=lambda v: cps(v, set={(3, 1): 298})), 'change_points', "do not tile the video: the last shot ends at frame 298, not 299 ('n_frames' is 300)"),
    ('cps-gap', mutate(change_points=lambda v: cps(v, set={(1, 0): v['change_points'][1, 0] + 1})), 'change_points', "do not tile the video: shot 0 ends at"),
    ('cps-overlap', mutate(change_points=lambda v: cps(v, set={(2, 0): v['change_points'][2, 0] - 1})), 'change_points', "do not tile the video: shot 1 ends at"),
    ('nfps-value', mutate(n_frame_per_seg=lambda v: v['n_frame_per_seg'] + np.r_[1, 0, 0, -1]), 'n_frame_per_seg', "says shot 0 has"),
]

@pytest.mark.parametrize('video,key,msg', [c[1:] for c in TOLERATED], ids=[c[0] for c in TOLERATED])
def test_tolerated_video_warns_on_open_and_is_refused_by_the_strict_writer(tmp_path, video, key, msg):
    if key == 'change_points': video = dict(video, n_frame_per_seg=video['change_points'] @ [-1, 1] + 1)   # only the shots are odd
    p = raw_write(tmp_path/'odd.h5', {'video_1': video})
    with pytest.warns(D.AnomalyWarning) as w: bf = BenchmarkFile(p)
    assert len(w) == 1 and str(w[0].message).startswith(f"odd.h5: 1 anomaly the standard code tolerates, video_1: {key!r} {msg}"), str(w[0].message)
    assert [(a.video, a.key) for a in bf.anomalies] == [('video_1', key)] and msg in bf.anomalies[0].what
    with pytest.raises(SSPVSError) as e: write_benchmark(tmp_path/'out.h5', {'video_1': video})
    assert str(e.value).startswith(f"out.h5: video_1: {key!r} {msg}") and '\n' not in str(e.value)
    assert not (tmp_path/'out.h5').exists()
    write_benchmark(tmp_path/'out.h5', {'video_1': video}, strict=False)
    with pytest.warns(D.AnomalyWarning): assert len(BenchmarkFile(tmp_path/'out.h5').anomalies) == 1

@pytest.mark.parametrize('video,msg', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_video_rejected_on_open_and_on_write(tmp_path, video, msg):
    p = raw_write(tmp_path/'bad.h5', {'video_1': video})
    with pytest.raises(SSPVSError) as e: BenchmarkFile(p)
    assert str(e.value).startswith("bad.h5: video_1: ") and msg in str(e.value), str(e.value)
    assert '\n' not in str(e.value)
    with pytest.raises(SSPVSError) as e: write_benchmark(tmp_path/'out.h5', {'video_1': video})
    assert msg in str(e.value) and str(e.value).startswith('out.h5: video_1: ')
    assert not (tmp_path/'out.h5').exists()

def test_bad_video_named_among_good_ones(tmp_path):
    p = raw_write(tmp_path/'bad.h5', {'video_1': toy_video(), 'video_2': toy_video(seed=2), 'video_10': mutate(gtscore=lambda v: v['gtscore'][:3])})
    with pytest.raises(SSPVSError, match=r"^bad\.h5: video_10: 'gtscore' has shape \(3,\)"): BenchmarkFile(p)

FILE_CASES = [
    ('no-videos', lambda p: h5py.File(p, 'w').close(), "x.h5: the file holds no videos"),
    ('not-hdf5', lambda p: p.write_text('hello'), "x.h5: not an HDF5 file"),
    ('not-a-group', lambda p: raw_write(p, {'video_1': toy_video(), 'video_2': None}), "x.h5: video_2: expected a group of datasets"),
    ('dims-differ', lambda p: raw_write(p, {'video_1': toy_video(), 'video_2': toy_video(feat_dim=9)}), "x.h5: 'features' have different sizes in different videos: [8, 9]"),
    ('text-json', lambda p: raw_write(p, {'video_1': toy_video()}, text='{"video_1": '), "x.text.json: not valid JSON"),
    ('text-list', lambda p: raw_write(p, {'video_1': toy_video()}, text=[1]), "x.text.json: should map video keys to text info"),
    ('text-unknown-video', lambda p: raw_write(p, {'video_1': toy_video()}, text={'video_7': {}}), "x.text.json: video_7: text info for a video that is not in x.h5"),
    ('text-unknown-field', lambda p: raw_write(p, {'video_1': toy_video()}, text={'video_1': {'name': 'a'}}), "x.text.json: video_1: unknown text field 'name'"),
    ('text-not-string', lambda p: raw_write(p, {'video_1': toy_video()}, text={'video_1': {'title': 3}}), "x.text.json: video_1: text field 'title' should be a string"),
]

@pytest.mark.parametrize('make,msg', [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_file(tmp_path, make, msg):
    make(tmp_path/'x.h5')
    with pytest.raises(SSPVSError) as e: BenchmarkFile(tmp_path/'x.h5')
    assert msg in str(e.value), str(e.value)

def test_missing_file(tmp_path):
    with pytest.raises(SSPVSError, match='no such file'): BenchmarkFile(tmp_path/'nope.h5')
    with pytest.raises(SSPVSError, match='no such file or folder'): load_benchmarks(tmp_path/'nope')
    with pytest.raises(SSPVSError, match='holds no .h5'): load_benchmarks(tmp_path)

def test_round_trip(tmp_path):
    vids = {f'video_{i}': toy_video(n_frames=200 + 15 * i, seed=i, user_scores=i % 2 == 0) for i in range(1, 13)}
    vids['video_3']['gtsummary'] = np.zeros(len(vids['video_3']['picks']), np.float32)   # extra keys are kept
    text = {'video_1': dict(category='Sports', query='parkour', title='Roof run', description='Fast.'), 'video_12': dict(title='t')}
    p = write_benchmark(tmp_path/'eccv16_dataset_ovp_google_pool5.h5', vids, text)
    bf = BenchmarkFile(p)
    assert list(bf) == [f'video_{i}' for i in range(1, 13)] and bf.name == 'ovp' and bf.feat_dim == 8 and len(bf) == 12
    for k, v in vids.items():
        r = bf[k]
        np.testing.assert_array_equal(r.features, v['features']); assert r.features.dtype == np.float32
        np.testing.assert_array_equal(r.picks, v['picks']); assert r.picks.dtype == np.int64
        np.testing.assert_array_equal(r.change_points, v['change_points']); np.testing.assert_array_equal(r.n_frame_per_seg, v['n_frame_per_seg'])
        np.testing.assert_allclose(r.gtscore, v['gtscore'], rtol=1e-6); assert r.gtscore.dtype == np.float32
        np.testing.assert_array_equal(r.user_summary, v['user_summary']); assert r.user_summary.dtype == np.uint8
        if 'user_scores' in v: np.testing.assert_array_equal(r.user_scores, v['user_scores'])
        else: assert r.user_scores is None
        assert r.n_frames == v['n_frames'] and r.n_steps == len(v['picks']) and r.video_name == v['video_name']
        assert r.full_key == f'eccv16_dataset_ovp_google_pool5/{k}'
    assert bf['video_1'].text['query'] == 'parkour' and bf['video_12'].text == dict(category='', query='', title='t', description='')
    assert bf['video_5'].text == {}
    with h5py.File(p) as f:
        assert 'gtsummary' in f['video_3'] and isinstance(f['video_1/video_name'][()], bytes)
        assert f['video_1/user_summary'].dtype == np.float32 and f['video_1/n_frames'].shape == ()
    assert json.loads(text_path(p).read_text())['video_12']['query'] == ''
    # records pickle without an open file (DataLoader workers)
    r2 = pickle.loads(pickle.dumps(bf['video_4'])); np.testing.assert_array_equal(r2.features, vids['video_4']['features'])

def test_write_keeps_old_file_on_failure(tmp_path):
    p = write_benchmark(tmp_path/'a.h5', {'video_1': toy_video()})
    before = p.read_bytes()
    with pytest.raises(SSPVSError): write_benchmark(p, {'video_1': mutate(n_steps=2)})
    with pytest.raises(SSPVSError, match="a.text.json: video_9: text info for a video that is not written"): write_benchmark(p, {'video_1': toy_video()}, {'video_9': {}})
    with pytest.raises(SSPVSError, match="'bad/key' is not a valid video key"): write_benchmark(p, {'bad/key': toy_video()})
    with pytest.raises(SSPVSError, match="no videos"): write_benchmark(p, {})
    assert p.read_bytes() == before and sorted(x.name for x in tmp_path.iterdir()) == ['a.h5']

def test_real_file_quirks_accepted(tmp_path):
    "Dtypes as found in the original files: float picks/n_frames holding integers, float 0/1 user_summary, (1,) scalars, str names."
    v = toy_video()
    v.update(picks=v['picks'].astype(np.float64), n_frames=np.array([300.]), change_points=v['change_points'].astype(np.float32),
             user_summary=v['user_summary'].astype(np.float64), n_steps=np.array([20]))
    r = BenchmarkFile(raw_write(tmp_path/'q.h5', {'video_1': v}))['video_1']
    assert r.n_frames == 300 and r.picks.dtype == np.int64 and r.user_summary.dtype == np.uint8

def test_verify(tmp_path, monkeypatch):
    # a file of the right size but the wrong content (sparse, so cheap)
    p = tmp_path/STANDARD['summe']
    with open(p, 'wb') as f: f.truncate(D.CHECKSUMS[STANDARD['summe']][0])
    (tmp_path/STANDARD['ovp']).write_bytes(b'short')
    rows = {Path(r['path']).name: r for r in verify([tmp_path])}
    assert rows[STANDARD['summe']]['status'] == 'mismatch' and 'expected db3816d2504f322c' in rows[STANDARD['summe']]['detail']
    assert rows[STANDARD['ovp']]['status'] == 'mismatch' and 'size 5 B, expected 40,816,768 B' in rows[STANDARD['ovp']]['detail']
    assert rows[STANDARD['tvsum']]['status'] == 'missing'
    assert verify(tmp_path/'nope.h5')[0] == dict(path=str(tmp_path/'nope.h5'), status='missing', detail='no such file')
    # the ok path, with a checksum table made for a small file
    good = tmp_path/'good.h5'; good.write_bytes(b'x' * 3_000_000)
    monkeypatch.setitem(D.CHECKSUMS, 'good.h5', (3_000_000, sha256sum(good)))
    assert verify(good)[0]['status'] == 'ok'
    import hashlib
    assert sha256sum(good, chunk=4096) == hashlib.sha256(b'x' * 3_000_000).hexdigest()

def script(name):
    "The installed console script `name` (beside this Python), or skip."
    exe = Path(sys.executable).parent/name
    if not exe.exists(): pytest.skip(f'console script {name} is not installed in this environment')
    return str(exe)

def test_sspvs_verify_cli(tmp_path):
    exe = script('sspvs-verify')
    (tmp_path/STANDARD['tvsum']).write_bytes(b'not it')
    r = subprocess.run([exe, str(tmp_path), str(tmp_path/'nope.h5')], capture_output=True, text=True)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, (r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert len(lines) == 5 and [l.split()[0] for l in lines] == ['missing', 'mismatch', 'missing', 'missing', 'missing'], r.stdout
    assert 'size 6 B, expected 125,126,256 B' in lines[1] and 'no such file' in lines[4]
    r = subprocess.run([exe], capture_output=True, text=True)
    assert r.returncode != 0 and 'Traceback' not in r.stderr   # argparse: PATHS are required

# ---- splits ----

@pytest.fixture(scope='module')
def toy_files(tmp_path_factory):
    d = tmp_path_factory.mktemp('toy')
    for name, n in (('summe', 4), ('tvsum', 5)):
        write_benchmark(d/STANDARD[name], {f'video_{i}': toy_video(seed=i) for i in range(1, n + 1)})
    return load_benchmarks(d)

def _splits(tmp_path, obj, name='s.json'):
    p = tmp_path/name; p.write_text(obj if isinstance(obj, str) else json.dumps(obj)); return p

SPLIT_CASES = [
    ('unknown-bare', [{'train_keys': ['video_1'], 'test_keys': ['video_2']}, {'train_keys': ['video_1', 'video_9'], 'test_keys': ['video_2']}], 'tvsum',
     "s.json: split 1: train_keys: 'video_9': no video 'video_9' in eccv16_dataset_tvsum_google_pool5.h5"),
    ('unknown-full', [{'train_keys': ['eccv16_dataset_summe_google_pool5/video_5'], 'test_keys': ['video_2']}], 'tvsum',
     "s.json: split 0: train_keys: 'eccv16_dataset_summe_google_pool5/video_5': no video 'video_5' in eccv16_dataset_summe_google_pool5.h5"),
    ('file-absent', [{'train_keys': ['eccv16_dataset_ovp_google_pool5/video_1'], 'test_keys': ['video_2']}], 'tvsum',
     "s.json: split 0: train_keys: 'eccv16_dataset_ovp_google_pool5/video_1' needs the file eccv16_dataset_ovp_google_pool5.h5, which is not loaded"),
    ('dataset-absent', [{'train_keys': ['video_1'], 'test_keys': ['video_2']}], 'ovp',
     "s.json: split 0: train_keys: 'video_1' needs the ovp file (eccv16_dataset_ovp_google_pool5.h5), which is not loaded"),
    ('overlap', [{'train_keys': ['video_1', 'video_2'], 'test_keys': ['video_2']}], 'tvsum',
     "s.json: split 0: 'eccv16_dataset_tvsum_google_pool5/video_2' is in both train_keys and test_keys"),
    ('duplicate', [{'train_keys': ['video_1', 'eccv16_dataset_tvsum_google_pool5/video_1'], 'test_keys': ['video_2']}], 'tvsum',
     "s.json: split 0: train_keys: 'eccv16_dataset_tvsum_google_pool5/video_1' is listed twice"),
    ('missing-list', [{'train_keys': ['video_1']}], 'tvsum', "s.json: split 0: should hold the lists 'train_keys' and 'test_keys'"),
    ('not-list', {'train_keys': []}, 'tvsum', "s.json: should be a non-empty list"),
    ('empty', [], 'tvsum', "s.json: should be a non-empty list"),
    ('bad-json', '[{"train_keys": ', 'tvsum', "s.json: not valid JSON"),
    ('non-string', [{'train_keys': [3], 'test_keys': []}], 'tvsum', "s.json: split 0: train_keys: 3 is not a string"),
]

@pytest.mark.parametrize('obj,dataset,msg', [c[1:] for c in SPLIT_CASES], ids=[c[0] for c in SPLIT_CASES])
def test_bad_splits(tmp_path, toy_files, obj, dataset, msg):
    with pytest.raises(SSPVSError) as e: load_splits(_splits(tmp_path, obj), toy_files, dataset)
    assert msg in str(e.value), str(e.value)

def test_splits_resolve(tmp_path, toy_files):
    sp = load_splits(_splits(tmp_path, [{'train_keys': ['video_1', 'eccv16_dataset_summe_google_pool5/video_4'], 'test_keys': ['video_5']}]), toy_files, 'tvsum')
    assert sp == [D.Split(['eccv16_dataset_tvsum_google_pool5/video_1', 'eccv16_dataset_summe_google_pool5/video_4'], ['eccv16_dataset_tvsum_google_pool5/video_5'])]
    assert get_record(toy_files, sp[0].train_keys[1]).key == 'video_4'
    with pytest.raises(SSPVSError, match='no such split file'): load_splits(tmp_path/'none.json', toy_files, 'tvsum')
    with pytest.raises(SSPVSError, match="unknown split setting 'cross'"): split_file('tvsum', 'cross')

def test_renamed_file_hint(tmp_path):
    write_benchmark(tmp_path/'my_tvsum.h5', {'video_1': toy_video()})
    files = load_benchmarks(tmp_path)
    with pytest.raises(SSPVSError, match="a tvsum file is loaded as 'my_tvsum'"):
        load_splits(_splits(tmp_path, [{'train_keys': ['eccv16_dataset_tvsum_google_pool5/video_1'], 'test_keys': []}]), files, 'tvsum')

@pytest.mark.skipif(data_path('splits') is None, reason=NO_DATA)
def test_official_splits_on_synthetic():
    from sspvs.synthetic import synthetic_dir
    files = load_benchmarks(synthetic_dir())
    sd = data_path('splits')
    expect = {('summe', 'canonical'): (5, 20, 5), ('summe', 'augmented'): (5, 159, 5), ('summe', 'transfer'): (1, 139, 25),
              ('tvsum', 'canonical'): (5, 40, 10), ('tvsum', 'augmented'): (5, 154, 10), ('tvsum', 'transfer'): (1, 114, 50)}
    for (ds, st), (n, ntr, nte) in expect.items():
        sp = load_splits(sd/split_file(ds, st), files, ds)
        assert (len(sp), len(sp[0].train_keys), len(sp[0].test_keys)) == (n, ntr, nte)
        for s in sp:
            for k in s.train_keys + s.test_keys: assert get_record(files, k).full_key == k
        if st == 'canonical':   # 5 disjoint folds covering the dataset
            tests = [k for s in sp for k in s.test_keys]
            assert sorted(tests) == sorted(r.full_key for r in files[Path(STANDARD[ds]).stem].values())
    # augmented splits need the OVP file: without it, the error names it
    part = {k: v for k, v in files.items() if 'ovp' not in k}
    with pytest.raises(SSPVSError, match=r"tvsum_aug_splits.json: split 0: train_keys: 'eccv16_dataset_ovp_google_pool5/video_\d+' needs the file eccv16_dataset_ovp_google_pool5.h5"):
        load_splits(sd/split_file('tvsum', 'augmented'), part, 'tvsum')

def test_standard_keys_match_official_splits():
    sd = data_path('splits')
    if sd is None: pytest.skip(NO_DATA)
    keys = {}
    for p in sd.glob('*_aug_splits.json'):
        for s in json.loads(p.read_text()):
            for k in s['train_keys'] + s['test_keys']: stem, _, key = k.rpartition('/'); keys.setdefault(stem, set()).add(key)
    for name, fn in STANDARD.items(): assert keys[Path(fn).stem] == set(standard_keys(name)), name

# ---- dataset and collate ----

@pytest.fixture(scope='module')
def bf(tmp_path_factory):
    d = tmp_path_factory.mktemp('ds')
    return BenchmarkFile(write_benchmark(d/'tvsum.h5', {f'video_{i}': toy_video(n_frames=100 + 75 * i, feat_dim=6, seed=i) for i in range(1, 8)}))

def test_collate_shapes_and_masks(bf):
    ds = SummaryDataset(bf)
    items = [ds[i] for i in (0, 3, 6)]
    b = collate(items)
    T = max(r.n_steps for r in bf.values())
    assert b['features'].shape == (3, T, 6) and b['features'].dtype == torch.float32
    assert b['mask'].shape == (3, T) and b['mask'].dtype == torch.bool and b['target'].shape == (3, T)
    assert b['lengths'].tolist() == [bf['video_1'].n_steps, bf['video_4'].n_steps, bf['video_7'].n_steps] and b['lengths'].dtype == torch.long
    for i, it in enumerate(items):
        n = len(it['features'])
        assert b['mask'][i, :n].all() and not b['mask'][i, n:].any()
        assert (b['features'][i, n:] == 0).all() and (b['target'][i, n:] == 0).all()
        assert torch.equal(b['features'][i, :n], it['features'])
    assert b['keys'] == ['tvsum/video_1', 'tvsum/video_4', 'tvsum/video_7'] and len(b['texts']) == 3
    t = items[0]['target']; assert t.min() == 0 and t.max() == 1   # min-max normalised

def test_constant_gtscore_gives_zero_target(tmp_path):
    v = toy_video(); v['gtscore'] = np.full(20, 0.3, np.float32)
    it = SummaryDataset(BenchmarkFile(write_benchmark(tmp_path/'c.h5', {'video_1': v})))[0]
    assert torch.equal(it['target'], torch.zeros(20))

def test_crops_deterministic_and_resumable(bf):
    a = SummaryDataset(bf, max_len=10, train=True, repeat=3, seed=5)
    assert len(a) == 21
    wins = {e: (a.set_epoch(e), [a.window(i) for i in range(len(a))])[1] for e in range(3)}
    b = SummaryDataset(bf, max_len=10, train=True, repeat=3, seed=5); b.set_epoch(2)   # a "resumed" run at epoch 2
    assert [b.window(i) for i in range(len(b))] == wins[2]
    assert wins[0] != wins[1] != wins[2]
    c = SummaryDataset(bf, max_len=10, train=True, repeat=3, seed=6)
    assert [c.window(i) for i in range(len(c))] != wins[0]
    for i, (s, e) in enumerate(wins[2]):
        r = bf.records[f'video_{i % 7 + 1}']
        assert e - s == min(10, r.n_steps) and 0 <= s and e <= r.n_steps
        it = b[i]
        assert torch.equal(it['features'], torch.from_numpy(r.features[s:e]))
        assert torch.allclose(it['target'], torch.from_numpy(D.minmax(r.gtscore)[s:e]))
    # evaluation serves whole videos, whatever max_len
    ev = SummaryDataset(bf, max_len=10)
    assert [len(ev[i]['features']) for i in range(7)] == [r.n_steps for r in bf.values()]

def test_cache_and_dataloader_workers(bf):
    ds = SummaryDataset(bf, max_len=12, train=True, seed=1, cache=True)
    x = ds[2]['features']; assert len(ds._cache) == 1 and torch.equal(ds[2]['features'], x)
    dl = torch.utils.data.DataLoader(SummaryDataset(bf, max_len=12, train=True, seed=1), batch_size=3, collate_fn=collate, num_workers=2)
    got = [k for b in dl for k in b['keys']]
    assert got == [r.full_key for r in bf.values()]
    b0 = next(iter(dl)); b1 = collate([ds[i] for i in range(3)])
    assert torch.equal(b0['features'], b1['features']) and torch.equal(b0['mask'], b1['mask'])

def test_dataset_arguments(bf):
    with pytest.raises(SSPVSError, match='repeat should be at least 1'): SummaryDataset(bf, repeat=0)
    with pytest.raises(SSPVSError, match='max_len should be at least 1'): SummaryDataset(bf, max_len=0)
    with pytest.raises(SSPVSError, match='tvsum.h5: video_99: no such video'): bf['video_99']

def test_bare_keys_ambiguous_or_by_stem(tmp_path):
    write_benchmark(tmp_path/'a_tvsum.h5', {'video_1': toy_video()})
    write_benchmark(tmp_path/'b_tvsum.h5', {'video_1': toy_video(seed=2)})
    files = load_benchmarks(tmp_path)
    p = _splits(tmp_path, [{'train_keys': ['video_1'], 'test_keys': []}])
    with pytest.raises(SSPVSError, match=r"s.json: bare keys are ambiguous: 2 tvsum files are loaded \(a_tvsum.h5, b_tvsum.h5\)"): load_splits(p, files, 'tvsum')
    assert load_splits(p, files, 'b_tvsum')[0].train_keys == ['b_tvsum/video_1']
