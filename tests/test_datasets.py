"`sspvs-data download` and `sspvs-data verify` end to end against an HTTP server on 127.0.0.1 (with Range requests), the catalogue injected."
import hashlib, json, os, subprocess, zipfile
from pathlib import Path
import pytest

from sspvs.core import SSPVSError
import sspvs.datasets as D

FILES = {'eccv16_a.h5': os.urandom(300_000), 'eccv16_b.h5': os.urandom(200_000)}
CAT = {n: (len(b), hashlib.sha256(b).hexdigest()) for n, b in FILES.items()}

@pytest.fixture
def site(tmp_path):
    "A mirror folder: a zip of both files (with a readme and nested folders), a zip whose b differs by one byte, and a web page."
    s = tmp_path/'site'; s.mkdir()
    with zipfile.ZipFile(s/'all.zip', 'w') as z:
        for n, b in FILES.items(): z.writestr(f'datasets/{n}', b)
        z.writestr('datasets/readme.txt', 'not extracted')
    with zipfile.ZipFile(s/'wrong.zip', 'w') as z:
        z.writestr('eccv16_a.h5', FILES['eccv16_a.h5']); z.writestr('eccv16_b.h5', FILES['eccv16_b.h5'][:-1] + b'\0' if FILES['eccv16_b.h5'][-1] else FILES['eccv16_b.h5'][:-1] + b'\1')
    (s/'moved.html').write_text('<!DOCTYPE html><html>moved</html>')
    return s

def cli(*args):
    return subprocess.run(['sspvs-data', *map(str, args)], capture_output=True, text=True, timeout=300)

def catalogue(tmp_path, mirrors):
    p = tmp_path/'cat.json'; p.write_text(json.dumps(dict(files=CAT, mirrors=mirrors))); return p

def test_dead_mirror_then_the_next(site, tmp_path):
    with D.serve(site) as (base, seen):
        p = cli('download', '--to', tmp_path/'data', '--catalogue', catalogue(tmp_path, [f'{base}/gone.zip', f'{base}/moved.html', f'{base}/all.zip']), '--no_progress')
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any(l.startswith('mirror') and 'gone.zip: HTTP 404' in l and l.endswith('trying the next') for l in lines), lines
    assert any('moved.html: got a web page' in l for l in lines), lines
    assert sorted(x.name for x in (tmp_path/'data').iterdir()) == sorted(FILES)   # only the two files: no readme, no archive, no .part
    assert all((tmp_path/'data'/n).read_bytes() == b for n, b in FILES.items())
    assert [s for s, _ in seen] == ['/gone.zip', '/moved.html', '/all.zip']
    v = cli('verify', tmp_path/'data', '--catalogue', tmp_path/'cat.json')
    assert v.returncode == 0 and v.stdout.count('ok') == 2, v.stdout

def test_wrong_sha_is_refused_and_not_left_under_its_name(site, tmp_path):
    with D.serve(site) as (base, _):
        p = cli('download', '--to', tmp_path/'data', '--catalogue', catalogue(tmp_path, [f'{base}/wrong.zip']), '--no_progress')
    assert p.returncode == 1
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('sspvs-data: error: eccv16_b.h5: not fetched from any of the 1 source(s)'), p.stderr
    refused = [l for l in p.stdout.splitlines() if l.startswith('refused')]
    assert len(refused) == 1 and 'eccv16_b.h5' in refused[0] and f"expected {CAT['eccv16_b.h5'][1][:16]}" in refused[0], p.stdout
    assert not (tmp_path/'data'/'eccv16_b.h5').exists() and (tmp_path/'data'/'eccv16_b.h5.rejected').exists()
    assert (tmp_path/'data'/'eccv16_a.h5').read_bytes() == FILES['eccv16_a.h5']
    v = cli('verify', tmp_path/'data', '--catalogue', tmp_path/'cat.json')
    assert v.returncode == 1 and 'missing  eccv16_b.h5' in v.stdout

