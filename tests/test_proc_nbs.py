"tools/proc_nbs.py: nbdev's documentation processing without Quarto, failing on any error or warning"
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = """[DEFAULT]
repo = toy
lib_name = toy
version = 0.0.1
min_python = 3.10
license = apache2
black_formatting = False
doc_path = _docs
lib_path = toy
nbs_path = nbs
recursive = False
branch = main
custom_sidebar = True
doc_host = https://example.com
doc_baseurl = /toy
git_url = https://github.com/example/toy
title = toy
description = a toy nbdev project
user = example
author = example
author_email = example@example.com
copyright = 2026
keywords = toy
language = English
status = 1
audience = Developers
"""


def _nb(*srcs):
    cells = [{'cell_type': 'markdown', 'id': 'm0', 'metadata': {}, 'source': '# toy\n\n> A toy notebook'}]
    cells += [{'cell_type': 'code', 'execution_count': None, 'id': f'c{i}', 'metadata': {}, 'outputs': [], 'source': s}
              for i, s in enumerate(srcs)]
    return json.dumps({'cells': cells, 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python',
                       'name': 'python3'}}, 'nbformat': 4, 'nbformat_minor': 5})


def _run(tmp_path, *nbs):
    (tmp_path / 'settings.ini').write_text(SETTINGS)
    (tmp_path / 'nbs').mkdir(exist_ok=True)
    (tmp_path / 'nbs/sidebar.yml').write_text('website:\n  sidebar:\n    contents: []\n')
    for i, nb in enumerate(nbs): (tmp_path / 'nbs' / f'{i:02d}_x.ipynb').write_text(nb)
    return subprocess.run([sys.executable, str(ROOT / 'tools/proc_nbs.py')], cwd=tmp_path, capture_output=True, text=True)


def test_clean_notebook(tmp_path):
    r = _run(tmp_path, _nb('#| default_exp x', '#| export\ndef f(x): "double"; return 2 * x', 'x = 3\nassert f(x) == 6'))
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'without error or warning' in r.stdout
    out = json.loads((tmp_path / '_proc/00_x.ipynb').read_text())
    assert any('show_doc(f)' in ''.join(c['source']) for c in out['cells'])   # nbdev's own processing ran
    assert not (tmp_path / '_docs').exists() and 'Quarto is not installed' not in r.stdout


def test_mixed_import_cell_is_a_failure(tmp_path):
    "nbdev only warns about a cell that imports and computes; the tool fails on it and names the notebook"
    r = _run(tmp_path, _nb('#| export\ndef g(): "g"', 'import os\nx = os.sep'))   # nbdev runs cells only where it documents
    assert r.returncode == 1
    assert 'WARNING' in r.stdout and 'Found cells containing imports and other code' in r.stdout and '00_x.ipynb' in r.stdout


def test_error_in_an_executed_cell_is_a_failure(tmp_path):
    "the NameError nbdev met in 01_data: an import cell using a name from a cell that documentation does not run"
    good = _nb('#| export\ndef g(): "g"', 'x = 1')
    bad = _nb('#| export\ndef g(): "g"', 'y = 2', 'import os\nprint(os.sep + str(y))')
    r = _run(tmp_path, good, bad)
    assert r.returncode == 1
    assert 'ERROR' in r.stdout and "name 'y' is not defined" in r.stdout and '01_x.ipynb' in r.stdout
    assert 'ok       ' in r.stdout   # the good one still processed, and every problem is listed
