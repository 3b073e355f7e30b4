"""The offline documentation site (tools/build_site.py), opened in headless Chromium.

Builds the site into a temporary folder (processing the notebooks with tools/proc_nbs.py, or reusing the notebooks
that `SSPVS_DOCS_PROC` names, as CI does after it has run tools/proc_nbs.py), then opens every page from file://
in Debian's Chromium through chromedriver and selenium. Each page loads with no console error, shows its title, the
navigation, previous / next links, an in-page contents where it has sections, every figure its notebook has (an <img>
decoded by the browser, naturalWidth > 0) and no error output; no element is wider than the viewport (at 1400 and at
900 pixels) unless a scrolling box holds it; the page's styles come from the one shared site.css; nothing is fetched
from the network. Every internal link (to a page, or to an element of a page) resolves to an element id on its target
page, and a command-line tool's page shows its usage, not a `Param(...)` signature. Skipped, with the reason, where
chromium, chromedriver or selenium is absent.
"""
import base64, json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
DRIVER = shutil.which('chromedriver')


def _why_skip():
    if not CHROMIUM: return 'no chromium on PATH (Debian: apt-get install chromium chromium-driver)'
    if not DRIVER: return 'no chromedriver on PATH (Debian: apt-get install chromium-driver)'
    try: import selenium  # noqa: F401
    except ImportError: return 'selenium is not installed (pip install -e ".[dev]")'
    try: import nbconvert, latex2mathml  # noqa: F401
    except ImportError: return 'nbconvert / latex2mathml are not installed (pip install -e ".[dev]")'


pytestmark = pytest.mark.skipif(bool(_why_skip()), reason=_why_skip() or '')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "(site folder, {notebook: (page, number of image outputs)}, processed notebooks) built from this checkout"
    import build_site
    tmp = tmp_path_factory.mktemp('site')
    proc = os.environ.get('SSPVS_DOCS_PROC')
    if proc: proc = Path(proc)
    else:
        proc = tmp / '_proc'
        r = subprocess.run([sys.executable, str(ROOT / 'tools/proc_nbs.py'), '--dest', str(proc)], cwd=ROOT,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = tmp / 'docs'
    pages = build_site.build(proc, out)
    order = build_site._flat(build_site.site_items(ROOT / 'nbs'))
    assert len(pages) == len(order) == len(list((ROOT / 'nbs').glob('*.ipynb')))
    info = {}
    for n, p in zip(order, pages):
        nb = json.loads((ROOT / 'nbs' / n).read_text())
        n_img = sum('image/png' in o.get('data', {}) or 'image/jpeg' in o.get('data', {})
                    for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []))
        info[n] = (p, n_img)
    return out, info, proc


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    prof = tmp_path_factory.mktemp('chromium-profile')
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
              '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--window-size=1400,1000', f'--user-data-dir={prof}'):
        o.add_argument(a)
    o.set_capability('goog:loggingPrefs', {'performance': 'ALL', 'browser': 'ALL'})
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    yield d
    d.quit()


def _requests(d):
    "URLs the page asked the network for, from Chromium's performance log"
    urls = []
    for e in d.get_log('performance'):
        m = json.loads(e['message'])['message']
        if m.get('method') == 'Network.requestWillBeSent': urls.append(m['params']['request']['url'])
    return urls


# elements whose box runs past the viewport and that no scrolling or clipping ancestor (itself inside it) holds
_OVERFLOW_JS = """
const W = document.documentElement.clientWidth, bad = [];
const clipped = el => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    if (o !== 'visible') return a.getBoundingClientRect().right <= W + 1; }
  return false; };
for (const el of document.querySelectorAll('main *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.right <= W + 1) continue;
  if (clipped(el)) continue;
  bad.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')
           + ' ' + Math.round(r.right) + 'px: ' + (el.textContent || '').trim().slice(0, 60));
  if (bad.length > 8) break;
}
if (document.documentElement.scrollWidth > W + 1) bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + 'px');
return bad;
"""

_LINKS_JS = """
return [Array.from(document.querySelectorAll('[id]')).map(e => e.id),
        Array.from(document.querySelectorAll('a[href]')).map(a => [a.getAttribute('href'), a.href])];
"""


