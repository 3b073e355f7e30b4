"The experiment notebooks run through papermill with their `parameters` cell: 90_stages with tiny parameters on a small file in the eccv16 layout."
import json, os, sys
from pathlib import Path
import pytest

papermill = pytest.importorskip('papermill', reason='papermill is a dev requirement (settings.ini): pip install papermill')
from sspvs.data import STANDARD
from sspvs.synthetic import make_benchmark

NBS = Path(__file__).resolve().parents[1]/'nbs'
LIMIT = 100   # seconds for any one cell (papermill's execution_timeout: a hung cell fails the test; no other wall-clock check)

def parameters_cell(nb:Path)->dict:
    cells = json.loads(nb.read_text())['cells']
    return next(c for c in cells if 'parameters' in c.get('metadata', {}).get('tags', []))

@pytest.mark.parametrize('name', ['90_stages', '91_ssl_ablation'])
def test_parameters_cell_comes_first(name):
    "Right after the title (and the text introducing it), with every documented parameter."
    cells = json.loads((NBS/f'{name}.ipynb').read_text())['cells']
    i = next(i for i, c in enumerate(cells) if 'parameters' in c.get('metadata', {}).get('tags', []))
    assert all(c['cell_type'] == 'markdown' for c in cells[:i]), 'only the title and its text come before the parameters'
    src = ''.join(cells[i]['source'])
    for p in ('data = None', "preset = 'small'", 'device = None', 'folds = None', 'seeds = None', 'epochs = None'): assert p in src, p

def test_stages_notebook_runs_with_tiny_parameters(tmp_path, monkeypatch):
    "1 fold, 1 seed, 1 epoch, 2 stage counts, on a 10-video TVSum file in the eccv16 layout: it finishes and writes its table."
    data = tmp_path/'eccv16'; data.mkdir()
    make_benchmark(data/STANDARD['tvsum'], 'tvsum', feat_dim=32, n_videos=10)    # the real files' layout and keys, small
    monkeypatch.delenv('SSPVS_DATA', raising=False)      # the kernel inherits the environment: no official split file of 50 videos
    monkeypatch.setenv('SSPVS_CACHE', str(tmp_path/'cache')); monkeypatch.setenv('MPLBACKEND', 'Agg')
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join([str(NBS.parent)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    out = tmp_path/'out.ipynb'
    papermill.execute_notebook(str(NBS/'90_stages.ipynb'), str(out), cwd=str(NBS), kernel_name='python3', progress_bar=False,
                               execution_timeout=LIMIT, parameters=dict(data=str(data), preset='small', device='cpu', folds=[0], seeds=[0],
                                                                        epochs=1, stages=[1, 2]))
    cells = json.loads(out.read_text())['cells']
    assert any('injected-parameters' in c['metadata'].get('tags', []) for c in cells)
    text = lambda c: ''.join(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/markdown', '')) for o in c.get('outputs', []))
    table = next(text(c) for c in cells if '| variant | dataset | setting |' in text(c))
    assert '| 1 stage | tvsum | canonical | validation | 1 |' in table and '| 2 stages | tvsum | canonical | validation | 1 |' in table
    assert any('paper (Li et al., WACV 2023, 4 stages) | 60.3' in text(c) for c in cells)     # real-layout data: the paper's numbers beside
    runs = json.loads(next((tmp_path/'cache'/'experiments'/'90_stages').glob('*/stages2/split0/seed0/result.json')).read_text())
    assert len(runs['history']) == 1 and runs['train']['precision'] == 'fp32'
