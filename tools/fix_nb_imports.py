#!/usr/bin/env python
"""Split notebook cells that mix imports with other code into an import cell followed by the code cell.

    python tools/fix_nb_imports.py nbs/01_data.ipynb nbs/05_metrics.ipynb     # rewrite in place
    python tools/fix_nb_imports.py --check nbs/*.ipynb                        # list what would change; exit 1 if any

Why: when nbdev documents a notebook (`nbdev_proc_nbs`, `nbdev_docs`, `nbdev_readme`) it executes only the cells it
needs for `show_doc`: exported cells, `show_doc` cells and cells that contain an import. A cell that imports *and*
computes is therefore executed without the cells before it that were not, and fails (`NameError: name 'bf' is not
defined` in 01_data), and nbdev warns "Found cells containing imports and other code" for every such cell.

What it does, per code cell that is not exported (`#| export`, `exports`, `exporti`, `exec_doc` cells are executed
anyway and are left alone, so that `nbdev_export` writes the same modules) and not `#| eval: false`, when the cell
holds an import statement and any other expression or assignment (nbdev's own test, anywhere in the cell):
- every import statement of the cell moves, in order and with its text unchanged, into a new cell just before it:
  those at the top level of the cell, and those nested in `if`/`for`/`while`/`with` blocks; a block that becomes
  empty gets `pass`;
- the new cell carries the cell's leading `#|` directives (`hide`, `slow`, ...) except per-cell labels and captions,
  gets no outputs, and a cell id derived from the original one (deterministic: running the script twice changes
  nothing the second time);
- the code cell keeps its id, its directives and its outputs.
A cell is left unchanged, and named on stderr, when moving its imports could change what it does: an import inside
a `def`, `class`, `lambda` or `try` (an import guarded against failure), or a name that the cell uses before the line
that imports it. Exit status: 0, or 1 with `--check` when something would change, or 2 when a cell had to be left.
"""
from __future__ import annotations
import argparse, ast, hashlib, json, re, sys
from pathlib import Path

_EXPORTS = {'export', 'exports', 'exporti', 'exec_doc'}
_DIR_RE = re.compile(r'^\s*#\s*\|')
_NO_COPY = re.compile(r'^\s*#\s*\|\s*(label|fig-|tbl-|lst-)')


def _src(cell) -> str:
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s


def _split_lines(s: str) -> list[str]:
    "Source as the list of lines a notebook stores (each but the last ends with a newline)"
    return s.splitlines(keepends=True)


def _directives(src: str) -> tuple[list[str], str]:
    "Leading `#|` lines (as written) and the rest of the cell"
    lines, i = _split_lines(src), 0
    while i < len(lines) and _DIR_RE.match(lines[i]): i += 1
    return lines[:i], ''.join(lines[i:])


def _dir_names(dirs: list[str]) -> dict[str, list[str]]:
    out = {}
    for d in dirs:
        s = _DIR_RE.sub('', d).strip()
        if not s: continue
        s = s.replace(':', ' ', 1)
        name, *args = s.split()
        out[name.lower()] = [a.lower() for a in args]
    return out


def _parents(tree):
    par = {}
    for n in ast.walk(tree):
        for c in ast.iter_child_nodes(n): par[c] = n
    return par


class Refused(Exception): pass


def split_source(src: str) -> tuple[str, str] | None:
    """(imports, rest) for a cell source that mixes imports with other code, None when the cell needs no split.
    Raises `Refused` with the reason when moving the imports could change the cell's meaning."""
    dirs, body = _directives(src)
    try: tree = ast.parse(body)
    except SyntaxError: return None   # magics and the like: nbdev does not parse these either
    imps = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    if not imps: return None
    if not any(isinstance(n, (ast.Expr, ast.Assign)) for n in ast.walk(tree)): return None
    par = _parents(tree)
    for n in imps:
        p = par.get(n)
        while p is not None and p is not tree:
            if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Try, ast.TryStar)):
                raise Refused(f'line {n.lineno}: an import inside a {type(p).__name__}')
            p = par.get(p)
    # a name loaded before the line that imports it would see a different object after the move
    bound = {}
    for n in imps:
        for a in n.names:
            nm = (a.asname or a.name).split('.')[0]
            bound.setdefault(nm, n.lineno)
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id in bound and n.lineno < bound[n.id]:
            raise Refused(f"line {n.lineno}: '{n.id}' is used before it is imported on line {bound[n.id]}")
    lines = _split_lines(body)
    if lines and not lines[-1].endswith('\n'): lines[-1] += '\n'
    # cut every import (its exact text span), then drop lines left blank by the cut, then fill emptied blocks
    cut = {}   # line index -> list of (col_start, col_end)
    imp_text = []
    for n in sorted(imps, key=lambda n: (n.lineno, n.col_offset)):
        if n.lineno != n.end_lineno:   # a parenthesised multi-line import: whole lines
            seg = ''.join(lines[n.lineno - 1:n.end_lineno])
            if seg[:n.col_offset].strip() or _split_comment(lines[n.end_lineno - 1][n.end_col_offset:].rstrip('\n'))[0].strip():
                raise Refused(f'line {n.lineno}: a multi-line import shares its lines with other code')
            imp_text.append(seg[n.col_offset:])
            for i in range(n.lineno - 1, n.end_lineno): cut.setdefault(i, []).append((0, None))
        else:
            line = lines[n.lineno - 1]
            after = _split_comment(line[n.end_col_offset:].rstrip('\n'))
            if not line[:n.col_offset].strip() and not after[0].strip():   # alone on its line: take its comment along
                imp_text.append(line[n.col_offset:].rstrip('\n') + '\n')
                cut.setdefault(n.lineno - 1, []).append((0, None))
            else:
                imp_text.append(line[n.col_offset:n.end_col_offset] + '\n')
                cut.setdefault(n.lineno - 1, []).append((n.col_offset, n.end_col_offset))
    new = []
    for i, line in enumerate(lines):
        if i not in cut: new.append(line); continue
        spans = cut[i]
        if any(e is None for _, e in spans): continue
        s, keep, pos = line, [], 0
        for a, b in sorted(spans):
            keep.append(s[pos:a]); pos = b
        keep.append(s[pos:])
        rest = ''.join(keep)
        # tidy the `;` separators the cut left behind: "x = 1; ; y" / "; y" / "x = 1; "
        code, sep, comment = _split_comment(rest.rstrip('\n'))
        indent = re.match(r'\s*', code).group(0)
        parts = [p.strip() for p in code.split(';')]
        parts = [p for p in parts if p]
        if parts: new.append(indent + '; '.join(parts) + (('  ' + comment) if comment else '') + '\n')
        elif comment: new.append(indent + comment + '\n')
    rest = ''.join(new)
    rest = _fill_empty_blocks(rest)
    try: ast.parse(rest)
    except SyntaxError as e: raise Refused(f'the cell would not parse after the split: {e}')
    imports = ''.join(imp_text)
    rest = rest.strip('\n')
    return ''.join(d for d in dirs if not _NO_COPY.match(d)) + imports.rstrip('\n'), ''.join(dirs) + rest


