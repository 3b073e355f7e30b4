"The video-text corpus format: errors, round trips, building from benchmark files."
import json
from pathlib import Path
import numpy as np, h5py, pytest
from sspvs.core import SSPVSError, data_path
from sspvs.corpus import Corpus, CorpusItem, write_corpus, corpus_from_benchmarks, TEXT_FIELDS
from sspvs.data import write_benchmark, toy_video, STANDARD

def feats(n=5, d=4, seed=0): return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)

def raw(path, groups):
    "Write a corpus file WITHOUT validation."
    with h5py.File(path, 'w') as f:
        for vid, g in groups.items():
            if g is None: f[vid] = np.zeros(2); continue
            grp = f.create_group(vid)
            for k, x in g.items(): grp[k] = np.bytes_(x.encode()) if isinstance(x, str) else x
    return path

def test_round_trip_and_missing_fields(tmp_path):
    items = {f'id{i}': dict(features=feats(3 + i, seed=i), **{k: f'{k} {i}' for k in TEXT_FIELDS[:i]}) for i in range(5)}
    c = Corpus(write_corpus(tmp_path/'c.h5', items))
    assert c.keys == [f'id{i}' for i in range(5)] and c.feat_dim == 4 and len(c) == 5
    for i in range(5):
        it = c[f'id{i}']
        assert it.text == {k: (f'{k} {i}' if j < i else '') for j, k in enumerate(TEXT_FIELDS)}
        np.testing.assert_array_equal(it.features, items[f'id{i}']['features']); assert it.n_steps == 3 + i
    # a file whose groups lack text fields entirely reads them as ''
    c2 = Corpus(raw(tmp_path/'r.h5', {'v': dict(features=feats(), title='t')}))
    assert c2['v'].text == dict(category='', query='', title='t', description='')
    # unicode survives
    c3 = Corpus(write_corpus(tmp_path/'u.h5', {'v': dict(features=feats(), title='Café — 東京')}))
    assert c3['v'].text['title'] == 'Café — 東京'

def test_float16(tmp_path):
    x = feats(6, 8)
    c = Corpus(write_corpus(tmp_path/'h.h5', {'v': dict(features=x)}, dtype='float16'))
    with h5py.File(tmp_path/'h.h5') as f: assert f['v/features'].dtype == np.float16
    assert c['v'].features.dtype == np.float32 and np.allclose(c['v'].features, x, atol=1e-2)

OPEN_CASES = [
    ('no-features', {'a': dict(features=feats()), 'b': dict(title='x')}, "c.h5: b: the video has no 'features'"),
    ('not-group', {'a': None}, "c.h5: a: expected a group"),
    ('features-1d', {'a': dict(features=np.zeros(4))}, "c.h5: a: 'features' should be a non-empty (n_steps, dim) array but has shape (4,)"),
    ('features-empty', {'a': dict(features=np.zeros((0, 4)))}, "c.h5: a: 'features' should be a non-empty"),
    ('features-strings', {'a': dict(features=np.array([[b'x']]))}, "c.h5: a: 'features' has dtype |S1, expected numbers"),
    ('dims', {'a': dict(features=feats()), 'b': dict(features=feats(d=5))}, "c.h5: b: 'features' has 5 dimensions but a has 4"),
    ('text-not-string', {'a': dict(features=feats(), title=np.zeros(3))}, "c.h5: a: text field 'title' should be a scalar string"),
    ('empty', {}, "c.h5: the corpus holds no videos"),
]

@pytest.mark.parametrize('groups,msg', [c[1:] for c in OPEN_CASES], ids=[c[0] for c in OPEN_CASES])
def test_bad_corpus(tmp_path, groups, msg):
    with pytest.raises(SSPVSError) as e: Corpus(raw(tmp_path/'c.h5', groups))
    assert msg in str(e.value), str(e.value)

def test_nan_features_named_when_read(tmp_path):
    x = feats(); x[1, 1] = np.nan
    c = Corpus(raw(tmp_path/'c.h5', {'a': dict(features=x)}))
    with pytest.raises(SSPVSError, match="c.h5: a: 'features' holds 1 NaN or inf values"): c['a'].features

def test_file_errors(tmp_path):
    with pytest.raises(SSPVSError, match='no such corpus file'): Corpus(tmp_path/'none.h5')
    (tmp_path/'t.h5').write_text('x')
    with pytest.raises(SSPVSError, match='t.h5: not an HDF5 file'): Corpus(tmp_path/'t.h5')

def test_ids(tmp_path):
    p = write_corpus(tmp_path/'c.h5', {v: dict(features=feats()) for v in ('a', 'b', 'c')})
    assert Corpus(p, ids=['c', 'a']).keys == ['c', 'a']
    (tmp_path/'train_list.json').write_text(json.dumps(['b']))
    assert Corpus(p, ids=tmp_path/'train_list.json').keys == ['b']
    (tmp_path/'bad_list.json').write_text(json.dumps(['b', 'x', 'y']))
    with pytest.raises(SSPVSError, match=r"^c.h5: 2 of the 3 ids of bad_list.json are not in the corpus: x, y$"): Corpus(p, ids=tmp_path/'bad_list.json')
    (tmp_path/'j.json').write_text('[')
    with pytest.raises(SSPVSError, match='j.json: not valid JSON'): Corpus(p, ids=tmp_path/'j.json')
    (tmp_path/'d.json').write_text('{"a": 1}')
    with pytest.raises(SSPVSError, match='d.json: an id list should be a list of strings'): Corpus(p, ids=tmp_path/'d.json')
    with pytest.raises(SSPVSError, match="ids: id 'a' is listed twice"): Corpus(p, ids=['a', 'a'])
    with pytest.raises(SSPVSError, match='no such id list'): Corpus(p, ids=tmp_path/'none.json')
    with pytest.raises(SSPVSError, match='c.h5: zz: no such video in the corpus'): Corpus(p)['zz']
    many = [f'm{i}' for i in range(8)]
    with pytest.raises(SSPVSError, match=r'8 of the 8 ids of ids are not in the corpus: m0, m1, m2, m3, m4 \.\.\.'): Corpus(p, ids=many)

