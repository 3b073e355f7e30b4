"""The offline documentation site (tools/build_site.py), opened in headless Chromium.

Builds the site into a temporary folder (processing the notebooks with tools/proc_nbs.py, or reusing the notebooks
that `SSPVS_DOCS_PROC` names, as CI does after it has run tools/proc_nbs.py), then opens every page from file://
in Debian's Chromium through chromedriver and selenium: the page loads, shows its title, the navigation, every figure
its notebook has (an <img> decoded by the browser, naturalWidth > 0) and no error output; nothing is fetched from
the network. Skipped, with the reason, where chromium, chromedriver or selenium is absent.
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
    order = build_site._flat(build_site.read_sidebar(ROOT / 'nbs'))
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


def test_every_page_in_chromium(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    out, info, _ = site
    shots = os.environ.get('SSPVS_SITE_SHOTS')
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
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(shots) / (page.stem + '.png')))
            if imgs:   # and one with the first figure in view
                browser.execute_script('arguments[0].scrollIntoView()', imgs[0])
                browser.save_screenshot(str(Path(shots) / (page.stem + '-figure.png')))


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