def _split_comment(code: str) -> tuple[str, str, str]:
    "Split a line into code and a trailing `#` comment (outside strings), by tokenizing"
    import io, tokenize
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code + '\n').readline):
            if tok.type == tokenize.COMMENT: return code[:tok.start[1]].rstrip(), '#', code[tok.start[1]:]
    except (tokenize.TokenError, IndentationError): pass
    return code, '', ''


def _fill_empty_blocks(src: str) -> str:
    "Put `pass` into blocks (after a line ending with ':') that lost all their statements"
    for _ in range(50):
        try: ast.parse(src); return src
        except SyntaxError as e:
            if not (e.msg.startswith('expected an indented block') or 'expected an indented block' in e.msg): return src
            lines = src.splitlines(keepends=True)
            i = (e.lineno or 1) - 1
            # the header is the last non-blank line before the error
            j = min(i, len(lines)) - 1
            while j >= 0 and not lines[j].strip(): j -= 1
            if j < 0: return src
            indent = re.match(r'\s*', lines[j]).group(0) + '    '
            lines.insert(j + 1, indent + 'pass\n')
            src = ''.join(lines)
    return src


def _new_id(old: str, taken: set[str]) -> str:
    base, k = f'{old}:imports', 0
    while True:
        h = hashlib.sha1(f'{base}{k}'.encode()).hexdigest()[:8]
        if h not in taken: return h
        k += 1


def _as_source(s: str) -> list[str]:
    return _split_lines(s)


def fix_notebook(path: Path, write: bool = True) -> tuple[int, list[str]]:
    "Split the mixed cells of notebook `path`; return (cells split, messages for cells left alone)"
    text = path.read_text(encoding='utf-8')
    nb = json.loads(text)
    taken = {c.get('id') for c in nb['cells']}
    out, n, refused = [], 0, []
    for c in nb['cells']:
        if c.get('cell_type') != 'code': out.append(c); continue
        src = _src(c)
        dirs = _dir_names(_directives(src)[0])
        if dirs.keys() & _EXPORTS or dirs.get('eval', [''])[0] == 'false':
            out.append(c); continue
        try: r = split_source(src)
        except Refused as e:
            refused.append(f'{path}: cell {c.get("id")}: left unchanged: {e}'); out.append(c); continue
        if r is None: out.append(c); continue
        imports, rest = r
        new = {'cell_type': 'code', 'execution_count': None, 'id': _new_id(c.get('id', str(len(out))), taken),
               'metadata': {}, 'outputs': [], 'source': _as_source(imports)}
        if 'id' not in c: del new['id']
        taken.add(new.get('id'))
        c = dict(c, source=_as_source(rest))
        out += [new, c]; n += 1
    if n and write:
        nb['cells'] = out
        path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return n, refused


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('notebooks', nargs='+', type=Path)
    ap.add_argument('--check', action='store_true', help='change nothing; exit 1 when a cell would be split')
    a = ap.parse_args(argv)
    total, bad = 0, []
    for p in a.notebooks:
        n, refused = fix_notebook(p, write=not a.check)
        total += n; bad += refused
        if n: print(f'{p}: {"would split" if a.check else "split"} {n} cell{"s" * (n != 1)}')
    for m in bad: print(m, file=sys.stderr)
    if bad: return 2
    return 1 if a.check and total else 0


if __name__ == '__main__':
    sys.exit(main())
