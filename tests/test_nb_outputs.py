"""Every committed notebook's outputs: no error output, every figure cell with its figure, no machine path, no
progress-bar residue, no warning on stderr (the checks of tools/refresh_nbs.py, which refreshes the library notebooks:
`python tools/refresh_nbs.py --flags slow`).

A figure cell is a code cell that, outside function and class bodies, calls `plt.<f>`/`sns.<f>` (other than the calls
that configure), a `plot_*` function or method, or a drawing method (`.plot`, `.imshow`, `.scatter`, `.hist`, `.bar`,
`.heatmap`, ...), and does not call `plt.close`; only `#| eval: false` cells are exempt."""
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import refresh_nbs as R

NBS = R.notebooks(ROOT / 'nbs')


@pytest.mark.parametrize('nb', NBS, ids=[p.name for p in NBS])
def test_committed_outputs(nb):
    probs = R.nb_problems(nb)
    assert not probs, f"{nb.name} (refresh it: python tools/refresh_nbs.py --flags slow {nb.relative_to(ROOT)}):\n" + '\n'.join(probs)


def test_library_notebooks_have_outputs():
    "A library notebook with code is committed executed: at least one of its code cells has an output"
    code = {p.name: [c for c in json.loads(p.read_text())['cells'] if c['cell_type'] == 'code'] for p in NBS if R.is_library(p)}
    empty = [n for n, cells in code.items() if cells and not any(c.get('outputs') for c in cells)]
    assert not empty, f'committed without outputs: {empty}'


def test_nbdev_clean_keeps_outputs():
    from nbdev.config import get_config
    assert not get_config(path=ROOT).get('clear_all', False)


def _cell(src, outputs=()):
    return dict(cell_type='code', id='x', metadata={}, source=src, outputs=list(outputs), execution_count=None)

PNG = dict(output_type='display_data', data={'image/png': 'iVBOR', 'text/plain': '<Figure>'}, metadata={})
def _out(text, name='stdout'): return dict(output_type='stream', name=name, text=text)


@pytest.mark.parametrize('src', ['fig, ax = plt.subplots()\nax.imshow(x)', 'plot_summary(sm)', 'sns.heatmap(a)',
                                 'df.plot(x="a")', 'if ok:\n    plt.plot(y)', '!ls\nplt.plot(y)', 'ax.hist(v, bins=9);'])
def test_figure_cells(src):
    assert R.draws(src)
    assert R.cell_problems(_cell(src), set()) == ['a figure cell without its figure']
    assert R.cell_problems(_cell(src, [PNG]), set()) == []
    assert R.cell_problems(_cell('#| slow\n' + src), {'slow'}) == ['a figure cell without its figure']   # flags do not excuse it
    assert R.cell_problems(_cell('#| eval: false\n' + src), set()) == []


@pytest.mark.parametrize('src', ['def plot_x(a):\n    plt.plot(a)', 'sns.set_theme()', 'fig = plot_curves(c); plt.close(fig)',
                                 'opt.step(); bar.update()', '# plt.plot(y)', 'print("plt.plot(y)")', 'from sspvs.report import plot_scores'])
def test_not_figure_cells(src):
    assert not R.draws(src)


@pytest.mark.parametrize('out,what', [
    (dict(output_type='error', ename='ValueError', evalue='bad', traceback=['Traceback']), 'an error output'),
    (_out('Traceback (most recent call last):\n  File "x"\nKeyError: 1\n', 'stderr'), 'an error output'),
    (_out('wrote /tmp/tmpab12/cli/a.mp4\n'), 'a machine path'),
    (_out('data in /work/main/.sspvs_cache/x\n'), 'a machine path'),
    (_out('/root/.cache/sspvs/synthetic: 0.0 s\n'), 'a machine path'),
    (dict(output_type='execute_result', data={'text/plain': "PosixPath('/home/ann/videos')"}, metadata={}), 'a machine path'),
    (_out('  File ".venv/lib/python3.11/site-packages/torch/nn.py"\n', 'stderr'), 'a machine path'),
    (_out('\rfit:   0%|          | 0/12 [00:00<?, ?it/s]\rfit:   8%|8  | 1/12\n', 'stderr'), 'progress-bar residue'),
    (_out('epoch 1: 100%|##########| 5/5 [00:01<00:00,  4.10it/s]\n'), 'progress-bar residue'),
    (_out('<ipython-input-1-89>:10: UserWarning: The given NumPy array is not writable\n', 'stderr'), 'a warning on stderr'),
    (_out('/x.py:3: FutureWarning: soon\n  warnings.warn(\n', 'stderr'), 'a warning on stderr'),
])
def test_noise_is_found(out, what):
    probs = R.cell_problems(_cell('x = 1', [out]), set())
    assert any(p.startswith(what) for p in probs), probs


@pytest.mark.parametrize('text', ['$SSPVS_CACHE/synthetic/v4-seed0-d1024\n', 'wrote cli/scenes_summary.mp4\n', '~/.cache/sspvs\n',
                                  'split 0: 16 train / 4 val / 5 test videos\n', 'F1 44.5 tau 0.174 (50%|of them)\n',
                                  'no/such/folder: not found\n', 'https://github.com/x/y/tree/main/nbs\n'])
def test_clean_outputs_pass(text):
    assert R.cell_problems(_cell('x = 1', [_out(text)]), set()) == []


def test_cell_ids_are_unique():
    "nbformat renames a duplicate cell id when it reads the notebook (and warns): each id once per notebook"
    for p in NBS:
        ids = [c.get('id') for c in json.loads(p.read_text())['cells']]
        assert len(ids) == len(set(ids)), (p.name, sorted({i for i in ids if ids.count(i) > 1}))
