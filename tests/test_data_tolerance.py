"Files as the real world has them (issue 8, section 5): keys required per use, anomalies the standard code tolerates listed with one warning per file, annotation-only files, `require`, `sspvs-verify --strict`."
import os, subprocess, sys, warnings
from pathlib import Path
import numpy as np, h5py, pytest

from sspvs.core import SSPVSError
from sspvs.data import (BenchmarkFile, AnomalyWarning, Anomaly, write_benchmark, toy_video, strict_check, SummaryDataset, USES)
from sspvs.metrics import evaluate, baselines, write_predictions

EXE = Path(sys.executable).parent

def run(tool, *args):
    return subprocess.run([str(EXE/tool), *map(str, args)], capture_output=True, text=True, timeout=600, env=dict(os.environ, MPLBACKEND='Agg'))

def raw_write(path, videos):
    "Write an h5 file as given, without validation (values that are h5py-ready, None = absent)."
    with h5py.File(path, 'w') as f:
        for k, v in videos.items():
            g = f.create_group(k)
            for name, x in v.items():
                if x is not None: g.create_dataset(name, data=x)
    return path

def clean(seed, **kw):
    v = toy_video(seed=seed); v['video_name'] = np.bytes_(f'toy_{seed}'.encode())   # bytes, as the real files store it
    v.update(kw); return v

def with_gap(v):
    "Shots with a gap between shot 0 and 1, and lengths that agree with them: only the tiling is odd."
    cp = v['change_points'].copy(); cp[1, 0] += 1
    return dict(v, change_points=cp, n_frame_per_seg=cp[:, 1] - cp[:, 0] + 1)

def matrix_videos():
    "One video per tolerated anomaly (and the standard forms that are none), with the anomalies each should give."
    v = {}
    v['video_1'] = clean(1)                                                                  # clean, bytes video_name
    v['video_2'] = clean(2, gtsummary=np.zeros(20, np.float32), my_extra=np.arange(3))        # gtsummary is the layout's; my_extra is not
    v['video_3'] = clean(3, video_name=np.array('toy_3', dtype=h5py.string_dtype()))          # a str (variable-length string)
    v['video_4'] = clean(4, video_name=np.array([b'toy_4']))                                  # an array of bytes
    v['video_5'] = clean(5, video_name=np.array(['toy_5'], dtype=h5py.string_dtype()))        # an array of str
    v['video_6'] = with_gap(clean(6))                                                        # shots that do not tile
    v['video_7'] = clean(7); v['video_7']['n_frame_per_seg'] = v['video_7']['n_frame_per_seg'] + np.array([5, -5, 0, 0])   # nfps disagrees
    us = clean(8)['user_summary'].copy(); us[0, :4] = [2, 0.5, 2, 1]
    v['video_8'] = clean(8, user_summary=us)                                                 # values other than 0/1
    v['video_9'] = clean(9, user_summary=None, change_points=None, n_frame_per_seg=None, user_scores=None)   # OVP-like: training only
    v['video_10'] = clean(10, features=None)                                                 # no features, while the others have them
    v['video_11'] = clean(11, n_steps=np.int32(99))                                          # n_steps disagrees
    expect = [('video_2', 'my_extra'), ('video_4', 'video_name'), ('video_5', 'video_name'), ('video_6', 'change_points'),
              ('video_7', 'n_frame_per_seg'), ('video_8', 'user_summary'),
              ('video_9', 'change_points'), ('video_9', 'n_frame_per_seg'), ('video_9', 'user_summary'),
              ('video_10', 'features'), ('video_11', 'n_steps')]
    return v, expect

@pytest.fixture()
def matrix(tmp_path):
    v, expect = matrix_videos()
    return raw_write(tmp_path/'x.h5', v), v, expect

