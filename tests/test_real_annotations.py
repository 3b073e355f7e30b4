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
