#!/usr/bin/env python
"""Build an offline HTML site of the documentation from the nbdev-processed notebooks, without Quarto.

    python tools/build_site.py                     # process the notebooks (tools/proc_nbs.py) and build _docs/
    python tools/build_site.py --proc _proc        # reuse notebooks already processed into _proc/
    python tools/build_site.py --out /tmp/site     # somewhere else

One page per notebook (`nbs/index.ipynb` is the home page, `index.html`), each with the navigation sidebar of
`nbs/sidebar.yml` (the chapters in reading order), the page title (the notebook's own `# title`) and description of
its front matter, an in-page table of contents, previous / next links, the API documentation nbdev generates
(`show_doc`) and the committed outputs, figures included as data URIs. A command-line tool (a `console_scripts` entry
of settings.ini) is documented by its `--help`, not by its `Param(...)` signature. Headings carry the ids Quarto gives
them (pandoc's rule: `### BenchmarkFile.require` -> `benchmarkfile.require`), so nbdev's cross-references land;
links inside signatures are reduced to their names. One stylesheet, `site.css`, serves every page; maths is converted
to MathML (latex2mathml) at build time; no JavaScript, so the site reads offline from `file://` and loads nothing from
the internet. Pages are rendered with nbconvert's `lab` template; the hidden cells and the `#|` directives nbdev and
Quarto honour are applied (`hide` by nbdev's processing; `echo: false`, `output: false`, `include: false` here).
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
footer.site-footer { margin-top: 1rem; font-size: 12px; color: #888; }
/* code wraps inside its box, never wider than the page; flex children may shrink below their content's width */
.jp-Cell, .jp-InputArea, .jp-OutputArea, .jp-OutputArea-child, .jp-InputArea-editor, .jp-OutputArea-output,
.jp-RenderedHTMLCommon, .jp-RenderedMarkdown { min-width: 0; max-width: 100%; box-sizing: border-box; }
.jp-InputArea-editor { border: 1px solid #e3e3e8; border-radius: 4px; background: #f7f7f9; }
.jp-InputArea-editor .highlight { background: transparent; }
.jp-InputArea-editor .highlight pre, .jp-RenderedMarkdown pre, .jp-RenderedHTMLCommon pre, .jp-OutputArea-output pre {
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; line-height: 1.45; }
.jp-InputArea-editor .highlight pre { margin: 0; padding: .55em .8em; }
.jp-OutputArea-output { overflow-x: auto; }
.jp-RenderedHTMLCommon code { overflow-wrap: anywhere; }
.jp-RenderedHTMLCommon :not(pre) > code { background: #f2f2f5; padding: .05em .3em; border-radius: 3px; font-size: 90%; }
pre.cli-help { background: #22252b; color: #e8e8e8; border-radius: 4px; padding: .7em .9em; }
.cli-name { font-size: 90%; color: #555; margin: .2em 0 .4em; }
nav.page-toc { border: 1px solid #e3e3e8; border-radius: 6px; padding: .6rem 1rem; margin: 0 0 1.5rem; font-size: 14px;
  font-family: var(--jp-ui-font-family); background: #fbfbfd; }
nav.page-toc .toc-title { font-weight: 600; color: #555; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
nav.page-toc ul { margin: .3rem 0 0; padding-left: 1.1rem; }
nav.page-toc ul ul { padding-left: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 0 .8rem; font-size: 13px; }
nav.page-toc a { color: #2a5db0; text-decoration: none; overflow-wrap: anywhere; }
nav.page-turn { display: flex; justify-content: space-between; gap: 1rem; margin-top: 3rem; padding-top: 1rem;
  border-top: 1px solid #e3e3e8; font-family: var(--jp-ui-font-family); }
nav.page-turn a { color: #2a5db0; text-decoration: none; max-width: 48%; }
nav.page-turn a.next { margin-left: auto; text-align: right; }
nav.page-turn small { display: block; color: #888; font-size: 12px; }
@media (max-width: 800px) { nav.site-nav { position: static; width: auto; border-right: none; }
  main.site-main { margin-left: 0; padding: 1rem; } }
"""

TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<link rel="stylesheet" href="site.css">
{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.site.nav }}
<main class="site-main">
<header class="page-header"><h1 class="title">{{ resources.site.title | e }}</h1>
{%- if resources.site.description %}<div class="description">{{ resources.site.description }}</div>{% endif %}</header>
SSPVSTOCX
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.site.turn }}
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


def site_items(nbs: Path) -> list:
    "The sidebar of nbs/sidebar.yml, with any notebook it does not list yet added by number (see `add_unlisted`)"
    items = read_sidebar(nbs)
    unlisted = sorted(p.name for p in Path(nbs).glob('*.ipynb') if p.name not in _flat(items))
    if unlisted:   # a new notebook not yet in the sidebar still gets its page
        print(f'build_site: not in nbs/sidebar.yml, placed by number: {", ".join(unlisted)}', file=sys.stderr)
        items = add_unlisted(items, unlisted)
    return items