def test_a_copy_already_there_that_differs_is_moved_aside(site, tmp_path):
    (tmp_path/'data').mkdir(); (tmp_path/'data'/'eccv16_a.h5').write_bytes(b'corrupt')
    lines = []
    with D.serve(site) as (base, _):
        D.download(tmp_path/'data', mirrors=[f'{base}/all.zip'], catalogue=CAT, progress=False, log=lines.append)
    assert lines[0].startswith('refused  eccv16_a.h5: the copy here differs from the standard file (size 7 B, expected 300,000 B); moved to eccv16_a.h5.rejected')
    assert (tmp_path/'data'/'eccv16_a.h5').read_bytes() == FILES['eccv16_a.h5']

def test_resume_after_a_dropped_connection(site, tmp_path):
    "The first answer stops after 100,000 bytes: the .part stays, and the next run asks only for the rest."
    size = (site/'all.zip').stat().st_size
    with D.serve(site, cut=100_000) as (base, seen):
        cat = catalogue(tmp_path, [f'{base}/all.zip'])
        p = cli('download', '--to', tmp_path/'data', '--catalogue', cat, '--no_progress')
        assert p.returncode == 1 and 'the download stopped at 100,000 of' in p.stdout and 'run again to resume' in p.stdout, (p.stdout, p.stderr)
        part = tmp_path/'data'/'.downloads'/(D.local_name(f'{base}/all.zip') + '.part')
        assert part.stat().st_size == 100_000
        p = cli('download', '--to', tmp_path/'data', '--catalogue', cat, '--no_progress')
    assert p.returncode == 0, p.stderr
    assert seen == [('/all.zip', None), ('/all.zip', 'bytes=100000-')] and size > 100_000
    assert sorted(x.name for x in (tmp_path/'data').iterdir()) == sorted(FILES)

def test_resume_a_part_left_by_another_tool(site, tmp_path):
    "A .part already there (e.g. from wget -c's kill) is continued with a Range request, and a server that ignores ranges restarts it cleanly."
    data = (site/'all.zip').read_bytes()
    for ranges, want in ((True, 'bytes=5000-'), (False, 'bytes=5000-')):
        to = tmp_path/f'd{ranges}'
        with D.serve(site, ranges=ranges) as (base, seen):
            part = to/'.downloads'/(D.local_name(f'{base}/all.zip') + '.part'); part.parent.mkdir(parents=True); part.write_bytes(data[:5000])
            D.download(to, mirrors=[f'{base}/all.zip'], catalogue=CAT, progress=False, log=None)
        assert seen == [('/all.zip', want)]
        assert all((to/n).read_bytes() == b for n, b in FILES.items())

def test_single_file_mirror_and_user_url_first(tmp_path):
    s = tmp_path/'s'; s.mkdir()
    for n, b in FILES.items(): (s/n).write_bytes(b)
    with D.serve(s) as (base, seen):
        D.download(tmp_path/'data', urls=[f'{base}/eccv16_a.h5', f'{base}/eccv16_b.h5'], mirrors=[f'{base}/never.zip'], catalogue=CAT, progress=False, log=None)
    assert [x for x, _ in seen] == ['/eccv16_a.h5', '/eccv16_b.h5']
    assert all((tmp_path/'data'/n).read_bytes() == b for n, b in FILES.items())

def test_no_mirror_answers(tmp_path):
    with D.serve(tmp_path) as (base, _): pass   # a port that was just closed: nobody answers
    with pytest.raises(SSPVSError, match=r"eccv16_a.h5, eccv16_b.h5: not fetched from any of the 1 source\(s\)"):
        D.download(tmp_path/'data', mirrors=[f'{base}/all.zip'], catalogue=CAT, progress=False, log=None, timeout=5)

def test_default_catalogue_is_the_verified_checksums():
    from sspvs.data import CHECKSUMS
    assert D.CATALOGUE is CHECKSUMS and len(D.MIRRORS) >= 3
