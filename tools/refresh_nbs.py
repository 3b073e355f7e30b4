#!/usr/bin/env python
"""Re-execute the library notebooks in place and refresh their committed outputs; check every notebook's outputs.

    python tools/refresh_nbs.py --flags slow             # THE command: every library notebook (index and 00-89), its
                                                         # `#| slow` cells included, one after another (18 min on 2 cores)
    python tools/refresh_nbs.py nbs/02_keyshots.ipynb    # only these (test-flagged cells skipped, outputs kept)
    python tools/refresh_nbs.py --check                  # run nothing: list the noise in every committed notebook

Each notebook runs the way `nbdev_test` runs it, in its own process: nbdev's engine (execnb's `CaptureShell`, inline
matplotlib figures), the notebook's folder as the working directory, `IN_TEST=1`. Cells that `nbdev_test` skips are
skipped here too and keep their committed outputs: cells flagged with a test flag of settings.ini (`tst_flags`, e.g.
`#| slow`; `--flags slow` runs them, as `nbdev_test --flags slow` does), cells with `#| eval: false`, and
`nbdev_export()` calls. Every other code cell gets exactly the outputs it
produces now (a cell that prints nothing any more loses its old output). Before the first cell, Python's, NumPy's and
PyTorch's random generators are seeded with 0 (`PYTHONHASHSEED=0`, one OpenMP thread unless `OMP_NUM_THREADS` is set),
so a notebook that seeds nothing itself still gives the same outputs on every run. A notebook is written back only when
all its cells ran without an exception; then `nbdev_clean` normalises it (settings.ini `clear_all = False`: outputs kept).

The experiment notebooks (90 and above) are not re-executed: their real runs take hours. `--check` (and, after a run,
the refreshed notebooks) are checked for what `tests/test_nb_outputs.py` rejects in any committed notebook: an error
output, a figure cell without its figure, a machine path, progress-bar residue, a warning on stderr. Exit status 0 only
when every notebook ran and every checked notebook is clean.
"""
from __future__ import annotations
import argparse, ast, json, os, re, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT_FIRST = 90   # notebooks numbered from here on are experiments, executed by hand (papermill), never here


# ------------------------------------------------------------------------------------------------ which notebooks
def _number(p: Path) -> int | None:
    m = re.match(r'(\d+)_', p.name)
    return int(m.group(1)) if m else None


def is_library(p: Path) -> bool:
    "A library notebook: `index.ipynb` and every notebook numbered below 90 (the experiments)"
    n = _number(Path(p))
    return n is None or n < EXPERIMENT_FIRST


def notebooks(nbs: Path | None = None) -> list[Path]:
    "Every notebook of the project, in name order"
    return sorted(Path(nbs or ROOT / 'nbs').glob('*.ipynb'))


# ------------------------------------------------------------------------------------------------ which cells run
_DIRECTIVE = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')


def directives(src: str) -> dict:
    "The `#|` directives at the top of a cell's source, {name: value} (names lowercase; flags map to '')"
    out = {}
    for line in src.splitlines():
        if not line.strip(): continue
        m = _DIRECTIVE.match(line)
        if not m: break
        out[m.group(1).lower()] = m.group(2).strip()
    return out


def test_flags() -> set[str]:
    "The test flags of settings.ini (`tst_flags`): cells flagged with them are skipped by nbdev_test and here"
    from nbdev.config import get_config
    return set(str(get_config(path=ROOT).get('tst_flags', '') or '').split())


def skipped(src: str, flags: set[str], run_flags: set[str] = frozenset()) -> bool:
    "Whether nbdev_test (and this tool) leaves a code cell with source `src` unexecuted, unless `run_flags` name its flags"
    if 'nbdev_export' + '(' in src: return True
    d = directives(src)
    return d.get('eval', '').lower() == 'false' or bool((set(flags) - set(run_flags)) & d.keys())


# ------------------------------------------------------------------------------------------------ the checks
# a path on the machine that ran the notebook: home, work, temporary and installation folders (POSIX, macOS, Windows)
MACHINE_PATH = re.compile(r'(?<![\w.$~])(?:/(?:work|root|home|Users|tmp|mnt|opt|srv|private/var|var/folders|var/tmp|__w)/'
                          r'|/usr/(?:local/)?lib/)|(?:site|dist)-packages/|\b[A-Za-z]:\\(?:Users|Windows)\\')
