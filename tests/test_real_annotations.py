"`sspvs-evaluate` on benchmark files built from the real TVSum and SumMe annotations (random features, uniform 2-second shots)."
import subprocess, json
import numpy as np, pytest
from sspvs.core import data_path, NO_DATA
from sspvs.annotations import read_tvsum, read_summe
from sspvs.keyshots import uniform_shots
from sspvs.annotations import build_benchmark
from sspvs.data import write_benchmark, STANDARD
from sspvs.metrics import write_predictions

def real_file(tmp_path, name, n_videos):
    ann = (read_tvsum if name == 'tvsum' else read_summe)(data_path(name))
    keys = list(ann)[:n_videos]
    rng = np.random.default_rng(0)
    steps = {}
    for k in keys:
        a = ann[k]; picks = np.arange(0, a.n_frames, 15)
        steps[k] = dict(features=rng.normal(size=(len(picks), 4)).astype(np.float32), picks=picks,
                        change_points=uniform_shots(a.n_frames, round(2 * a.fps)))
    videos, text = build_benchmark({k: ann[k] for k in keys}, steps)
    return write_benchmark(tmp_path/STANDARD[name], videos, text), videos

@pytest.mark.skipif(data_path('tvsum') is None or data_path('summe') is None, reason=NO_DATA)
@pytest.mark.parametrize('name,metric', [('tvsum', 'avg'), ('summe', 'max')])
def test_evaluate_real_annotations(tmp_path, name, metric):
    path, videos = real_file(tmp_path, name, 4)
    # the annotators' mean score predicts each annotator far better than noise does
    write_predictions(tmp_path/'gt.h5', {k: v['gtscore'] for k, v in videos.items()})
    write_predictions(tmp_path/'noise.h5', {k: np.random.default_rng(1).random(len(v['picks'])) for k, v in videos.items()})
    res = {}
    for p in ('gt', 'noise'):
        r = subprocess.run(['sspvs-evaluate', path, tmp_path/f'{p}.h5', '--json', tmp_path/f'{p}.json'], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        res[p] = json.loads((tmp_path/f'{p}.json').read_text())
        assert res[p]['metric'] == metric and sorted(res[p]['videos']) == sorted(videos)
    assert res['gt']['mean']['kendall'] > 0.1 > abs(res['noise']['mean']['kendall'])
    assert res['gt']['mean']['f1'] > res['noise']['mean']['f1']

@pytest.mark.skipif(data_path('summe', 'eccv16_shots.json') is None, reason=NO_DATA + ' (needs summe/GT and summe/eccv16_shots.json)')
def test_real_summe_file_without_features(tmp_path):
    "The real SumMe benchmark file but its features: it opens cleanly, serves evaluation and baselines, and refuses training in one line."
    from sspvs.annotations import write_summe_benchmark, read_summe_shots
    from sspvs.data import BenchmarkFile
    from sspvs.metrics import baselines, annotation_baselines
    from sspvs.core import SSPVSError
    path = write_summe_benchmark(data_path('summe'), tmp_path/STANDARD['summe'])
    bf = BenchmarkFile(path)
    assert len(bf) == 25 and bf.uses == ('evaluate',) and bf.anomalies == [] and bf.feat_dim is None
    shots = read_summe_shots(data_path('summe'))
    for r in bf.values(): assert (r.change_points == shots[r.key]['change_points']).all() and r.n_steps == -(-r.n_frames // 15)
    with pytest.raises(SSPVSError, match="'features' is missing; training needs"): bf.require('train')
    write_predictions(tmp_path/'gt.h5', {r.key: r.gtscore for r in bf.values()})
    res = subprocess.run(['sspvs-evaluate', str(path), str(tmp_path/'gt.h5'), '--json', str(tmp_path/'o.json')], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'metric max' in res.stdout and 'knapsack official' in res.stdout
    assert json.loads((tmp_path/'o.json').read_text())['mean']['f1'] > .3
    # the file's random baseline is the annotations' on the KTS shots: the same records, the same draws
    b = baselines(bf, 'max', n_draws=2, knapsack='exact')
    a = next(x for x in annotation_baselines(summe=data_path('summe'), n_draws=2, knapsacks=('exact',)) if x['shots'] == 'KTS (eccv16)')
    assert b['random'] == pytest.approx(a['random'], abs=1e-12) and b['human'] == pytest.approx(a['human'], abs=1e-12)
