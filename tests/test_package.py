import subprocess, sys, configparser
from pathlib import Path
import sspvs

def test_version_matches_settings():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(Path(__file__).parents[1]/'settings.ini')
    assert sspvs.__version__ == cfg['DEFAULT']['version']

def test_library_matches_notebooks():
    "The committed `sspvs/*.py` are what `nbdev_export` makes of the notebooks."
    root = Path(__file__).parents[1]
    before = {p: p.read_text() for p in (root/'sspvs').glob('*.py')}
    subprocess.run([sys.executable, '-c', 'from nbdev.doclinks import nbdev_export; nbdev_export()'], cwd=root, check=True)
    after = {p: p.read_text() for p in (root/'sspvs').glob('*.py')}
    assert before == after, [p.name for p in after if before.get(p) != after[p]]