# what tqdm (or any progress bar) leaves in a captured stream: carriage returns, ANSI escapes, its meters
PROGRESS = re.compile(r'\r(?!\n)|\x1b\[|\d+%\|[^|\n]*\||\|\s*\d+/\d+\s*\[\d+:\d+|[0-9?.]+\s*(?:it|s)/(?:s|it)\]')
WARNING = re.compile(r'\b\w*Warning\b|\bwarnings\.warn\b|^WARNING\b|<ipython-input-', re.M)
# matplotlib / seaborn calls that configure rather than draw
_NOT_DRAWING = {'close', 'rc', 'rcdefaults', 'ioff', 'ion', 'switch_backend', 'get_cmap', 'isinteractive', 'interactive',
                'color_palette', 'set', 'set_theme', 'set_style', 'set_context', 'set_palette'}
# method names that draw on whatever axes or frame they are called on
_DRAWING_METHODS = {'plot', 'imshow', 'scatter', 'hist', 'bar', 'barh', 'fill_between', 'pcolormesh', 'matshow',
                    'heatmap', 'errorbar', 'boxplot', 'violinplot', 'stairs'}
IMAGE_TYPES = ('image/png', 'image/jpeg', 'image/svg+xml')


def _texts(o: dict):
    "Every text an output holds (stream text, text data of any MIME type, an error's traceback)"
    if 'text' in o: yield ''.join(o['text']) if isinstance(o['text'], list) else str(o['text'])
    for k, v in o.get('data', {}).items():
        if k in IMAGE_TYPES[:2]: continue
        yield ''.join(v) if isinstance(v, list) else (v if isinstance(v, str) else json.dumps(v))
    if o.get('output_type') == 'error': yield '\n'.join(o.get('traceback', [])) + f"\n{o.get('ename')}: {o.get('evalue')}"


def _python(src: str) -> ast.Module | None:
    "The cell's source as Python (IPython magics and shell escapes translated), or None where it does not parse"
    from IPython.core.inputtransformer2 import TransformerManager
    try: return ast.parse(TransformerManager().transform_cell(src))
    except SyntaxError: return None


def draws(src: str) -> bool:
    """Whether a code cell draws a figure it shows: outside function and class bodies, it calls `plt.<f>` or `sns.<f>`
    (except the calls that configure: `sns.set_theme`, ...), a `plot_*` function or method, or a drawing method (`.plot`,
    `.imshow`, `.scatter`, `.hist`, `.bar`, `.heatmap`, ...); and it does not call `plt.close` (a cell that closes its
    figures checks a plotting function without showing what it draws)"""
    tree = _python(src)
    if tree is None: return False
    found = []
    class V(ast.NodeVisitor):
        def visit_FunctionDef(self, n): pass
        visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef
        def visit_Call(self, n):
            f = n.func
            if isinstance(f, ast.Attribute):
                if isinstance(f.value, ast.Name) and f.value.id in ('plt', 'sns') and f.attr not in _NOT_DRAWING: found.append(n)
                elif f.attr in _DRAWING_METHODS or f.attr.startswith('plot_'): found.append(n)
            elif isinstance(f, ast.Name) and f.id.startswith('plot_'): found.append(n)
            self.generic_visit(n)
    V().visit(tree)
    closes = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == 'close'
                 and isinstance(n.func.value, ast.Name) and n.func.value.id == 'plt' for n in ast.walk(tree))
    return bool(found) and not closes


def cell_problems(cell: dict, flags: set[str]) -> list[str]:
    "What is wrong with one committed code cell's outputs (an empty list when nothing is)"
    if cell.get('cell_type') != 'code': return []
    src = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
    outs, bad = cell.get('outputs', []), []
    for o in outs:
        texts = list(_texts(o))
        if o.get('output_type') == 'error' or any('Traceback (most recent call last)' in t for t in texts):
            bad.append(f"an error output ({o.get('ename', 'traceback')}: {str(o.get('evalue', ''))[:80]})")
        for t in texts:
            if m := MACHINE_PATH.search(t):
                bad.append(f"a machine path: ...{t[max(0, m.start() - 30):m.end() + 40]!r}..."); break
        for t in texts:
            if m := PROGRESS.search(t):
                bad.append(f"progress-bar residue: {t[max(0, m.start() - 20):m.end() + 20]!r}"); break
        if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
            t = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
            if m := WARNING.search(t): bad.append(f"a warning on stderr: {t[max(0, m.start() - 40):m.end() + 80]!r}")
    if draws(src) and not skipped(src, set()) and not any(k in o.get('data', {}) for o in outs for k in IMAGE_TYPES):
        bad.append('a figure cell without its figure')
    return bad


