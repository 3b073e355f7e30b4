"tools/fix_nb_imports.py: cells mixing imports with code split into an import cell and a code cell"
import ast, json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
from fix_nb_imports import split_source, fix_notebook, Refused  # noqa: E402


def test_top_level_imports_move_in_order():
    imp, rest = split_source("import matplotlib.pyplot as plt\nx = 1\nfrom pathlib import Path  # paths\nplt.plot([x])")
    assert imp == "import matplotlib.pyplot as plt\nfrom pathlib import Path  # paths"
    assert rest == "x = 1\nplt.plot([x])"


def test_directives_on_both_cells_but_labels_only_on_the_code():
    imp, rest = split_source("#| hide\n#| label: fig-a\nimport os\nprint(os.sep)")
    assert imp == "#| hide\nimport os"
    assert rest == "#| hide\n#| label: fig-a\nprint(os.sep)"


def test_nested_import_and_emptied_block():
    src = "if flag:\n    from a import b as _b\n    y = _b(1)\nif other:\n    import c\nz = 2"
    imp, rest = split_source(src)
    assert imp == "from a import b as _b\nimport c"
    assert rest == "if flag:\n    y = _b(1)\nif other:\n    pass\nz = 2"
    ast.parse(rest)


def test_semicolons():
    imp, rest = split_source("import time; t0 = time.time(); import os\nprint(t0)")
    assert imp == "import time\nimport os"
    assert rest == "t0 = time.time()\nprint(t0)"


def test_multiline_import():
    imp, rest = split_source("from os.path import (join,\n    basename)\nprint(join('a', 'b'))")
    assert imp == "from os.path import (join,\n    basename)"
    assert rest == "print(join('a', 'b'))"


def test_no_split_needed():
    assert split_source("import os\nfrom pathlib import Path") is None   # imports only
    assert split_source("x = 1\nprint(x)") is None                       # no import
    assert split_source("%timeit 1+1") is None                           # not Python: left to nbdev


@pytest.mark.parametrize('src,why', [
    ("def f():\n    import os\n    return os.sep\nf()", 'FunctionDef'),
    ("try:\n    import missing_mod\nexcept ImportError: missing_mod = None\nx = 1", 'Try'),
    ("print(np)\nimport numpy as np\nnp.zeros(1)", "'np' is used before"),
])
def test_refuses_what_could_change_meaning(src, why):
    with pytest.raises(Refused, match=why): split_source(src)


def _nb(cells):
    return {'cells': [{'cell_type': t, 'execution_count': None, 'id': f'c{i}', 'metadata': {}, 'outputs': o,
                       'source': s.splitlines(keepends=True)} if t == 'code' else
                      {'cell_type': t, 'id': f'c{i}', 'metadata': {}, 'source': s} for i, (t, s, o) in enumerate(cells)],
            'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}


def test_notebook_rewrite_is_deterministic_and_leaves_exports(tmp_path):
    out = [{'name': 'stdout', 'output_type': 'stream', 'text': ['3\n']}]
    cells = [('markdown', '# t', None),
             ('code', '#| export\nimport os\nSEP = os.sep', []),            # exported: nbdev executes it anyway
             ('code', '#| eval: false\nimport os\nx = 1', []),             # never executed
             ('code', 'import os\nprint(len(os.sep) + 2)', out),
             ('code', 'def f():\n    import os\n    return 1\nf()', [])]   # refused
    p = tmp_path / 'a.ipynb'
    p.write_text(json.dumps(_nb(cells)))
    n, refused = fix_notebook(p)
    assert n == 1 and len(refused) == 1 and 'c4' in refused[0]
    nb = json.loads(p.read_text())
    srcs = [''.join(c['source']) for c in nb['cells']]
    assert srcs[1] == '#| export\nimport os\nSEP = os.sep' and srcs[2].startswith('#| eval: false')
    assert srcs[3:5] == ['import os', 'print(len(os.sep) + 2)']
    assert nb['cells'][3]['outputs'] == [] and nb['cells'][4]['outputs'] == out and nb['cells'][4]['id'] == 'c3'
    new_id = nb['cells'][3]['id']
    assert len(new_id) == 8 and new_id not in {f'c{i}' for i in range(5)}
    first = p.read_text()
    assert fix_notebook(p) == (0, refused)        # nothing left to split
    assert p.read_text() == first
    # the same input gives the same ids
    q = tmp_path / 'b.ipynb'
    q.write_text(json.dumps(_nb(cells)))
    fix_notebook(q)
    assert q.read_text() == first


def test_cli_check(tmp_path):
    p = tmp_path / 'a.ipynb'
    p.write_text(json.dumps(_nb([('code', 'import os\nx = os.sep', [])])))
    before = p.read_text()
    r = subprocess.run([sys.executable, str(ROOT / 'tools/fix_nb_imports.py'), '--check', str(p)], capture_output=True, text=True)
    assert r.returncode == 1 and 'would split 1 cell' in r.stdout and p.read_text() == before
    r = subprocess.run([sys.executable, str(ROOT / 'tools/fix_nb_imports.py'), str(p)], capture_output=True, text=True)
    assert r.returncode == 0 and p.read_text() != before
    r = subprocess.run([sys.executable, str(ROOT / 'tools/fix_nb_imports.py'), '--check', str(p)], capture_output=True, text=True)
    assert r.returncode == 0