def add_unlisted(items: list, names: list[str]) -> list:
    "The sidebar with `names` added: an experiment (numbered 90 or more) to the 'Experiments' section, others to 'More'"
    items = [it if isinstance(it, str) else (it[0], list(it[1])) for it in items]
    def section(title):
        for it in items:
            if not isinstance(it, str) and it[0].lower() == title.lower(): return it[1]
        items.append((title, [])); return items[-1][1]
    for n in names:
        m = re.match(r'(\d+)_', n)
        section('Experiments' if m and int(m.group(1)) >= 90 else 'More').append(n)
    return items


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


def prepare(nb, math: list, helps: dict | None = None, clis: dict | None = None):
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
                md = _plain_signatures(o['data']['text/markdown'])
                if helps: md = _cli_docs(md, helps, clis)
                o['data']['text/markdown'] = _pandoc_links(math_to_placeholders(md, math))
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


# ---------------------------------------------------------------------------------------------------------- API docs
_SIG = re.compile(r'```python\n.*?```', re.S)
_MDLINK = re.compile(r'\[(`?)([^\]\n`]+)\1\]\([^)\s]+\)')


def _plain_signatures(md: str) -> str:
    "nbdev's links inside a signature's code block (`[`load_benchmarks`](url)`) reduced to the name"
    return _SIG.sub(lambda m: _MDLINK.sub(lambda l: l.group(2), m.group(0)), md)


def cli_functions(cfg) -> dict:
    "{function name: command} for the console_scripts of settings.ini (`sspvs-evaluate=sspvs.metrics:sspvs_evaluate`)"
    out = {}
    for entry in str(cfg.get('console_scripts', '') or '').split():
        cmd, _, target = entry.partition('=')
        if ':' in target: out[target.split(':')[1]] = (cmd.strip(), target.strip())
    return out


def cli_help(clis: dict) -> dict:
    "{function name: its `--help` text}, from one Python process that imports each command's function"
    code = """import sys, json, importlib
from fastcore.script import anno_parser
out = {}
for name, (cmd, target) in json.loads(sys.argv[1]).items():
    mod, fn = target.split(':')
    f = getattr(importlib.import_module(mod), fn)
    out[name] = anno_parser(f, prog=cmd).format_help()
print(json.dumps(out))"""
    if not clis: return {}
    r = subprocess.run([sys.executable, '-c', code, json.dumps(clis)], cwd=ROOT, capture_output=True, text=True,
                       env={**__import__('os').environ, 'COLUMNS': '100'})
    if r.returncode: raise SystemExit(f'build_site: --help of the command-line tools failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cli_docs(md: str, helps: dict, clis: dict) -> str:
    "A command-line tool's show_doc: its `--help` in place of the `Param(...)` signature"
    m = re.search(r'^#{2,4} (\w+)\s*$', md, re.M)
    if not m or m.group(1) not in helps: return md
    name = m.group(1)
    block = (f'<div class="cli-name">The command <code>{html.escape(clis[name][0])}</code> '
             f'(<code>{html.escape(clis[name][1])}</code>):</div>\n\n'
             f'<pre class="cli-help">{html.escape(helps[name].rstrip())}</pre>\n')
    md = _SIG.sub(lambda _: block, md, count=1)
    return re.sub(r'</pre>\n\n\*[^\n]*\*[ \t]*(\n|$)', '</pre>\n', md, count=1)   # the docstring: --help shows it already


# ---------------------------------------------------------------------------------------------------------- HTML
def slug(text: str) -> str:
    "The id pandoc (and so Quarto, whose ids nbdev's links use) gives a heading with this text"
    s = re.sub(r'[^\w\s.-]', '', text.strip(), flags=re.U).lower()
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z\u00c0-\uffff]+', '', s)   # an id starts with a letter
    return s or 'section'