def nb_problems(path: Path, flags: set[str] | None = None) -> list[str]:
    "Every problem of a committed notebook's outputs, as 'cell N (id): problem' lines"
    flags = test_flags() if flags is None else flags
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    return [f"cell {i} ({c.get('id', '?')}): {p}" for i, c in enumerate(nb['cells']) for p in cell_problems(c, flags)]


# ------------------------------------------------------------------------------------------------ executing
_SEED = ("import random as _r, numpy as _np\n_r.seed(0); _np.random.seed(0)\n"
         "try:\n    import torch as _t; _t.manual_seed(0)\nexcept ImportError: pass\ndel _r, _np")


def _execute(path: Path, run_flags: set[str]) -> int:
    "Worker (its own process): execute the notebook at `path` as nbdev_test does and write the outputs back"
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    os.environ['IN_TEST'] = '1'
    flags = test_flags()
    nb = read_nb(path)
    shell = CaptureShell(path)
    shell.run(_SEED)

    def pre(cell):
        if cell.cell_type != 'code' or skipped(cell.source, flags, run_flags): return True
        cell.outputs = []   # a cell that prints nothing any more loses its old output
        return False
    try:
        with working_directory(path.parent): shell.run_all(nb, exc_stop=True, preproc=pre)
    except BaseException:
        sys.stderr.write(shell.prettytb(fname=path) + '\n')
        return 2
    write_nb(nb, path)
    return 0


def refresh(paths: list[Path], run_flags: set[str] = frozenset()) -> list[tuple[Path, str]]:
    "Execute each notebook in its own process and clean it; returns the failures as (notebook, why)"
    failed = []
    env = {**os.environ, 'PYTHONHASHSEED': '0', 'MPLBACKEND': 'Agg'}
    env.setdefault('OMP_NUM_THREADS', '1')
    for p in paths:
        t = time.time()
        r = subprocess.run([sys.executable, __file__, '--one', str(p), '--flags', ' '.join(run_flags)], env=env, cwd=p.parent, capture_output=True, text=True)
        if r.returncode == 0:
            c = subprocess.run(['nbdev_clean', '--fname', str(p)], cwd=ROOT, capture_output=True, text=True)
            if c.returncode: failed.append((p, f'nbdev_clean failed: {c.stderr[-2000:]}'))
        else: failed.append((p, r.stderr[-4000:] or r.stdout[-4000:]))
        print(f"{'ok' if r.returncode == 0 else 'FAILED':7s} {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p} "
              f"({time.time() - t:.0f} s)", flush=True)
    return failed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split('\n\n', 1)[1])
    ap.add_argument('notebooks', nargs='*', type=Path, help='notebooks to refresh (default: every library notebook)')
    ap.add_argument('--flags', default='', help="also run the cells flagged with these test flags (space separated, as nbdev_test's --flags)")
    ap.add_argument('--check', action='store_true', help='execute nothing; check the committed outputs of every notebook')
    ap.add_argument('--one', type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one: return _execute(a.one.resolve(), set(a.flags.split()))
    paths = [p.resolve() for p in a.notebooks] or [p for p in notebooks() if is_library(p)]
    if (bad := [p for p in paths if not p.exists() or p.suffix != '.ipynb']): ap.error(f'not notebooks: {bad}')
    if (exp := [p for p in paths if not is_library(p)]) and not a.check:
        ap.error(f'experiment notebooks are not re-executed here (their runs take hours): {", ".join(p.name for p in exp)}')
    failed, t0 = [], time.time()
    if not a.check:
        failed = refresh(paths, set(a.flags.split()))
        for p, why in failed: print(f'\n{p.name} failed:\n{why}', flush=True)
    flags = test_flags()
    noisy = {p: nb_problems(p, flags) for p in (paths if a.notebooks or not a.check else notebooks())}
    for p, probs in noisy.items():
        for pr in probs: print(f'{p.name}: {pr}')
    n_noisy = sum(bool(v) for v in noisy.values())
    print(f"\n{'checked' if a.check else 'refreshed'} {len(paths) if not a.check else len(noisy)} notebooks in {time.time() - t0:.0f} s; "
          f"{len(failed)} failed to run; {n_noisy} with problems in their outputs", flush=True)
    return 1 if failed or n_noisy else 0


if __name__ == '__main__':
    sys.exit(main())