def test_anomaly_matrix_opens_with_one_warning(matrix):
    p, v, expect = matrix
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); bf = BenchmarkFile(p)
    w = [x for x in w if issubclass(x.category, AnomalyWarning)]
    assert len(w) == 1, [str(x.message) for x in w]
    msg = str(w[0].message)
    assert msg.startswith(f"x.h5: {len(expect)} anomalies the standard code tolerates, e.g. video_2: 'my_extra' is not a key of the eccv16 layout"), msg
    assert msg.endswith("`sspvs-verify --strict x.h5` lists them") and '\n' not in msg
    assert [(a.video, a.key) for a in bf.anomalies] == expect
    assert all(isinstance(a, Anomaly) and a.what for a in bf.anomalies)
    what = {(a.video, a.key): a.what for a in bf.anomalies}
    assert what[('video_6', 'change_points')].startswith('do not tile the video: shot 0 ends at')
    assert what[('video_7', 'n_frame_per_seg')].startswith("says shot 0 has") and 'kept' in what[('video_7', 'n_frame_per_seg')]
    assert '2, 0.5' in what[('video_8', 'user_summary')] or '0.5, 2' in what[('video_8', 'user_summary')]
    assert what[('video_11', 'n_steps')] == "is 99 but 'features' has 20 steps (the steps are used)"
    # what is read
    assert [bf[f'video_{i}'].video_name for i in (1, 3, 4, 5)] == ['toy_1', 'toy_3', 'toy_4', 'toy_5']
    np.testing.assert_array_equal(bf['video_7'].n_frame_per_seg, v['video_7']['n_frame_per_seg'])   # the file's lengths, as given
    us = bf['video_8'].user_summary; assert us.dtype == np.uint8 and us[0, :4].tolist() == [1, 1, 1, 1]
    r9 = bf['video_9']
    assert (r9.change_points, r9.n_frame_per_seg, r9.user_summary, r9.n_users) == (None, None, None, 0) and r9.missing('evaluate') == ['change_points', 'n_frame_per_seg', 'user_summary']
    assert r9.missing('train') == [] and not bf['video_10'].has_features and bf['video_10'].feat_dim is None
    assert bf.feat_dim == 8 and bf.uses == ()
    with pytest.raises(SSPVSError) as e: bf.require('train')
    assert str(e.value) == "x.h5: video_10: 'features' is missing; training needs features, gtscore, picks"
    with pytest.raises(SSPVSError) as e: bf.require('evaluate')
    assert str(e.value) == "x.h5: video_9: 'change_points', 'n_frame_per_seg', 'user_summary' are missing; evaluation needs picks, n_frames, change_points, n_frame_per_seg, user_summary"
    with pytest.raises(SSPVSError, match="unknown use 'predict'"): bf.require('predict')

