#!/usr/bin/env python
"""Build an offline HTML site of the documentation from the nbdev-processed notebooks, without Quarto.

    python tools/build_site.py                     # process the notebooks (tools/proc_nbs.py) and build _docs/
    python tools/build_site.py --proc _proc        # reuse notebooks already processed into _proc/
    python tools/build_site.py --out /tmp/site     # somewhere else

One page per notebook (`nbs/index.ipynb` is the home page, `index.html`), each with the navigation sidebar of
`nbs/sidebar.yml` (the chapters in reading order), the page title and description of the notebook's front matter,
the API documentation nbdev generates (`show_doc`), and the committed outputs, figures included as data URIs.
Everything a page needs is inside the page: CSS inlined, maths converted to MathML (latex2mathml) at build time,
no JavaScript, so the site reads offline from `file://` and loads nothing from the internet. Pages are rendered with
nbconvert's `lab` template; the hidden cells and the `#|` directives nbdev and Quarto honour are applied
(`hide` by nbdev's processing; `echo: false`, `output: false`, `include: false` here).
"""
from __future__ import annotations
import argparse, html, json, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_DIR_RE = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
WIDGET = 'application/vnd.jupyter.widget-view+json'

PAGE_CSS = """
body.jp-Notebook { margin: 0; padding: 0; display: block; overflow: visible; }
nav.site-nav { position: fixed; top: 0; left: 0; bottom: 0; width: 250px; overflow-y: auto; box-sizing: border-box;
  padding: 1.2rem 1rem; background: #f7f7f9; border-right: 1px solid #e3e3e8; font-family: var(--jp-ui-font-family);
  font-size: 14px; }
nav.site-nav .site-title { display: block; font-size: 20px; font-weight: 600; margin-bottom: 1rem; color: #222;
  text-decoration: none; }
nav.site-nav .section { margin: 1rem 0 .3rem; font-weight: 600; color: #555; text-transform: uppercase;
  font-size: 12px; letter-spacing: .04em; }
nav.site-nav ul { list-style: none; margin: 0; padding: 0; }
nav.site-nav li a { display: block; padding: .18rem .5rem; color: #2a5db0; text-decoration: none; border-radius: 4px; }
nav.site-nav li a:hover { background: #e8ecf5; }
nav.site-nav li a.current { background: #2a5db0; color: white; }
main.site-main { margin-left: 250px; padding: 1.5rem 2.5rem 4rem; max-width: 1100px; box-sizing: border-box; }
header.page-header h1.title { font-family: var(--jp-content-font-family); font-size: 2.2rem; margin: .2rem 0 .5rem; }
header.page-header div.description { padding-left: 2px; font-style: italic; font-size: 120%; opacity: 75%;
  margin-bottom: 1.5rem; font-family: var(--jp-content-font-family); }
.jp-RenderedHTMLCommon table { font-size: 13px; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
math[display="block"] { margin: .8em 0; font-size: 115%; }
.jp-RenderedMarkdown pre, .jp-RenderedHTMLCommon pre { margin: .6em 0 1em; padding: .6em .8em; background: #f5f5f7;
  border-radius: 4px; overflow-x: auto; }
.jp-InputArea-editor { overflow-x: auto; }
.jp-InputArea-editor .highlight pre { overflow: visible; }
.jp-RenderedHTMLCommon hr { margin: 1.5em 0 .5em; }
.source-link { float: right; font-size: smaller; }
.widget-note { font-style: italic; color: #666; }
footer.site-footer { margin-top: 3rem; font-size: 12px; color: #888; }
@media (max-width: 800px) { nav.site-nav { position: static; width: auto; border-right: none; }
  main.site-main { margin-left: 0; padding: 1rem; } }
"""

TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">{{ resources.site.css }}</style>
{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.site.nav }}
<main class="site-main">
<header class="page-header"><h1 class="title">{{ resources.site.title | e }}</h1>
{%- if resources.site.description %}<div class="description">{{ resources.site.description }}</div>{% endif %}</header>
{%- endblock body_header -%}
{%- block body_footer -%}
<footer class="site-footer">Built from <code>nbs/{{ resources.site.source | e }}</code> by <code>tools/build_site.py</code>.</footer>
</main>
</body>
{%- endblock body_footer -%}
"""


# ---------------------------------------------------------------------------------------------------------- sidebar
def read_sidebar(nbs: Path) -> list:
    "The sidebar of `nbs/sidebar.yml` as a list of notebook names and (section, [names]) pairs"
    import yaml
    d = yaml.safe_load((nbs / 'sidebar.yml').read_text())
    def walk(items):
        out = []
        for it in items:
            if isinstance(it, str): out.append(it)
            elif isinstance(it, dict) and 'section' in it: out.append((it['section'], walk(it.get('contents', []))))
            elif isinstance(it, dict) and 'href' in it: out.append(it['href'])
            else: raise ValueError(f'sidebar.yml: entry not understood: {it!r}')
        return out
    return walk(d['website']['sidebar']['contents'])


def _flat(items) -> list[str]:
    out = []
    for it in items:
        if isinstance(it, str): out.append(it)
        else: out += _flat(it[1])
    return out


def nav_html(items, titles: dict, pname: dict, current: str, site_title: str) -> str:
    def ul(its):
        s = ['<ul>']
        for it in its:
            if isinstance(it, str):
                cls = ' class="current"' if it == current else ''
                s.append(f'<li><a href="{pname[it]}"{cls}>{html.escape(titles.get(it, it))}</a></li>')
            else:
                s.append(f'<li><div class="section">{html.escape(it[0])}</div>{ul(it[1])}</li>')
        return ''.join(s + ['</ul>'])
    return f'<nav class="site-nav"><a class="site-title" href="index.html">{html.escape(site_title)}</a>{ul(items)}</nav>'


# ---------------------------------------------------------------------------------------------------------- maths
_CODE = re.compile(r'(```.*?```|~~~.*?~~~|`[^`\n]*`)', re.S)
_DISPLAY = re.compile(r'\$\$(.+?)\$\$', re.S)
_INLINE = re.compile(r'(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])')


def math_to_placeholders(md: str, store: list) -> str:
    "Replace $$..$$ and $..$ (outside code) by placeholders that markdown leaves alone; MathML goes into `store`"
    from latex2mathml.converter import convert
    def sub(m, display):
        store.append(convert(m.group(1).strip(), display='block' if display else 'inline'))
        return f'SSPVSMATH{len(store) - 1}X'
    parts = _CODE.split(md)
    for i in range(0, len(parts), 2):   # even parts are outside code
        parts[i] = _INLINE.sub(lambda m: sub(m, False), _DISPLAY.sub(lambda m: sub(m, True), parts[i]))
    return ''.join(parts)


# ---------------------------------------------------------------------------------------------------------- notebook
def _frontmatter(nb) -> dict:
    import yaml
    for c in nb.cells:
        if c.cell_type == 'raw':
            s = c.source.strip()
            if s.startswith('---') and s.endswith('---'): return yaml.safe_load(s.strip('-')) or {}
    return {}


def _directives(src: str) -> tuple[dict, str]:
    lines, dirs, i = src.splitlines(), {}, 0
    while i < len(lines) and _DIR_RE.match(lines[i]):
        m = _DIR_RE.match(lines[i]); dirs[m.group(1).lower()] = m.group(2).strip().lower(); i += 1
    return dirs, '\n'.join(lines[i:])


def prepare(nb, math: list):
    "Apply the Quarto cell options nbdev leaves to Quarto; maths to placeholders; widgets to a note; drop front matter"
    cells, keys = [], {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}
    for c in nb.cells:
        for k in set(c) - keys: del c[k]   # what nbdev adds in processing (has_sd), not in the notebook schema
        if c.cell_type == 'raw': continue
        if c.cell_type == 'markdown':
            c.source = math_to_placeholders(c.source, math); cells.append(c); continue
        if c.cell_type != 'code': continue
        dirs, body = _directives(c.source)
        if dirs.get('include') == 'false': continue
        c.source = body
        tags = set(c.metadata.get('tags', []))
        if dirs.get('echo') == 'false' or not body.strip(): tags.add('remove_input')
        if dirs.get('output') == 'false': c.outputs = []
        for o in c.get('outputs', []):
            if o.get('output_type') in ('display_data', 'execute_result') and WIDGET in o.get('data', {}):
                o['data'] = {'text/html': '<p class="widget-note">An interactive ipywidgets control is shown here in '
                                          'Jupyter: run the notebook to use it.</p>'}
            if o.get('output_type') in ('display_data', 'execute_result') and 'text/markdown' in o.get('data', {}):
                o['data']['text/markdown'] = _pandoc_links(math_to_placeholders(o['data']['text/markdown'], math))
        if not body.strip() and not c.get('outputs'): continue
        c.metadata['tags'] = sorted(tags)
        cells.append(c)
    nb.cells = cells
    return nb


def _pandoc_links(md: str) -> str:
    "Pandoc's link attributes, which nbdev's show_doc writes for Quarto (`[source](url){target=...}`), as HTML links"
    # as an HTML block (a line of its own), which markdown passes through whole; styled by .source-link
    return re.sub(r'^\[([^\]\n]+)\]\(([^)\s]+)\)\{([^}\n]*)\}[ \t]*$',
                  lambda m: f'<div class="source-link"><a href="{html.escape(m.group(2))}" target="_blank">{html.escape(m.group(1))}</a></div>',
                  md, flags=re.M)


def _fix_links(page: str, pname: dict, doc_url: str) -> str:
    "Links between notebooks (`x.ipynb`) and nbdev's links to the hosted docs become relative links between pages"
    pages = set(pname.values())
    def ipynb(m):
        name = Path(m.group(2)).name
        return f'{m.group(1)}{pname[name]}{m.group(3) or ""}"' if name in pname else m.group(0)
    page = re.sub(r'(href=")((?:\.\./)?(?:nbs/)?[\w.-]+\.ipynb)(#[^"]*)?"', ipynb, page)
    if doc_url:
        def hosted(m):
            name = m.group(1)
            return f'href="{name}{m.group(2) or ""}"' if name in pages else m.group(0)
        page = re.sub(r'href="' + re.escape(doc_url.rstrip('/')) + r'/([\w.-]+\.html)(#[^"]*)?"', hosted, page)
    return page


def build(proc: Path, out: Path, nbs: Path | None = None) -> list[Path]:
    "Render every notebook of the sidebar from the processed notebooks in `proc` into `out`; return the pages"
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    from jinja2 import DictLoader
    from nbdev.config import get_config
    cfg = get_config(path=ROOT)
    nbs = Path(nbs or cfg.nbs_path)
    items = read_sidebar(nbs)
    order = _flat(items)
    missing = [n for n in order if not (proc / n).exists()]
    if missing: raise SystemExit(f'build_site: not processed (run tools/proc_nbs.py): {", ".join(missing)}')
    unlisted = sorted(p.name for p in nbs.glob('*.ipynb') if p.name not in order)
    if unlisted: raise SystemExit(f'build_site: notebooks missing from nbs/sidebar.yml: {", ".join(unlisted)}')
    css = PAGE_CSS + ((nbs / 'styles.css').read_text() if (nbs / 'styles.css').exists() else '')
    doc_url = f"{cfg.get('doc_host', '')}{cfg.get('doc_baseurl', '')}"
    site_title = cfg.get('title', cfg.lib_name)
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    exporter = HTMLExporter(config=c, template_name='lab', extra_loaders=[DictLoader({'site.html.j2': TEMPLATE})])
    exporter.template_file = 'site.html.j2'
    exporter.embed_images = True
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    nbs_read, titles, pname = {}, {}, {}
    for n in order:
        raw = json.loads((proc / n).read_text(encoding='utf-8'))
        for c in raw['cells']:   # what nbdev adds in processing (has_sd) is not in the notebook schema
            for k in set(c) - {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}: del c[k]
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        fm = _frontmatter(nb)
        titles[n] = str(fm.get('title') or Path(n).stem)
        # the page names nbdev gives Quarto (`12_benchmark.ipynb` -> `benchmark.html`), so nbdev's links resolve
        pname[n] = str(fm.get('output-file') or Path(n).with_suffix('.html').name)
        nbs_read[n] = (nb, fm)
    if len(set(pname.values())) < len(pname): raise SystemExit(f'build_site: two notebooks give the same page: {pname}')
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    for n in order:
        nb, fm = nbs_read[n]
        math = []
        prepare(nb, math)
        desc = str(fm.get('description') or '')
        desc_math = []
        desc = math_to_placeholders(desc, desc_math)
        from nbconvert.filters.markdown_mistune import markdown2html_mistune
        desc_html = re.sub(r'^<p>|</p>\s*$', '', markdown2html_mistune(desc).strip())
        for i, m in enumerate(desc_math): desc_html = desc_html.replace(f'SSPVSMATH{i}X', m)
        resources = {'metadata': {'name': titles[n], 'path': str(proc)},
                     'site': {'css': css, 'nav': nav_html(items, titles, pname, n, site_title), 'title': titles[n],
                              'description': desc_html, 'source': n}}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        for i, m in enumerate(math): body = body.replace(f'SSPVSMATH{i}X', m)
        left = re.findall(r'SSPVSMATH\d+X', body)
        if left: raise SystemExit(f'build_site: {n}: maths not placed: {left[:3]}')
        body = _fix_links(body, pname, doc_url)
        p = out / pname[n]
        p.write_text(body, encoding='utf-8')
        written.append(p)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', type=Path, default=None, help='output folder (default: doc_path of settings.ini, _docs)')
    ap.add_argument('--proc', type=Path, default=None,
                    help='use notebooks already processed into this folder instead of running tools/proc_nbs.py')
    a = ap.parse_args(argv)
    from nbdev.config import get_config
    cfg = get_config(path=ROOT)
    out = a.out or Path(cfg.doc_path)
    proc = a.proc
    if proc is None:
        r = subprocess.run([sys.executable, str(ROOT / 'tools/proc_nbs.py')], cwd=ROOT)
        if r.returncode: return r.returncode
        proc = cfg.config_path / '_proc'
    pages = build(Path(proc), Path(out))
    print(f'{len(pages)} pages in {out}; open {out / "index.html"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