def _headings(page: str) -> tuple[str, list]:
    "Heading ids as Quarto makes them (unique on the page); returns the page and [(level, id, text)] for the contents"
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(page, 'html.parser')
    main = soup.find('main') or soup
    seen, toc = {s['id'] for s in soup.find_all(id=True) if s.name not in ('h1', 'h2', 'h3', 'h4', 'h5', 'h6')}, []
    for h in main.find_all(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']):
        if h.find_parent('header'): continue
        for a in h.find_all('a', class_='anchor-link'): a.extract()
        text = h.get_text(' ', strip=True)
        base = slug(text); i, hid = 0, base
        while hid in seen: i += 1; hid = f'{base}-{i}'
        seen.add(hid)
        h['id'] = hid
        a = soup.new_tag('a', href=f'#{hid}', **{'class': 'anchor-link'}); a.string = '¶'; h.append(a)
        toc.append((int(h.name[1]), hid, text))
    return str(soup), toc


def toc_html(toc: list) -> str:
    "The in-page contents: the sections (h2) and, under each, the names it documents (h3)"
    items = [(l, i, t) for l, i, t in toc if l in (2, 3)]
    if sum(l == 2 for l, _, _ in items) < 2: return ''
    out, sub = ['<nav class="page-toc"><div class="toc-title">On this page</div><ul>'], []
    def flush():
        if sub: out.append('<ul>' + ''.join(f'<li><a href="#{i}">{html.escape(t)}</a></li>' for i, t in sub) + '</ul>')
        sub.clear()
    first = True
    for l, i, t in items:
        if l == 2:
            flush()
            out.append(('' if first else '</li>') + f'<li><a href="#{i}">{html.escape(t)}</a>'); first = False
        elif not first: sub.append((i, t))
    flush()
    return ''.join(out) + ('</li>' if not first else '') + '</ul></nav>'


def turn_html(order: list, n: str, titles: dict, pname: dict) -> str:
    "Links to the previous and the next page in reading order"
    k = order.index(n)
    prev = f'<a class="prev" href="{pname[order[k - 1]]}"><small>previous</small>&larr; {html.escape(titles[order[k - 1]])}</a>' if k else ''
    nxt = (f'<a class="next" href="{pname[order[k + 1]]}"><small>next</small>{html.escape(titles[order[k + 1]])} &rarr;</a>'
           if k + 1 < len(order) else '')
    return f'<nav class="page-turn">{prev}{nxt}</nav>'


_STYLE = re.compile(r'<style[^>]*>(.*?)</style>\s*', re.S)


def _split_css(page: str) -> tuple[str, str]:
    "The page without the stylesheets of its <head>, and those stylesheets as one text"
    head_end = page.index('</head>')
    head, rest = page[:head_end], page[head_end:]
    css = '\n'.join(m.group(1).strip() for m in _STYLE.finditer(head))
    return _STYLE.sub('', head) + rest, css


def _land_links(pages: list[Path]):
    """Links to a member nbdev indexes but no heading documents (`learner.html#modelconfig.small`, a classmethod
    shown with its class) land on the nearest documented owner (`#modelconfig`)"""
    ids = {p.name: set(re.findall(r'\bid="([^"]+)"', p.read_text(encoding='utf-8'))) for p in pages}
    def land(m, here):
        page, frag = m.group(1) or here, m.group(2)
        if page not in ids or frag in ids[page]: return m.group(0)
        while '.' in frag:
            frag = frag.rsplit('.', 1)[0]
            if frag in ids[page]: return f'href="{m.group(1)}#{frag}"'
        return m.group(0)
    for p in pages:
        t = p.read_text(encoding='utf-8')
        t2 = re.sub(r'href="([\w.-]+\.html)?#([^"]+)"', lambda m: land(m, p.name), t)
        if t2 != t: p.write_text(t2, encoding='utf-8')


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
    items = site_items(nbs)
    order = _flat(items)
    missing = [n for n in order if not (proc / n).exists()]
    if missing: raise SystemExit(f'build_site: not processed (run tools/proc_nbs.py): {", ".join(missing)}')
    extra_css = PAGE_CSS + ((nbs / 'styles.css').read_text() if (nbs / 'styles.css').exists() else '')
    clis = cli_functions(cfg)
    helps = cli_help(clis)
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
    written, site_css = [], None
    for n in order:
        nb, fm = nbs_read[n]
        math = []
        prepare(nb, math, helps, clis)
        desc = str(fm.get('description') or '')
        desc_math = []
        desc = math_to_placeholders(desc, desc_math)
        from nbconvert.filters.markdown_mistune import markdown2html_mistune
        desc_html = re.sub(r'^<p>|</p>\s*$', '', markdown2html_mistune(desc).strip())
        for i, m in enumerate(desc_math): desc_html = desc_html.replace(f'SSPVSMATH{i}X', m)
        resources = {'metadata': {'name': titles[n], 'path': str(proc)},
                     'site': {'nav': nav_html(items, titles, pname, n, site_title), 'title': titles[n],
                              'description': desc_html, 'source': n, 'turn': turn_html(order, n, titles, pname)}}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        for i, m in enumerate(math): body = body.replace(f'SSPVSMATH{i}X', m)
        left = re.findall(r'SSPVSMATH\d+X', body)
        if left: raise SystemExit(f'build_site: {n}: maths not placed: {left[:3]}')
        body = _fix_links(body, pname, doc_url)
        body, css = _split_css(body)
        if site_css is None: site_css = css
        elif css != site_css: raise SystemExit(f'build_site: {n}: its page styles differ from the other pages\'')
        body, toc = _headings(body)
        body = body.replace('SSPVSTOCX', toc_html(toc), 1)
        p = out / pname[n]
        p.write_text(body, encoding='utf-8')
        written.append(p)
    _land_links(written)
    (out / 'site.css').write_text((site_css or '') + '\n/* this site */\n' + extra_css, encoding='utf-8')
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