def test_ytvt_id_lists_shape():
    "YTVT's own lists are accepted as id lists (they name videos we do not have, so the error lists them)."
    lst = data_path('ytvt', 'train_list.json')
    if lst is None: pytest.skip('no YTVT lists')
    ids = json.loads(lst.read_text())
    assert len(ids) == 2464 and all(isinstance(i, str) for i in ids)

WRITE_CASES = [
    ('no-features', {'v': dict(title='x')}, "w.h5: v: the video has no 'features'"),
    ('none-features', {'v': dict(features=None)}, "w.h5: v: the video has no 'features'"),
    ('unknown-field', {'v': dict(features=feats(), name='x')}, "w.h5: v: unknown field 'name'"),
    ('bad-id', {'a/b': dict(features=feats())}, "w.h5: 'a/b' is not a valid video id"),
    ('nan', {'v': dict(features=np.full((2, 2), np.nan))}, "w.h5: v: 'features' holds NaN, inf or non-numbers"),
    ('1d', {'v': dict(features=np.zeros(3))}, "w.h5: v: 'features' should be a non-empty (n_steps, dim) array but has shape (3,)"),
    ('dims', {'v': dict(features=feats()), 'w': dict(features=feats(d=3))}, "w.h5: w: 'features' has 3 dimensions but the first video has 4"),
    ('text-type', {'v': dict(features=feats(), title=3)}, "w.h5: v: text field 'title' should be a string"),
    ('text-unknown', {'v': dict(features=feats(), text=dict(name='x'))}, "w.h5: v: unknown text field 'name'"),
    ('not-dict', {'v': feats()}, "w.h5: v: expected a dict"),
    ('empty', {}, "w.h5: no videos to write"),
]

@pytest.mark.parametrize('items,msg', [c[1:] for c in WRITE_CASES], ids=[c[0] for c in WRITE_CASES])
def test_write_errors_leave_nothing(tmp_path, items, msg):
    with pytest.raises(SSPVSError) as e: write_corpus(tmp_path/'w.h5', items)
    assert msg in str(e.value), str(e.value)
    assert list(tmp_path.iterdir()) == []

def test_write_generator_and_duplicates(tmp_path):
    p = write_corpus(tmp_path/'g.h5', ((f'v{i}', dict(features=feats(seed=i))) for i in range(3)))
    assert Corpus(p).keys == ['v0', 'v1', 'v2']
    with pytest.raises(SSPVSError, match='w.h5: v0: the id is given twice'): write_corpus(tmp_path/'w.h5', [('v0', dict(features=feats())), ('v0', dict(features=feats()))])
    with pytest.raises(SSPVSError, match="dtype should be float32 or float16"): write_corpus(tmp_path/'w.h5', {'v': dict(features=feats())}, dtype='int8')

def test_corpus_from_benchmarks(tmp_path):
    write_benchmark(tmp_path/STANDARD['summe'], {f'video_{i}': toy_video(seed=i) for i in (1, 2)},
                    text={'video_1': dict(query='Air_Force_One')})
    write_benchmark(tmp_path/STANDARD['tvsum'], {f'video_{i}': toy_video(seed=10 + i) for i in (1, 2, 3)})
    # without a text dict, the sidecars
    (tmp_path/'out').mkdir()
    c = Corpus(corpus_from_benchmarks(tmp_path, out=tmp_path/'out'/'c.h5'))
    assert c.keys == ['summe_video_1', 'summe_video_2', 'tvsum_video_1', 'tvsum_video_2', 'tvsum_video_3']
    assert c['summe_video_1'].text['query'] == 'Air_Force_One' and c['tvsum_video_2'].text['title'] == ''
    np.testing.assert_array_equal(c['tvsum_video_3'].features, toy_video(seed=13)['features'])
    # a text dict keyed by dataset name, by stem, or by full key
    info = {'tvsum': {'video_1': dict(title='A', category='VT')},
            'eccv16_dataset_summe_google_pool5': {'video_2': dict(query='Bike Polo')},
            'eccv16_dataset_tvsum_google_pool5/video_3': dict(title='C')}
    c = Corpus(corpus_from_benchmarks([tmp_path/STANDARD['summe'], tmp_path/STANDARD['tvsum']], info, tmp_path/'out'/'d.h5'))
    assert c['tvsum_video_1'].text == dict(category='VT', query='', title='A', description='')
    assert c['summe_video_2'].text['query'] == 'Bike Polo' and c['tvsum_video_3'].text['title'] == 'C'
    assert c['summe_video_1'].text['query'] == ''
    with pytest.raises(SSPVSError, match='none of the text keys'): corpus_from_benchmarks(tmp_path/STANDARD['tvsum'], {'ovp': {'video_1': {}}}, tmp_path/'out'/'e.h5')
    with pytest.raises(SSPVSError, match="unknown text field 'name'"): corpus_from_benchmarks(tmp_path/STANDARD['tvsum'], {'tvsum': {'video_1': {'name': 'x'}}}, tmp_path/'out'/'e.h5')
    assert not (tmp_path/'out'/'e.h5').exists()
