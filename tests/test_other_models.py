"Any model under the honest protocol: `run_benchmark(..., model_fn=...)` trains and evaluates a non-SSPVS scorer as it does SSPVS."
import json
import pytest, torch
from torch import nn

from sspvs.core import SSPVSError, save_json
from sspvs.data import STANDARD
from sspvs.synthetic import make_benchmark
import sspvs.benchmark as B

class GRUScorer(nn.Module):
    "Not SSPVS: a one-layer GRU and a linear head."
    def __init__(self, d): super().__init__(); self.rnn, self.head = nn.GRU(d, 8, batch_first=True), nn.Linear(8, 1)
    def forward(self, x, mask): return torch.sigmoid(self.head(self.rnn(x)[0])).squeeze(-1)

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp('other')
    make_benchmark(d/STANDARD['tvsum'], 'tvsum', feat_dim=16, n_videos=10)
    keys = [f'video_{i}' for i in range(1, 11)]
    save_json([{'train_keys': [k for k in keys if k not in keys[2*i:2*i+2]], 'test_keys': keys[2*i:2*i+2]} for i in range(5)], d/'tvsum_splits.json')
    return d

CFG = B.small_config(epochs=2, max_len=64, n_draws=3)

def test_model_fn_runs_another_model(data, tmp_path):
    res = B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', CFG, tmp_path/'gru', folds=[0, 1], splits=data, progress=False, figures=False, log=None, model_fn=GRUScorer)
    variants = [r['variant'] for r in res['rows']]
    assert variants[:3] == ['GRUScorer'] * 3 and variants[3:] == ['linear probe', 'random', 'human (leave-one-out)'], variants
    assert all(r['runs'] == 2 for r in res['rows'][:4])
    run = res['runs'][0]
    assert run['model']['model'] == 'GRUScorer' and 'GRU(16, 8' in run['model']['arch'] and len(run['history']) == 2
    saved = json.loads((tmp_path/'gru'/'results.json').read_text())
    assert saved['model']['model'] == 'GRUScorer' and [r['variant'] for r in saved['rows']] == variants
    assert json.loads((tmp_path/'gru'/'run.json').read_text())['model']['params'] == sum(p.numel() for p in GRUScorer(16).parameters())
    assert (tmp_path/'gru'/'results.md').read_text().startswith('# tvsum canonical: GRUScorer')
    again = B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', CFG, tmp_path/'gru', folds=[0, 1], splits=data, progress=False, figures=False, log=None, model_fn=GRUScorer)
    assert again['rows'] == res['rows']   # finished runs are read back

def test_another_model_never_resumes_sspvs_runs(data, tmp_path):
    B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', dict(CFG, d_model=16, d_ff=32, n_layers=1, n_heads=2, epochs=1), tmp_path/'o',
                    folds=[0], splits=data, progress=False, figures=False, log=None)
    with pytest.raises(SSPVSError, match="this folder holds another run \\(model=None"):
        B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', dict(CFG, d_model=16, d_ff=32, n_layers=1, n_heads=2, epochs=1), tmp_path/'o',
                        folds=[0], splits=data, progress=False, figures=False, log=None, model_fn=GRUScorer)
    with pytest.raises(SSPVSError, match="holds a run of plain, not of GRUScorer"):   # run_split alone, on the same folder
        files, cfg, sp, _, _ = B.check_run_inputs(data/STANDARD['tvsum'], 'tvsum', 'canonical', dict(CFG, epochs=1), (0,), [0], data, None, None)
        B.run_split(files, sp[0], 0, cfg, tmp_path/'o', 'tvsum', 'canonical', progress=False, model_fn=GRUScorer)

class NoSqueeze(nn.Module):
    "Returns (B, T, 1), not (B, T)."
    def __init__(self, d): super().__init__(); self.f = nn.Linear(d, 1)
    def forward(self, x, mask): return self.f(x)

def test_bad_model_fn_is_one_line_before_anything_is_created(data, tmp_path):
    for fn, msg in ((NoSqueeze, 'NoSqueeze: returned (2, 5, 1) for features of shape (2, 5, 16): a scorer returns one score per step, shape (2, 5)'), (lambda d: 3, 'must return a torch.nn.Module'), (lambda d: nn.Linear(d, 1), 'Linear: fails on features (2, 5, 16) with a mask (2, 5): TypeError')):
        with pytest.raises(SSPVSError, match=msg.replace('(', '\\(').replace(')', '\\)')):
            B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', CFG, tmp_path/'bad', folds=[0], splits=data, progress=False, log=None, model_fn=fn)
        assert not (tmp_path/'bad').exists()
    with pytest.raises(SSPVSError, match="cannot start from an sspvs-pretrain checkpoint or read text"):
        B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', CFG, tmp_path/'bad', folds=[0], splits=data, text=True, log=None, model_fn=GRUScorer)

class WiderGRU(GRUScorer):
    def __init__(self, d): super().__init__(d); self.rnn, self.head = nn.GRU(d, 12, batch_first=True), nn.Linear(12, 1)

def test_two_other_models_never_share_a_folder(data, tmp_path):
    B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', dict(CFG, epochs=1), tmp_path/'o', folds=[0], splits=data, progress=False, figures=False, log=None, model_fn=GRUScorer)
    with pytest.raises(SSPVSError, match="this folder holds another run \\(model.arch="):   # same class name, other layers
        B.run_benchmark(data/STANDARD['tvsum'], 'tvsum', 'canonical', dict(CFG, epochs=1), tmp_path/'o', folds=[0], splits=data, progress=False, figures=False, log=None,
                        model_fn=lambda d: type('GRUScorer', (WiderGRU,), {})(d))