def test_every_page_in_chromium(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    out, info, _ = site
    shots = os.environ.get('SSPVS_SITE_SHOTS')
    order, pages_ids, pages_links = list(info), {}, {}
    for n, (page, n_img) in info.items():
        browser.get_log('performance')
        browser.get(page.as_uri())
        WebDriverWait(browser, 60).until(lambda d: d.execute_script('return document.readyState') == 'complete')
        title = browser.find_element(By.CSS_SELECTOR, 'header.page-header h1.title').text
        assert title and browser.title == title, (n, title, browser.title)
        nav = browser.find_elements(By.CSS_SELECTOR, 'nav.site-nav li a')
        assert len(nav) == len(info), (n, len(nav))
        cur = browser.find_elements(By.CSS_SELECTOR, 'nav.site-nav li a.current')
        assert len(cur) == 1 and cur[0].get_attribute('href') == page.as_uri(), n
        imgs = browser.find_elements(By.CSS_SELECTOR, '.jp-OutputArea-output img')
        assert len(imgs) == n_img, (n, len(imgs), n_img)
        widths = [browser.execute_script('return arguments[0].complete && arguments[0].naturalWidth', i) for i in imgs]
        assert all(w and w > 0 for w in widths), (n, widths)
        text = browser.find_element(By.TAG_NAME, 'main').text
        assert 'Traceback (most recent call last)' not in text, n
        assert not re.search(r'\bSSPVSMATH\d+X\b|\$\$', text), n
        assert '{target=' not in text, n   # Quarto-only link attributes of show_doc, made into HTML
        remote = [u for u in _requests(browser) if u.split(':')[0] in ('http', 'https', 'ws', 'wss', 'ftp')]
        assert not remote, (n, remote)
        bad = [l for l in browser.get_log('browser') if l['level'] == 'SEVERE']
        assert not bad, (n, bad)
        for w in (1400, 900):   # the sidebar beside the page, and the narrow layout (sidebar above)
            browser.set_window_size(w, 1000)
            wide = browser.execute_script(_OVERFLOW_JS)
            assert not wide, (n, w, wide)
        browser.set_window_size(1400, 1000)
        ids, links = browser.execute_script(_LINKS_JS)
        pages_ids[page.name], pages_links[page.name] = set(ids), links
        head = browser.execute_script('return document.head.innerHTML')
        assert '<style' not in head and 'href="site.css"' in head, n   # one shared stylesheet, not CSS in every page
        turn = browser.find_elements(By.CSS_SELECTOR, 'nav.page-turn a')
        assert len(turn) == (1 if n in (order[0], order[-1]) else 2), (n, len(turn))
        h2 = browser.find_elements(By.CSS_SELECTOR, 'main h2')
        if len(h2) >= 2: assert browser.find_elements(By.CSS_SELECTOR, 'nav.page-toc a'), n
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(shots) / (page.stem + '.png')))
            if imgs:   # and one with the first figure in view
                browser.execute_script('arguments[0].scrollIntoView()', imgs[0])
                browser.save_screenshot(str(Path(shots) / (page.stem + '-figure.png')))
    # every internal link lands on an element of its target page
    base, dead = out.as_uri() + '/', []
    for name, links in pages_links.items():
        for raw, url in links:
            if not url.startswith(base): continue   # another site (the source on GitHub, the paper)
            target, _, frag = url[len(base):].partition('#')
            if target not in pages_ids: dead.append((name, raw)); continue
            if frag and frag not in pages_ids[target]: dead.append((name, raw))
    assert not dead, f'{len(dead)} internal links land nowhere: {dead[:20]}'


def test_command_line_tools_show_their_usage(site):
    "A command-line tool's documentation is its --help, not a Param(...) signature"
    import build_site
    from nbdev.config import get_config
    out, info, _ = site
    clis = build_site.cli_functions(get_config(path=ROOT))
    assert clis
    pages = {p.name: p.read_text() for p, _ in info.values()}
    for fn, (cmd, _) in clis.items():
        docs = [(n, m.end()) for n, t in pages.items() for m in re.finditer(rf'<h[2-4][^>]*id="{fn}"[^>]*>', t)]
        assert docs, (fn, 'not documented on any page')
        for n, at in docs:
            section = re.split(r'<h[1-4][ >]', pages[n][at:], maxsplit=1)[0]
            assert f'usage: {cmd}' in section and 'Param(' not in section, (n, fn, section[:500])


def test_titles_are_the_notebooks_own(site):
    "Each page's title is its notebook's own # title"
    out, info, _ = site
    for n, (p, _) in info.items():
        nb = json.loads((ROOT / 'nbs' / n).read_text())
        md = next(c for c in nb['cells'] if c['cell_type'] == 'markdown')
        h1 = re.search(r'^#\s+(.+)$', ''.join(md['source']), re.M).group(1).strip()
        t = re.search(r'<title>(.*?)</title>', p.read_text(), re.S).group(1)
        assert __import__('html').unescape(t).strip() == h1, (n, t, h1)


def test_links_between_pages_resolve(site):
    out, info, _ = site
    names = {p.name for p, _ in info.values()}
    for p, _ in info.values():
        for href in re.findall(r'href="([^"#:]+\.html)(?:#[^"]*)?"', p.read_text()):
            assert href in names, (p.name, href)
    home = (out / 'index.html').read_text()
    for n in ('data.html', 'metrics.html', 'stages.html'): assert f'href="{n}"' in home


def test_no_error_outputs(site):
    "No output the pages are built from is an error (an `ename` / traceback block), committed or made by nbdev"
    out, info, proc = site
    for n, (p, _) in info.items():
        nb = json.loads((Path(proc) / n).read_text())
        errs = [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error' or 'ename' in o]
        assert not errs, (n, [(o.get('ename'), o.get('evalue')) for o in errs])
        assert 'Traceback (most recent call last)' not in p.read_text(), p.name