def test_anomaly_matrix_strict_cli(matrix):
    p, _, expect = matrix
    r = run('sspvs-verify', '--strict', p)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, (r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert len(lines) == len(expect) + 1, r.stdout
    for line, (vid, key) in zip(lines, expect): assert line.startswith(f"x.h5: {vid}: {key!r} "), line
    assert lines[-1] == f"x.h5: 11 videos; serves nothing; {len(expect)} anomalies"
    assert 'AnomalyWarning' not in r.stderr   # --strict lists them instead

def test_each_tolerated_anomaly_alone_serves_what_it_can(tmp_path):
    v, expect = matrix_videos()
    for k in v:
        if k == 'video_1': continue
        files = {'video_1': v['video_1'], k: v[k]}
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always'); bf = BenchmarkFile(raw_write(tmp_path/f'{k}.h5', files))
        want = [e for e in expect if e[0] == k]
        assert [(a.video, a.key) for a in bf.anomalies] == want and len(w) == (1 if want else 0), k
        assert bf.uses == {'video_9': ('train',), 'video_10': ('evaluate',)}.get(k, ('evaluate', 'train')), k

def test_clean_file_no_warning_no_anomaly(tmp_path):
    p = raw_write(tmp_path/'c.h5', {f'video_{i}': clean(i) for i in range(1, 4)})
    with warnings.catch_warnings():
        warnings.simplefilter('error'); bf = BenchmarkFile(p)
    assert bf.anomalies == [] and bf.uses == ('evaluate', 'train') and bf.require('train') is bf
    r = run('sspvs-verify', '--strict', p)
    assert r.returncode == 0 and r.stdout.strip() == 'c.h5: 3 videos; serves evaluate and train; 0 anomalies' and r.stderr == '', (r.stdout, r.stderr)

def test_strict_folder_lists_every_file(tmp_path, matrix):
    d = tmp_path/'d'; d.mkdir()
    raw_write(d/'a.h5', {'video_1': clean(1)}); raw_write(d/'b.h5', {'video_1': with_gap(clean(1))})
    res = [strict_check(p) for p in sorted(d.glob('*.h5'))]
    assert [len(r['anomalies']) for r in res] == [0, 1]
    c = with_gap(clean(1))['change_points']
    r = run('sspvs-verify', '--strict', d)
    assert r.returncode == 1 and r.stdout.splitlines() == ['a.h5: 1 video; serves evaluate and train; 0 anomalies',
                                                           f"b.h5: video_1: 'change_points' do not tile the video: shot 0 ends at {c[0, 1]} but shot 1 starts at {c[1, 0]}",
                                                           'b.h5: 1 video; serves evaluate and train; 1 anomaly'], r.stdout

def shot(v, a, b):
    c = v['change_points'].copy(); c[a] = b; return c

# what makes computing impossible: one line naming file, video and key (video_2 of a file whose video_1 is clean)
REFUSED = [
    ('strings', lambda v: dict(v, gtscore=np.array([b'a'] * 20)), "'gtscore' has dtype"),
    ('nan', lambda v: dict(v, user_summary=np.where(np.arange(300) == 3, np.nan, v['user_summary'])), "'user_summary' holds 3 NaN or inf values"),
    ('picks-out', lambda v: dict(v, picks=np.r_[v['picks'][:-1], 300]), "'picks' has frame 300 outside [0, 299]"),
    ('picks-order', lambda v: dict(v, picks=v['picks'][::-1]), "'picks' is not strictly increasing"),
    ('features-picks', lambda v: dict(v, features=v['features'][:-1]), "'picks' has 20 steps but 'features' has 19"),
    ('gtscore-picks', lambda v: dict(v, features=None, gtscore=v['gtscore'][:-2]), "'gtscore' has shape (18,) but 'picks' has 20 steps"),
    ('shot-outside', lambda v: dict(v, change_points=shot(v, 3, [200, 300])), "'change_points' has frame 300 outside [0, 299]"),
    ('shot-reversed', lambda v: dict(v, change_points=shot(v, 1, [120, 110])), "'change_points' shot 1 ends (110) before it starts (120)"),
    ('nfps-count', lambda v: dict(v, n_frame_per_seg=v['n_frame_per_seg'][:3]), "'n_frame_per_seg' has 3 shots but 'change_points' has 4"),
    ('user_summary-width', lambda v: dict(v, user_summary=v['user_summary'][:, :250]), "'user_summary' should be (n_users, 300)"),
    ('empty-video', lambda v: {}, "'picks', 'n_frames' are missing"),
    ('no-frames', lambda v: dict(v, n_frames=np.int32(0)), "'n_frames' is 0: the video is empty"),
]

@pytest.mark.parametrize('make,msg', [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refusals_are_one_line(tmp_path, make, msg):
    p = raw_write(tmp_path/'bad.h5', {'video_1': clean(1), 'video_2': make(clean(2))})
    with pytest.raises(SSPVSError) as e: BenchmarkFile(p)
    s = str(e.value)
    assert s.startswith('bad.h5: video_2: ') and msg in s and '\n' not in s, s
    assert strict_check(p)['error'] == s

def test_strict_cli_refused_file(tmp_path):
    p = raw_write(tmp_path/'bad.h5', {'video_1': dict(clean(1), picks=clean(1)['picks'][::-1])})
    r = run('sspvs-verify', '--strict', p, tmp_path/'nope.h5')
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert r.stdout.splitlines()[0].startswith("bad.h5: refused: bad.h5: video_1: 'picks' is not strictly increasing")
    assert r.stdout.splitlines()[1] == f"nope.h5: refused: {tmp_path/'nope.h5'}: no such file"

# ---- annotation-only files ----

@pytest.fixture()
def annotation_only(tmp_path):
    "A TVSum-named file with every key but features, written by write_benchmark (strict)."
    vids = {f'video_{i}': dict(toy_video(seed=i, n_frames=300 + 30 * i), features=None) for i in range(1, 7)}
    return write_benchmark(tmp_path/'ann_tvsum.h5', vids)

def test_annotation_only_file(annotation_only):
    with warnings.catch_warnings():
        warnings.simplefilter('error'); bf = BenchmarkFile(annotation_only)
    assert bf.feat_dim is None and bf.anomalies == [] and bf.uses == ('evaluate',) and 'feat_dim=None' in repr(bf)
    with h5py.File(annotation_only) as f: assert 'features' not in f['video_1'] and 'gtscore' in f['video_1']
    with pytest.raises(SSPVSError) as e: bf.require('train')
    assert str(e.value) == "ann_tvsum.h5: video_1: 'features' is missing; training needs features, gtscore, picks"
    with pytest.raises(SSPVSError, match="^ann_tvsum.h5: video_1: 'features' is missing; training needs"): bf['video_1'].features
    with pytest.raises(SSPVSError, match="^ann_tvsum.h5: video_1: 'features' is missing"): SummaryDataset(bf)
    from sspvs.benchmark import linear_probe
    recs = list(bf.values())
    with pytest.raises(SSPVSError, match="^ann_tvsum.h5: video_1: 'features' is missing"): linear_probe(recs[:4], [], recs[4:])

def test_annotation_only_serves_evaluation(annotation_only, tmp_path):
    bf = BenchmarkFile(annotation_only)
    rng = np.random.default_rng(0)
    preds = {r.key: rng.random(r.n_steps) for r in bf.values()}
    res = evaluate(bf, preds, 'avg')
    assert len(res['videos']) == 6 and 0 <= res['mean']['f1'] <= 1
    gt = evaluate(bf, {r.key: r.gtscore for r in bf.values()}, 'avg')   # the ground truth scores better than noise
    assert gt['mean']['kendall'] > res['mean']['kendall']
    b = baselines(bf, 'avg', n_draws=3)
    assert set(b) == {'rank', 'human', 'random', 'videos'} and b['rank'] == 'otani' and len(b['videos']) == 6
    # the command line too
    write_predictions(tmp_path/'p.h5', preds)
    r = run('sspvs-evaluate', annotation_only, tmp_path/'p.h5')
    assert r.returncode == 0 and 'mean of 6' in r.stdout and 'Traceback' not in r.stderr, (r.stdout, r.stderr)

def test_evaluation_needs_the_evaluation_keys(matrix):
    p, _, _ = matrix
    with pytest.warns(AnomalyWarning): bf = BenchmarkFile(p)
    with pytest.raises(SSPVSError) as e: evaluate(bf, {r.key: np.ones(r.n_steps) for r in bf.values()})
    assert str(e.value).startswith("x.h5: video_9: 'change_points', 'n_frame_per_seg', 'user_summary' are missing; evaluation needs")
    with warnings.catch_warnings():   # opened for a use it cannot serve: the refusal comes alone, without the warning
        warnings.simplefilter('error')
        with pytest.raises(SSPVSError, match="^x.h5: video_9: 'change_points', 'n_frame_per_seg', 'user_summary' are missing"): BenchmarkFile(p, use='evaluate')
    write_predictions(p.parent/'p.h5', {r.key: np.ones(r.n_steps) for r in bf.values()})
    r = run('sspvs-evaluate', p, p.parent/'p.h5')
    assert r.returncode == 1 and r.stderr.strip() == ("sspvs-evaluate: error: x.h5: video_9: 'change_points', 'n_frame_per_seg', 'user_summary' are missing; "
                                                      "evaluation needs picks, n_frames, change_points, n_frame_per_seg, user_summary"), r.stderr

def test_train_on_annotation_only_is_one_line(annotation_only, tmp_path):
    r = run('sspvs-train', '--data', annotation_only, '--dataset', 'tvsum', '--preset', 'small', '--epochs', '1', '--out', tmp_path/'run', '--no_progress', '--no_figures')
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    assert lines[0] == "sspvs-train: error: ann_tvsum.h5: video_1: 'features' is missing; training needs features, gtscore, picks"
    assert not (tmp_path/'run').exists()

def test_strict_writer_and_mixed_files(tmp_path):
    v = {'video_1': toy_video(seed=1), 'video_2': dict(toy_video(seed=2), features=None)}
    with pytest.raises(SSPVSError) as e: write_benchmark(tmp_path/'m.h5', v)
    assert str(e.value).startswith("m.h5: video_2: 'features' is missing while other videos have them") and not (tmp_path/'m.h5').exists()
    with pytest.warns(AnomalyWarning, match="m.h5: 1 anomaly the standard code tolerates, video_2: 'features' is missing"):
        bf = BenchmarkFile(write_benchmark(tmp_path/'m.h5', v, strict=False))
    assert bf.feat_dim == 8 and bf.uses == ('evaluate',) and bf['video_1'].has_features
    # an OVP-like file for training only
    ovp = {f'video_{i}': dict(toy_video(seed=i), user_summary=None, user_scores=None) for i in (1, 2)}
    with pytest.warns(AnomalyWarning): bf = BenchmarkFile(write_benchmark(tmp_path/'ovp.h5', ovp, strict=False))
    assert bf.uses == ('train',) and bf.require('train') is bf
    assert set(USES) == {'evaluate', 'train'}

def test_tolerated_files_serve_evaluation(tmp_path):
    "Every anomaly but the missing keys, plus overlapping shots and shots that leave the ends uncovered: evaluate and the baselines run."
    v, _ = matrix_videos()
    ev = {k: x for k, x in v.items() if k != 'video_9'}
    c = clean(12)['change_points'].copy(); c[2, 0] -= 3; ev['video_12'] = clean(12, change_points=c)                  # overlap
    c = clean(13)['change_points'].copy(); c[0, 0], c[-1, 1] = 5, 290; ev['video_13'] = clean(13, change_points=c)   # ends uncovered
    with pytest.warns(AnomalyWarning): bf = BenchmarkFile(raw_write(tmp_path/'ev.h5', ev))
    assert bf.uses == ('evaluate',) and {('video_12', 'change_points'), ('video_13', 'change_points')} <= {(a.video, a.key) for a in bf.anomalies}
    rng = np.random.default_rng(0)
    res = evaluate(bf, {r.key: rng.random(r.n_steps) for r in bf.values()})
    assert len(res['videos']) == 12 and all(0 <= x['f1'] <= 1 for x in res['videos'].values())
    assert np.isfinite(baselines(bf, n_draws=2)['human']['f1'])
