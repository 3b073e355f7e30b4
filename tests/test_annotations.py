"The raw-annotation readers on the real TVSum/SumMe annotations (skipped without them), and benchmark entries built from them."
import json, shutil
import numpy as np, pytest, scipy.io
from sspvs.core import SSPVSError, data_path, NO_DATA
from sspvs.keyshots import uniform_shots, select_shots
from sspvs.annotations import read_tvsum, read_summe, build_benchmark, benchmark_video, user_summaries, TVSUM_CATEGORIES
from sspvs.data import write_benchmark, BenchmarkFile

TV, SM = data_path('tvsum'), data_path('summe')
need_tv = pytest.mark.skipif(TV is None, reason=NO_DATA)
need_sm = pytest.mark.skipif(SM is None, reason=NO_DATA)

@pytest.fixture(scope='module')
def tvsum(): return read_tvsum(TV)

@pytest.fixture(scope='module')
def summe(): return read_summe(SM)

@need_tv
def test_tvsum_mat_and_tsv_agree(tvsum):
    tsv = read_tvsum(TV, source='tsv')
    assert list(tsv) == list(tvsum) == [f'video_{i}' for i in range(1, 51)]
    for k, a in tvsum.items():
        assert tsv[k].name == a.name and np.array_equal(tsv[k].user_scores, a.user_scores), k
        assert tsv[k].text['category'] == a.text['category']

@need_tv
def test_tvsum_matches_mapping_and_counts(tvsum):
    mapped = json.loads((TV/'mapped_video_names.json').read_text())
    assert {a.name: k for k, a in tvsum.items()} == mapped
    assert sum(a.n_frames for a in tvsum.values()) == 352353
    cats = [a.text['category'] for a in tvsum.values()]
    assert all(cats.count(c) == 5 for c in TVSUM_CATEGORIES.values())
    for a in tvsum.values():
        assert a.user_scores.shape == (20, a.n_frames) and a.user_scores.dtype == np.float32
        assert set(np.unique(a.user_scores)) <= {1, 2, 3, 4, 5}
        assert a.text['title'] and a.text['query'] == a.text['title'] and a.text['description'] == ''
        assert 23.9 < a.fps < 30.1
        assert (a.user_summary.sum(1) <= int(.15 * a.n_frames)).all() and (a.user_summary.sum(1) > .1 * a.n_frames).all()

@need_tv
def test_tvsum_gt_score_is_mean_of_users(tvsum):
    import h5py
    with h5py.File(TV/'ydata-tvsum50.mat', 'r') as f:
        t = f['tvsum50']
        for i in (0, 17, 49):
            gt = f[t['gt_score'][i, 0]][()].ravel()
            a = tvsum[f'video_{i + 1}']
            np.testing.assert_allclose(a.user_scores.mean(0), gt, rtol=1e-5)
            np.testing.assert_allclose(a.gtscore, (gt - 1) / 4, rtol=1e-5, atol=1e-6)

@need_tv
def test_tvsum_summaries_on_other_shots(tvsum):
    a = tvsum['video_3']
    s = read_tvsum(TV, shot_seconds=4)['video_3']
    np.testing.assert_array_equal(s.shots, uniform_shots(a.n_frames, round(4 * a.fps)))
    np.testing.assert_array_equal(s.user_summary[0], select_shots(a.user_scores[0], s.shots))

@need_sm
def test_summe_keys_names_and_selections(summe):
    mapped = json.loads((SM/'mapped_video_names.json').read_text())
    assert {a.name: k for k, a in summe.items()} == mapped
    assert summe['video_23'].name == 'car_over_camera' and summe['video_22'].name == 'Valparaiso_Downhill'
    for a in summe.values():
        m = scipy.io.loadmat(SM/'GT'/f'{a.name}.mat')
        np.testing.assert_array_equal(a.user_summary, (m['user_score'].T > 0).astype(np.uint8))
        np.testing.assert_allclose(a.gtscore, m['gt_score'].ravel(), rtol=1e-6)
        assert 15 <= a.n_users <= 18 and a.fps == float(m['FPS'].ravel()[0])
        assert a.text['query'] == a.text['title'] == a.name.replace('_', ' ') and a.text['category'] == ''

@need_sm
def test_summe_bad_mapping_is_reported(tmp_path):
    shutil.copytree(SM/'GT', tmp_path/'GT')
    mapped = json.loads((SM/'mapped_video_names.json').read_text())
    mapped['Jumps'], mapped['Cooking'] = mapped['Cooking'], mapped['Jumps']
    (tmp_path/'mapped_video_names.json').write_text(json.dumps(mapped))
    with pytest.raises(SSPVSError, match=r"mapped_video_names.json: Cooking: maps to 'video_12', but the annotation order gives 'video_8'"):
        read_summe(tmp_path)

@need_sm
def test_summe_frame_count_mismatch(tmp_path):
    (tmp_path/'GT').mkdir()
    m = scipy.io.loadmat(SM/'GT'/'Jumps.mat')
    m['nFrames'] = np.array([[m['user_score'].shape[0] + 3]])
    scipy.io.savemat(tmp_path/'GT'/'Jumps.mat', {k: v for k, v in m.items() if not k.startswith('__')})
    with pytest.raises(SSPVSError, match=r"Jumps.mat: video_1: 'user_score' has 950 frames but 'nFrames' is 953"):
        read_summe(tmp_path)

@need_tv
@need_sm
def test_build_benchmark_roundtrip(tmp_path, tvsum, summe):
    "Entries built from real annotations (random features, 15-frame picks, 60-frame shots) survive write_benchmark + BenchmarkFile."
    rng = np.random.default_rng(0)
    for name, ann in (('tvsum', tvsum), ('summe', summe)):
        steps = {}
        for k in ('video_1', 'video_2'):
            n = ann[k].n_frames; picks = np.arange(0, n, 15)
            steps[k] = dict(features=rng.normal(size=(len(picks), 16)), picks=picks, change_points=uniform_shots(n, 60))
        videos, text = build_benchmark(ann, steps)
        bf = BenchmarkFile(write_benchmark(tmp_path/f'{name}.h5', videos, text))
        assert list(bf) == ['video_1', 'video_2']
        r, a = bf['video_1'], ann['video_1']
        assert r.n_frames == a.n_frames and r.text == a.text and r.video_name == a.name
        np.testing.assert_allclose(r.gtscore, a.gtscore[steps['video_1']['picks']])
        np.testing.assert_array_equal(r.user_scores, a.user_scores)
        want = a.user_summary if name == 'summe' else user_summaries(a.user_scores, uniform_shots(a.n_frames, 60))
        np.testing.assert_array_equal(r.user_summary, want)

@need_tv
def test_benchmark_video_rejects_frames_beyond_the_annotation(tvsum):
    a = tvsum['video_1']
    picks = np.arange(0, a.n_frames + 30, 15)
    with pytest.raises(SSPVSError, match=rf"tvsum: video_1: 'picks' must increase strictly within \[0, {a.n_frames}\)"):
        benchmark_video(a, np.zeros((len(picks), 4)), picks, uniform_shots(a.n_frames, 60))
