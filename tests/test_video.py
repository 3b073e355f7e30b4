"Decoding, sampling, encoders and KTS: planted change points, brute force and the loop reference, and every bad input file."
import importlib.util, itertools, resource, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from sspvs.core import SSPVSError
from sspvs.video import (VideoFile, sample_frames, make_clip, ffmpeg_exe, get_encoder, encode_video, kts, shots_from_cps,
                         segment_shots, _penalty, _band_scatter)

ROOT = Path(__file__).parents[1]

def ffmpeg(*args):
    r = subprocess.run([ffmpeg_exe(), '-v', 'error', '-y', *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

@pytest.fixture(scope='session')
def clips(tmp_path_factory):
    "Small generated clips, made once: scenes with hard cuts, and every kind of bad file."
    d = tmp_path_factory.mktemp('clips')
    c = dict(scenes=make_clip(d/'scenes.mp4', 4, [2, 3, 2, 3], (160, 90), 25),
             mkv=make_clip(d/'scenes.mkv', 2, 2., (96, 64), 30, audio=True),
             big=make_clip(d/'big.mp4', 1, 0.6, (7680, 4320), 5))
    ffmpeg('-i', c['scenes'], '-c', 'copy', '-movflags', '+faststart', d/'faststart.mp4')
    b = c['scenes'].read_bytes(); (d/'half.mp4').write_bytes(b[:len(b) // 2])          # index at the end: lost
    b = (d/'faststart.mp4').read_bytes(); (d/'half_fs.mp4').write_bytes(b[:len(b) // 2])  # index first, data cut
    b = make_clip(d/'tiny.mkv', 1, 1., (96, 64), 25).read_bytes(); (d/'header.mkv').write_bytes(b[:600])   # a video stream, no frames
    ffmpeg('-f', 'lavfi', '-t', '1', '-i', 'sine', '-c:a', 'aac', d/'audio.m4a')
    ffmpeg('-f', 'lavfi', '-i', 'color=c=red:size=64x48:rate=25', '-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', d/'one.mp4')
    (d/'text.mp4').write_text('not a video'); (d/'empty.mp4').write_bytes(b'')
    c.update({k: d/f for k, f in [('faststart', 'faststart.mp4'), ('half', 'half.mp4'), ('half_fs', 'half_fs.mp4'), ('header', 'header.mkv'),
                                    ('audio', 'audio.m4a'), ('one', 'one.mp4'), ('text', 'text.mp4'), ('empty', 'empty.mp4')]})
    c['dir'] = d
    return c

# ---------- decoding and sampling ----------
def test_sampling_rule(clips):
    v = VideoFile(clips['scenes'])
    assert (v.width, v.height, v.fps, v.stride(2), v.stride(25), v.stride(100)) == (160, 90, 25., 12, 1, 1)
    f = sample_frames(clips['scenes'], fps=2, size=(64, 32))
    assert f.frames.shape == (21, 32, 64, 3) and f.frames.dtype == np.uint8
    assert f.picks.tolist() == list(range(0, 250, 12)) and f.n_frames == 250
    g = sample_frames(clips['mkv'], fps=2, size=None)                      # 30 fps: every 15th frame, as the benchmark
    assert g.frames.shape[1:] == (64, 96, 3) and g.picks.tolist() == list(range(0, 120, 15)) and g.n_frames == 120

def test_batches_stream(clips):
    bs = list(VideoFile(clips['scenes']).sample(fps=25, size=16, batch_size=64))
    assert [len(p) for p, _ in bs] == [64, 64, 64, 58]
    assert np.concatenate([p for p, _ in bs]).tolist() == list(range(250))

def test_frames_are_the_right_ones(clips):
    "The sampled frame at each pick is the decoded frame at that index (scene colours switch at the cuts)."
    f = sample_frames(clips['scenes'], fps=25, size=8)
    jumps = np.flatnonzero(np.abs(np.diff(f.frames.reshape(250, -1).astype(float).mean(1))) > 10) + 1
    assert {50, 125, 175} <= set(jumps.tolist())

def test_faststart_and_audio(clips):
    assert sample_frames(clips['faststart'], 2, 32).n_frames == 250
    assert VideoFile(clips['mkv']).has_audio and not VideoFile(clips['scenes']).has_audio

@pytest.mark.parametrize('name,msg', [
    ('text', 'text.mp4: cannot be read as a video'),
    ('empty', 'empty.mp4: cannot be read as a video'),
    ('half', 'half.mp4: cannot be read as a video'),
    ('audio', 'audio.m4a: has no video stream (audio only)'),
    ('header', 'header.mkv: the video stream has no frames'),
    ('dir', 'is a folder, not a video file'),
])
def test_bad_files(clips, name, msg):
    with pytest.raises(SSPVSError) as e: sample_frames(clips[name], 2, 32)
    assert msg in str(e.value) and '\n' not in str(e.value)

def test_truncated_data(clips, tmp_path):
    "Index first, data cut anywhere: an error naming the frame where decoding failed, or the decoded part with a note."
    b = clips['faststart'].read_bytes()
    for frac in (0.3, 0.5, 0.77, 0.9):
        p = tmp_path/f'cut{frac}.mp4'; p.write_bytes(b[:int(len(b) * frac)])
        v = VideoFile(p)
        try: n = sum(1 for _ in v.frames())
        except SSPVSError as e:
            assert 'the video is damaged or truncated: decoding failed after frame' in str(e) and '\n' not in str(e); continue
        assert n < 250 and v.n_frames == n and 'looks truncated' in v.notes[0], (frac, n, v.notes)

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError): VideoFile(tmp_path/'nope.mp4')

def test_one_frame(clips):
    f = sample_frames(clips['one'], 2, 32)
    assert f.n_frames == 1 and f.picks.tolist() == [0]

def test_huge_resolution_is_downscaled_while_decoding(clips):
    "An 8K clip: frames come out at the encoder's size and the process stays small (a few decoded frames at most)."
    code = "import sys; from sspvs.video import sample_frames; f = sample_frames(sys.argv[1], fps=5); print(f.frames.shape, f.width, f.height)"
    def maxrss(path):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        r = subprocess.run([sys.executable, '-c', code, str(path)], capture_output=True, text=True, check=True)
        return r.stdout.strip(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    small_out, small = maxrss(clips['scenes'])
    out, big = maxrss(clips['big'])
    assert out == '(3, 224, 224, 3) 7680 4320'
    assert big - small < 600_000, (small, big)   # kB; one 8K yuv420 frame is 50 MB

def test_make_clip_bad_source(tmp_path):
    with pytest.raises(SSPVSError, match='ffmpeg failed'): make_clip(tmp_path/'x.mp4', ['nosuchsource'], 1.)
    assert list(tmp_path.iterdir()) == []

# ---------- encoders ----------
def test_efficientnet_features(clips):
    enc = get_encoder('efficientnet', 'cpu')
    vf = encode_video(clips['scenes'], enc, fps=2)
    assert vf.features.shape == (21, 1280) and vf.features.dtype == np.float32 and np.isfinite(vf.features).all()
    again = encode_video(clips['scenes'], enc, fps=2).features
    np.testing.assert_allclose(vf.features, again, rtol=1e-5, atol=1e-5)
    batch1 = get_encoder('efficientnet', 'cpu')(sample_frames(clips['scenes'], 2, 224).frames[:3])
    np.testing.assert_allclose(batch1, vf.features[:3], rtol=1e-4, atol=1e-4)

def test_googlenet_needs_torchvision_and_weights():
    try:
        import torchvision  # noqa
    except ImportError:
        with pytest.raises(SSPVSError, match="encoder 'googlenet' needs torchvision"): get_encoder('googlenet', 'cpu')
        return
    try: enc = get_encoder('googlenet', 'cpu')
    except SSPVSError as e: assert 'weights' in str(e); return
    assert enc.feat_dim == 1024

def test_unknown_encoder():
    with pytest.raises(SSPVSError, match="unknown encoder 'vgg'"): get_encoder('vgg')

# ---------- KTS ----------
def planted(n_segs, dim=32, noise=0.5, seed=0, lens=(3, 30)):
    rng = np.random.default_rng(seed)
    ls = rng.integers(*lens, size=n_segs)
    x = np.concatenate([rng.normal(size=dim) + noise * rng.normal(size=(L, dim)) for L in ls])
    return x.astype(np.float32), np.cumsum(ls)[:-1]

@pytest.mark.parametrize('seed', range(10))
def test_kts_recovers_planted_change_points(seed):
    x, truth = planted(n_segs=2 + seed, seed=seed, noise=0.6)
    assert kts(x).tolist() == truth.tolist()

def test_kts_long_video_planted():
    x, truth = planted(n_segs=120, dim=64, seed=1, lens=(5, 40))     # ~2,700 steps: 22 minutes at 2 fps
    assert kts(x).tolist() == truth.tolist()

def brute(x, vmax, max_len=None):
    x = x / np.linalg.norm(x, axis=1, keepdims=True); n = len(x); best = (np.inf, None)
    for mask in itertools.product([0, 1], repeat=n - 1):
        cps = [i + 1 for i, b in enumerate(mask) if b]
        segs = np.split(x, cps)
        if max_len and max(len(s) for s in segs) > max_len: continue
        s = sum(((g - g.mean(0))**2).sum() for g in segs)
        best = min(best, (s / n + _penalty(len(cps), n, vmax), cps))
    return best[1]

@pytest.mark.parametrize('seed', range(6))
def test_kts_is_the_exact_optimum(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(11, 3)).astype(np.float32)
    for vmax, max_len in [(0.1, None), (0.5, None), (1., None), (0.3, 4)]:
        assert kts(x, vmax=vmax, max_len=max_len).tolist() == brute(x, vmax, max_len), (vmax, max_len)

def _bench():
    spec = importlib.util.spec_from_file_location('bench_summarize', ROOT/'benchmarks'/'bench_summarize.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m

@pytest.mark.parametrize('seed', range(3))
def test_kts_matches_the_loop_reference(seed):
    "The straightforward loop implementation (the reference cpd_auto, kept in the benchmark script) finds the same change points."
    b = _bench()
    x, _ = planted(n_segs=12, seed=seed, noise=1.5)
    assert kts(x, max_len=None).tolist() == b.kts_loop(x, max_len=None).tolist()
    assert kts(x, max_len=20).tolist() == b.kts_loop(x, max_len=20).tolist()

def test_kts_limits():
    x = np.ones((100, 4), np.float32)
    assert kts(x, max_len=None).tolist() == []
    assert np.diff(np.r_[0, kts(x, max_len=30), 100]).max() <= 30
    y, truth = planted(6, seed=3)
    assert len(kts(y, max_cps=2)) <= 2
    assert np.diff(np.r_[0, kts(y, min_len=4), len(y)]).min() >= 4
    with pytest.raises(SSPVSError, match='cannot be cut'): kts(x, max_len=10, max_cps=3)
    with pytest.raises(SSPVSError, match='non-empty'): kts(np.zeros((0, 4)))

def test_band_scatter_matches_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6)); x /= np.linalg.norm(x, axis=1, keepdims=True)
    J = _band_scatter(x.astype(np.float32), 10)
    for l in range(31):
        for d in range(11):
            want = ((x[l - d:l] - x[l - d:l].mean(0))**2).sum() if 0 < d <= l else np.inf
            assert (np.isinf(J[l, d]) and np.isinf(want)) or abs(J[l, d] - want) < 1e-4

def test_shots_tile_the_video():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 500)); picks = np.arange(0, n, int(rng.integers(1, 20)))
        cps = np.sort(rng.choice(np.arange(1, len(picks)), size=min(len(picks) - 1, int(rng.integers(0, 5))), replace=False)) if len(picks) > 1 else []
        cp, nfps = shots_from_cps(cps, picks, n)
        assert cp[0, 0] == 0 and cp[-1, 1] == n - 1 and (cp[1:, 0] == cp[:-1, 1] + 1).all() and nfps.sum() == n

def test_segment_generated_clip(clips):
    vf = encode_video(clips['scenes'], 'efficientnet', 2, 'cpu')
    cp, nfps = segment_shots(vf.features, vf.picks, vf.n_frames)
    assert cp[1:, 0].tolist() == [60, 132, 180]     # the first step after each cut (50, 125, 175), a step every 12 frames
