#!/usr/bin/env python
"""Run nbdev's documentation processing (what `nbdev_proc_nbs` does) without trying to install Quarto,
and fail on any error or warning.

    python tools/proc_nbs.py                 # every notebook in nbs/, results in _proc/
    python tools/proc_nbs.py nbs/01_data.ipynb nbs/05_metrics.ipynb
    python tools/proc_nbs.py --dest /tmp/proc    # somewhere else than _proc/

`nbdev_proc_nbs` first calls nbdev's `_ensure_quarto`, which downloads and installs Quarto when it is absent (this
fails on machines without internet), then refreshes `nbs/nbdev.yml`, rebuilds `sspvs/_modidx.py`, writes the sidebar
(unless `custom_sidebar = True`) and runs the notebook processors (`nbdev.processors.FilterDefaults`) on every notebook,
which execute the import, export and `show_doc` cells. This script does the same steps minus the Quarto install.

Each notebook is processed in its own subprocess (the way nbdev's own spawn workers do it), one at a time, so that
a warning can be attributed to its notebook: nbdev only *warns* about cells that mix imports with other code (see
`tools/fix_nb_imports.py`), and an error in an executed cell stops that notebook. Exit status 0 only when every
notebook processed without an exception and without a warning; every problem is listed, not only the first.
"""
from __future__ import annotations
import argparse, os, subprocess, sys, time, warnings
from pathlib import Path

_MARK = '@@PROC_NBS_WARNING@@ '


def _one(src: Path, dst: Path) -> int:
    "Worker: process notebook `src` into `dst` with nbdev's processors; report warnings and errors; return exit code"
    import nbdev.serve_drv
    from nbdev.processors import FilterDefaults
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try: nbdev.serve_drv.main((src, dst, FilterDefaults))
        except BaseException as e:
            cause = f'\n  caused by {type(e.__cause__).__name__}: {e.__cause__}' if e.__cause__ else ''
            print(f'ERROR {src}: {type(e).__name__}: {e}{cause}', file=sys.stderr, flush=True)
            return 2
    bad = [w for w in ws if _counts(w)]
    for w in bad:
        msg = str(w.message).strip().replace('\n', '\n    ')
        print(f'{_MARK}{src}: {w.category.__name__} ({Path(w.filename).name}:{w.lineno}): {msg}', file=sys.stderr, flush=True)
    return 1 if bad else 0


def _counts(w) -> bool:
    "Which warnings fail the run: all of them, except deprecation notices raised inside third-party packages"
    if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
        return 'site-packages' not in str(w.filename) or '/nbdev/' in str(w.filename)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', help='notebooks to process (default: every one in nbs_path)')
    ap.add_argument('--dest', type=Path, default=None, help='where the processed notebooks go (default: _proc/, as nbdev)')
    ap.add_argument('--one', nargs=2, metavar=('SRC', 'DST'), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one: return _one(Path(a.one[0]), Path(a.one[1]))

    from nbdev.config import get_config
    from nbdev.doclinks import nbglob, _build_modidx
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import _proc_file
    cfg = get_config()
    want = {Path(n).resolve() for n in a.notebooks}
    dest = a.dest.resolve() if a.dest else None
    os.chdir(cfg.config_path)
    path = Path(cfg.nbs_path)
    # the steps of nbdev.quarto._pre_docs, minus _ensure_quarto
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__(path=path)
    cache = dest or cfg.config_path / '_proc'
    cache.mkdir(parents=True, exist_ok=True)
    files = [Path(f) for f in nbglob(path, func=Path, file_glob='', file_re='')]
    for extra in ('_quarto.yml', '_brand.yml'):
        if (path / extra).exists(): files.append(path / extra)
    if want:
        missing = want - {f.resolve() for f in files}
        if missing: ap.error(f'not notebooks of {path}: {", ".join(map(str, sorted(missing)))}')
        files = [f for f in files if f.resolve() in want or f.suffix != '.ipynb']
    problems, n = [], 0
    for f in sorted(files):
        # always rebuild (nbdev's mtime cache would skip a notebook, and with it its warnings)
        d = cache / f.relative_to(path)
        if d.exists() and d.is_file(): d.unlink()
        job = _proc_file(f, cache=cache, path=path)
        if job is None: continue   # a plain file, copied into _proc
        src, dst, _ = job
        n += 1
        t = time.time()
        r = subprocess.run([sys.executable, __file__, '--one', str(src), str(dst)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, 'MPLBACKEND': os.environ.get('MPLBACKEND', 'Agg')})
        lines = [l for l in r.stderr.splitlines() if l.startswith((_MARK, 'ERROR ', '    ', '  caused'))]
        status = 'ok' if r.returncode == 0 else ('warning' if r.returncode == 1 else 'ERROR')
        print(f'{status:8s} {src} ({time.time() - t:.1f} s)', flush=True)
        if r.returncode:
            detail = '\n'.join(l.replace(_MARK, 'WARNING ') for l in lines) or r.stderr[-3000:]
            print(detail, flush=True)
            problems.append((src, status))
    if cache.exists(): cache.touch()
    if problems:
        print(f'\n{len(problems)} of {n} notebooks failed documentation processing: '
              + ', '.join(f'{Path(s).name} ({st})' for s, st in problems), flush=True)
        return 1
    print(f'\nall {n} notebooks processed without error or warning into {cache}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
