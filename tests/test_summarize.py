"`sspvs-summarize` and `sspvs-features` end to end on generated clips, with and without checkpoints, and every bad input."
import json, os, shutil, subprocess, sys
from pathlib import Path
import h5py, numpy as np, pytest, scipy.io
from sspvs.core import SSPVSError, data_path, NO_DATA
from sspvs.video import make_clip, ffmpeg_exe, VideoFile
from sspvs.metrics import read_predictions
from sspvs.summarize import (summarize, write_outputs, output_paths, build_features, read_features_file, training_free_scores,
                             TRAINING_FREE, choose_shots, summary_json, summary_budget, SPLIT_RULE)

EXE = Path(sys.executable).parent

def run(tool, *args, cwd=None):
    return subprocess.run([str(EXE/tool), *map(str, args)], capture_output=True, text=True, cwd=cwd)

def ffmpeg(*args):
    r = subprocess.run([ffmpeg_exe(), '-v', 'error', '-y', *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

@pytest.fixture(scope='session')
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp('sum_clips')
    c = dict(scenes=make_clip(d/'scenes.mp4', 5, [3, 2, 3, 2, 3], (160, 90), 25, audio=True),
             big=make_clip(d/'big.mp4', 2, 0.6, (3840, 2160), 5))
    ffmpeg('-f', 'lavfi', '-t', '1', '-i', 'sine', '-c:a', 'aac', d/'audio.m4a')
    ffmpeg('-f', 'lavfi', '-i', 'color=c=red:size=64x48:rate=25', '-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', d/'one.mp4')
    (d/'text.mp4').write_text('not a video')
    b = c['scenes'].read_bytes(); (d/'half.mp4').write_bytes(b[:len(b) // 2])
    c.update(audio=d/'audio.m4a', one=d/'one.mp4', text=d/'text.mp4', half=d/'half.mp4', dir=d)
    return c

@pytest.fixture(scope='session')
def checkpoints(tmp_path_factory):
    "Small untrained models saved as checkpoints: only the plumbing is tested here, never their scores' quality."
    from sspvs.learner import ModelConfig, build_summarizer, save_checkpoint
    d = tmp_path_factory.mktemp('ckpt')
    out = {}
    for name, cfg in [('eff', ModelConfig.small(feat_dim=1280)), ('goog', ModelConfig.small(feat_dim=1024)),
                      ('text', ModelConfig.small(feat_dim=1280, text_dim=384))]:
        out[name] = save_checkpoint(d/f'{name}.safetensors', build_summarizer(cfg))
    return out

def one_line_error(r, tool='sspvs-summarize'):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'{tool}: error: '), r.stderr
    return lines[0]

# ---------- end to end ----------
def test_summarize_end_to_end(clips, tmp_path):
    r = run('sspvs-summarize', clips['scenes'], '--out', tmp_path/'out', '--ratio', '0.3')
    assert r.returncode == 0, r.stderr
    assert 'x real time' in r.stdout and 'scorer: training-free' in r.stdout
    out = tmp_path/'out'
    assert sorted(p.name for p in out.iterdir()) == ['scenes_summary.json', 'scenes_summary.mp4', 'scenes_summary.png']
    js = json.loads((out/'scenes_summary.json').read_text())
    assert js['scorer'] == TRAINING_FREE and js['encoder'] == 'efficientnet' and js['n_frames'] == 325 and js['fps'] == 25
    assert js['n_shots'] == 5 and [s['start_frame'] for s in js['shots']] == [0, 84, 132, 204, 252]   # the first step after each cut
    assert js['shots'][-1]['end_frame'] == 324 and js['shots'][1]['start_s'] == 84 / 25
    assert 0 < js['summary_frames'] <= 0.3 * 325 and js['summary_frames'] == sum(s['end_frame'] - s['start_frame'] + 1 for s in js['chosen'])
    assert all(s['chosen'] for s in js['chosen']) and set(js['timings_s']) >= {'decoding', 'features', 'kts', 'scoring', 'writing'}
    v = VideoFile(out/'scenes_summary.mp4'); n = sum(1 for _ in v.frames())
    assert n == js['summary_frames'] and (v.width, v.height) == (160, 90) and not v.has_audio
    assert (out/'scenes_summary.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

def test_default_out_is_the_video_folder(clips, tmp_path):
    shutil.copy(clips['scenes'], tmp_path/'v.mp4')
    r = run('sspvs-summarize', tmp_path/'v.mp4', '--fps', '1')
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'v_summary.mp4').exists() and json.loads((tmp_path/'v_summary.json').read_text())['n_steps'] == 13

def test_one_frame_video_gives_a_one_shot_summary(clips, tmp_path):
    r = run('sspvs-summarize', clips['one'], '--out', tmp_path)
    assert r.returncode == 0, r.stderr
    js = json.loads((tmp_path/'one_summary.json').read_text())
    assert js['n_frames'] == 1 and js['n_shots'] == 1 and js['summary_frames'] == 1
    assert 'the middle 1 frame of the best-scoring shot (shot 0) was kept' in js['notes'][0]
    assert 'note: ' in r.stderr

def test_no_shot_fits_keeps_a_sub_shot_of_the_best(clips, tmp_path):
    "A 4-second clip of 2-second scenes: no shot fits in 15% of it (15 frames), so each is split and the summary is a sub-shot of the best."
    clip = make_clip(tmp_path/'two.mp4', 2, 2., (64, 48), 25)
    sm = summarize(clip, device='cpu')
    js = summary_json(sm)
    assert 0 < js['summary_frames'] <= 15 and js['selection']['budget_frames'] == 15 and not sm.notes
    assert [d['index'] for d in js['selection']['split_shots']] == list(range(len(sm.change_points))) and js['selection']['rule'] == 'split-long-shots'
    best = int(np.argmax(sm.shot_scores))
    assert {c['index'] for c in js['chosen']} == {best} and all(c['piece'] is not None and not c['whole_shot'] for c in js['chosen'])
    # the benchmark's whole-shot rule on the same scores: nothing fits, so the middle 15 frames of the best shot are kept
    old = choose_shots(sm.step_scores, sm.picks, sm.n_frames, sm.change_points, 0.15, split=False)
    (a, b), = old.ranges; sa, sb = sm.change_points[best]
    assert b - a == 14 and abs((a - sa) - (sb - b)) <= 1 and 'middle 15 frames' in old.notes[0]

def test_huge_video_is_downscaled(clips, tmp_path):
    sm = summarize(clips['big'], device='cpu')
    paths = write_outputs(sm, tmp_path, max_side=640)
    v = VideoFile(paths['mp4'])
    assert (sm.width, sm.height) == (3840, 2160) and (v.width, v.height) == (640, 360)

# ---------- own-video selection: split-long-shots, --max_seconds, --shots ----------
def long_take(n=1500, take=(500, 999), seed=0):
    "60 s at 25 fps: 2-s shots scored 0.1-0.3 around a 20-s take, the only high scores (0.9); a step every 12 frames; the take's features change look twice."
    rng = np.random.default_rng(seed)
    starts = sorted(set(range(0, n, 50)) - set(range(take[0], take[1] + 1)) | {take[0]})
    cp = np.stack([starts, np.r_[starts[1:], n] - 1], 1)
    picks = np.arange(0, n, 12)
    inside = (picks >= take[0]) & (picks <= take[1])
    scores = np.where(inside, 0.9, rng.uniform(.1, .3, len(picks)))
    looks = rng.normal(size=(3, 16))
    feats = rng.normal(size=(len(picks), 16)) * 0.5
    feats[inside] = looks[np.minimum(np.arange(inside.sum()) * 3 // inside.sum(), 2)] + 0.01 * rng.normal(size=(inside.sum(), 16))
    return scores, picks, n, cp, feats, int(np.flatnonzero(cp[:, 0] == take[0])[0])

@pytest.mark.parametrize('features', [False, True])
def test_long_take_keeps_the_top_scored_content(features):
    sc, pk, n, cp, f, t = long_take()
    old = choose_shots(sc, pk, n, cp, 0.15, split=False)                      # the benchmark's rule
    new = choose_shots(sc, pk, n, cp, 0.15, features=f if features else None)
    for s in (old, new): assert sum(b - a + 1 for a, b in s.ranges) <= s.budget == 225
    assert not old.chosen[t] and old.left_out_for_length[t]                    # the take cannot be chosen: left out only for its length
    assert new.chosen[t] and new.splits == {t: 'kts' if features else 'even'}
    kept = np.zeros(n, bool)
    for a, b in new.ranges: kept[a:b + 1] = True
    assert kept[500:1000].sum() >= 0.8 * new.budget and kept.sum() == kept[500:1000].sum()   # the summary is the take
    pieces = new.pieces[new.piece_shot == t]
    assert (pieces[:, 1] - pieces[:, 0] + 1 <= min(new.budget, 50)).all() and pieces[0, 0] == 500 and pieces[-1, 1] == 999
    assert len(new.pieces) == len(cp) - 1 + len(pieces)                     # only the long take was split

def test_long_take_that_fits_is_kept():
    "With 30 s of budget the 20-s take fits; whole, the knapsack (valuing shots by their mean) would take 15 short shots instead."
    sc, pk, n, cp, f, t = long_take()
    old, new = choose_shots(sc, pk, n, cp, 0.5, split=False), choose_shots(sc, pk, n, cp, 0.5, features=f)
    assert not old.chosen[t] and old.left_out_for_length[t]
    assert list(new.splits) == [t] and new.most == 50                        # only the take is longer than the median shot (2 s)
    kept = np.zeros(n, bool)
    for a, b in new.ranges: kept[a:b + 1] = True
    assert kept[500:1000].all() and kept.sum() <= new.budget

def test_max_seconds_budget():
    sc, pk, n, cp, f, t = long_take()
    sel = choose_shots(sc, pk, n, cp, None, max_seconds=3, fps=25)           # 75 frames, the ratio not applied
    assert (sel.budget, sel.budget_from) == (75, '--max_seconds 3') and sum(b - a + 1 for a, b in sel.ranges) <= 75
    assert summary_budget(n, 25., 0.15, 3) == (75, '--max_seconds 3, tighter than --ratio 0.15 of 60.0 s')
    assert summary_budget(n, 25., 0.01, 3) == (15, '--ratio 0.01 of 60.0 s, tighter than --max_seconds 3')

def test_uniform_shots_and_max_seconds_cli(clips, tmp_path):
    "--shots uniform:2 cuts 2-s shots; --max_seconds 1.5 is tighter than --ratio 0.3, so every 2-s shot is split into even pieces that fit."
    r = run('sspvs-summarize', clips['scenes'], '--out', tmp_path, '--shots', 'uniform:2', '--max_seconds', '1.5', '--ratio', '0.3')
    assert r.returncode == 0, r.stderr
    assert 'budget 1.5 s (--max_seconds 1.5, tighter than --ratio 0.3 of 13.0 s)' in r.stdout
    assert 'split 6 shots longer than 1.5 s (the budget or the median shot, whichever is shorter): shot 0 into 2 (even)' in r.stdout
    js = json.loads((tmp_path/'scenes_summary.json').read_text())
    sel = js['selection']
    assert sel['shots'] == 'uniform:2' and sel['budget_frames'] == 37 and sel['ratio'] == 0.3 and sel['max_seconds'] == 1.5
    assert [s['start_frame'] for s in js['shots']] == [0, 50, 100, 150, 200, 250, 300] and js['shots'][-1]['end_frame'] == 324
    assert [d['index'] for d in sel['split_shots']] == [0, 1, 2, 3, 4, 5] and {d['method'] for d in sel['split_shots']} == {'even'}
    assert all(p['end_frame'] - p['start_frame'] + 1 == 25 for s in js['shots'][:6] for p in s['split']['pieces'])
    assert 0 < js['summary_frames'] <= 37 and 'timings_s' in js and 'shots' in js['timings_s']
    v = VideoFile(tmp_path/'scenes_summary.mp4'); assert sum(1 for _ in v.frames()) == js['summary_frames']

# ---------- checkpoints ----------
def test_with_checkpoint(clips, checkpoints, tmp_path):
    r = run('sspvs-summarize', clips['scenes'], '--checkpoint', checkpoints['eff'], '--out', tmp_path, '--text', 'a title')
    assert r.returncode == 0, r.stderr
    js = json.loads((tmp_path/'scenes_summary.json').read_text())
    assert js['scorer'] == 'model: eff.safetensors'
    assert any('--text was ignored: the checkpoint was trained without text' in n for n in js['notes'])

def test_with_text_checkpoint(clips, checkpoints):
    a = summarize(clips['scenes'], checkpoints['text'], text='dog show', device='cpu')
    b = summarize(clips['scenes'], checkpoints['text'], text='changing a vehicle tire', device='cpu')
    c = summarize(clips['scenes'], checkpoints['text'], device='cpu')
    assert a.scorer == 'model: text.safetensors (+Text)' and not a.notes
    assert not np.allclose(a.step_scores, b.step_scores)           # the text reaches the model
    assert 'empty text' in c.notes[0]

def test_checkpoint_for_other_features(clips, checkpoints, tmp_path):
    msg = one_line_error(run('sspvs-summarize', clips['scenes'], '--checkpoint', checkpoints['goog'], '--out', tmp_path/'o'))
    assert 'goog.safetensors: the checkpoint reads 1024-d features but the efficientnet encoder has 1280-d features' in msg
    assert not (tmp_path/'o').exists() or not any((tmp_path/'o').iterdir())

def test_not_a_checkpoint(clips, tmp_path):
    (tmp_path/'x.safetensors').write_text('nope')
    msg = one_line_error(run('sspvs-summarize', clips['scenes'], '--checkpoint', tmp_path/'x.safetensors', '--out', tmp_path))
    assert 'not a readable safetensors checkpoint' in msg

def test_training_free_without_text_notes_it(clips, tmp_path):
    sm = summarize(clips['scenes'], text='anything', device='cpu')
    assert sm.scorer == TRAINING_FREE and 'the training-free scorer reads no text' in sm.notes[0]

# ---------- bad input: one line, nothing written ----------
@pytest.mark.parametrize('name,msg', [
    ('text', 'text.mp4: cannot be read as a video (Invalid data found when processing input)'),
    ('half', 'half.mp4: cannot be read as a video'),
    ('audio', 'audio.m4a: has no video stream (audio only)'),
    ('dir', 'is a folder, not a video file'),
])
def test_bad_videos(clips, tmp_path, name, msg):
    assert msg in one_line_error(run('sspvs-summarize', clips[name], '--out', tmp_path/'o'))
    assert not (tmp_path/'o').exists()

def test_missing_video(tmp_path):
    assert one_line_error(run('sspvs-summarize', tmp_path/'no.mp4')) == f"sspvs-summarize: error: No such file or directory: {tmp_path/'no.mp4'}"

@pytest.mark.parametrize('args,msg', [
    (('--ratio', '0'), "--ratio must be in (0, 1] (a fraction of the video, e.g. 0.15), got '0'"),
    (('--fps', '-1'), '--fps must be positive'),
    (('--max_seconds', '1min'), "--max_seconds must be a positive number of seconds (e.g. 60), got '1min'"),
    (('--shots', 'uniform:0'), "--shots must be kts or uniform:SECONDS with SECONDS > 0 (e.g. uniform:2), got 'uniform:0'"),
    (('--shots', 'uniform:0.2'), "--shots uniform:0.2: a shot must hold a scored frame, so it must be at least 0.48 s here"),
])
def test_bad_options(clips, tmp_path, args, msg):
    assert msg in one_line_error(run('sspvs-summarize', clips['scenes'], *args, '--out', tmp_path))
    assert list(tmp_path.iterdir()) == []

def test_googlenet_unavailable_is_one_line(clips, tmp_path):
    try:
        import torchvision  # noqa
        pytest.skip('torchvision is installed')
    except ImportError: pass
    assert "encoder 'googlenet' needs torchvision" in one_line_error(run('sspvs-summarize', clips['scenes'], '--encoder', 'googlenet', '--out', tmp_path))

def test_unwritable_output_folder(clips, tmp_path):
    f = tmp_path/'file.txt'; f.write_text('x')
    assert 'exists and is not a folder' in one_line_error(run('sspvs-summarize', clips['scenes'], '--out', f))
    assert f"{f} is a file, not a folder" in one_line_error(run('sspvs-summarize', clips['scenes'], '--out', f/'sub'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file.txt']
    unwritable = [Path('/proc')] if Path('/proc').is_dir() else []   # nobody can create files there, root included (CI runs as root)
    if os.geteuid() != 0:       # a read-only mode: root ignores it
        ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o500); unwritable.append(ro)
    for ro in unwritable:
        assert 'cannot write in the output folder' in one_line_error(run('sspvs-summarize', clips['scenes'], '--out', ro))

def test_failure_keeps_previous_outputs(clips, tmp_path, monkeypatch):
    "A failure while writing leaves the previous three outputs as they were, and no temporary files."
    import sspvs.summarize as S
    sm = summarize(clips['scenes'], device='cpu')
    paths = write_outputs(sm, tmp_path)
    before = {p: p.read_bytes() for p in paths.values()}
    def boom(*a, **k): raise SSPVSError('plot failed')
    monkeypatch.setattr(S, 'plot_summary', boom)
    sm.chosen[:] = ~sm.chosen                     # a different summary, which must not replace the old one
    with pytest.raises(SSPVSError, match='plot failed'): write_outputs(sm, tmp_path)
    assert {p: p.read_bytes() for p in paths.values()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())

# ---------- the training-free scorer ----------
def test_training_free_scores_prefer_new_content():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    f = np.concatenate([a + 0.1 * rng.normal(size=(10, 16)), b + 0.1 * rng.normal(size=(5, 16)), a + 0.1 * rng.normal(size=(10, 16))]).astype(np.float32)
    s = training_free_scores(f, [10, 15])
    assert s.shape == (25,) and s.max() == 1 and (s >= 0).all()
    assert min(s[0], s[20]) < s[12] < max(s[0], s[20])      # one repeat is redundant once the other is in

# ---------- sspvs-features ----------
def test_features_only(clips, tmp_path):
    vd = tmp_path/'v'; vd.mkdir()
    shutil.copy(clips['scenes'], vd/'b.mp4'); shutil.copy(clips['one'], vd/'a.mp4'); (vd/'notes.txt').write_text('x')
    r = run('sspvs-features', vd, '--out', tmp_path/'f.h5')
    assert r.returncode == 0, r.stderr
    assert 'features only' in r.stdout
    ff = read_features_file(tmp_path/'f.h5')
    assert list(ff) == ['video_1', 'video_2'] and ff['video_1']['video_name'] == 'a' and ff['video_2']['n_steps'] == 28
    assert ff['video_2']['features'].shape == (28, 1280) and ff['video_2']['change_points'][-1, 1] == 324
    from sspvs.metrics import write_predictions, read_predictions
    write_predictions(tmp_path/'pred.h5', {'video_1': np.ones(1), 'video_2': np.ones(28)})
    msg = one_line_error(run('sspvs-evaluate', tmp_path/'f.h5', tmp_path/'pred.h5'), 'sspvs-evaluate')   # no made-up annotations
    assert "f.h5: video_1: 'user_summary' is missing; evaluation needs picks, n_frames, change_points, n_frame_per_seg, user_summary" in msg

def fake_summe(folder, clips_n_frames, seed=0):
    "A SumMe-like annotation folder (GT/<name>.mat with user_score frames x users and FPS) for the given clips."
    rng = np.random.default_rng(seed)
    (folder/'GT').mkdir(parents=True)
    for name, n in clips_n_frames.items():
        us = np.zeros((n, 4))
        for u in range(4): s = int(rng.integers(0, n - 40)); us[s:s + 40, u] = 1
        scipy.io.savemat(folder/'GT'/f'{name}.mat', dict(user_score=us, FPS=np.array([[25.]]), nFrames=np.array([[n]])))
    return folder

def test_features_with_annotations_make_a_benchmark_file(clips, tmp_path):
    vd = tmp_path/'videos'; vd.mkdir()
    shutil.copy(clips['scenes'], vd/'Alpha.mp4'); shutil.copy(clips['scenes'], vd/'Beta.mp4'); shutil.copy(clips['one'], vd/'Unannotated.mp4')
    fake_summe(tmp_path/'summe', {'Alpha': 325, 'Beta': 323, 'Gamma': 300})     # Beta: 2 frames fewer than decoded (aligned)
    out = tmp_path/'eccv16_dataset_summe_efficientnet.h5'
    r = run('sspvs-features', vd, '--out', out, '--annotations', 'summe', tmp_path/'summe')
    assert r.returncode == 0, r.stderr
    assert '1 videos have no annotation' in r.stderr and '1 annotated videos are not in' in r.stderr
    from sspvs.data import BenchmarkFile
    bf = BenchmarkFile(out)
    assert list(bf) == ['video_1', 'video_2'] and bf.feat_dim == 1280 and bf.name == 'summe'
    a, b = bf['video_1'], bf['video_2']
    assert a.video_name == 'Alpha' and a.n_frames == 325 and b.n_frames == 323 and b.picks[-1] < 323
    assert a.user_summary.shape == (4, 325) and a.gtscore.shape == (a.n_steps,) and a.user_scores.shape == (4, 325)
    assert bf.text['video_1']['title'] == 'Alpha'
    from sspvs.metrics import write_predictions
    write_predictions(tmp_path/'pred.h5', {k: np.random.default_rng(0).random(bf[k].n_steps) for k in bf})
    r = run('sspvs-evaluate', out, tmp_path/'pred.h5')
    assert r.returncode == 0 and 'metric max' in r.stdout, r.stderr
    # ... and the benchmark runner trains and evaluates on it
    (tmp_path/'summe_splits.json').write_text(json.dumps([{'train_keys': ['video_1'], 'test_keys': ['video_2']}]))
    r = run('sspvs-train', '--data', out, '--dataset', 'summe', '--splits', tmp_path/'summe_splits.json', '--val_frac', '0',
            '--epochs', '1', '--out', tmp_path/'run', '--d_model', '16', '--d_ff', '32', '--n_heads', '2', '--n_layers', '1',
            '--no_progress', '--no_figures')
    assert r.returncode == 0, r.stderr
    assert set(read_predictions(tmp_path/'run'/'predictions.h5')) == {'video_2'}

def test_features_frame_count_mismatch(clips, tmp_path):
    vd = tmp_path/'videos'; vd.mkdir(); shutil.copy(clips['scenes'], vd/'Alpha.mp4')
    fake_summe(tmp_path/'summe', {'Alpha': 500})
    msg = one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.h5', '--annotations', 'summe', tmp_path/'summe'), 'sspvs-features')
    assert 'Alpha.mp4: decoded 325 frames but the annotation has 500: is this the annotated video?' in msg
    assert not (tmp_path/'x.h5').exists()

def test_features_bad_input(clips, tmp_path):
    vd = tmp_path/'videos'; vd.mkdir()
    assert 'no video files' in one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.h5'), 'sspvs-features')
    shutil.copy(clips['text'], vd/'bad.mp4')
    assert 'bad.mp4: cannot be read as a video' in one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.h5'), 'sspvs-features')
    assert 'should be an .h5 file' in one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.txt'), 'sspvs-features')
    assert 'no GT folder' in one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.h5', '--annotations', 'summe', tmp_path), 'sspvs-features')
    assert 'must be tvsum or summe' in one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.h5', '--annotations', 'ovp', tmp_path), 'sspvs-features')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['videos']

@pytest.mark.skipif(data_path('summe', 'GT') is None, reason=NO_DATA)
def test_real_summe_annotations_no_matching_videos(clips, tmp_path):
    "With the real SumMe annotations, a folder without SumMe videos is refused with an example of the expected names."
    vd = tmp_path/'videos'; vd.mkdir(); shutil.copy(clips['one'], vd/'mine.mp4')
    msg = one_line_error(run('sspvs-features', vd, '--out', tmp_path/'x.h5', '--annotations', 'summe', data_path('summe')), 'sspvs-features')
    assert 'no video is named like the summe annotations (e.g. Air_Force_One.mp4)' in msg

# ---------- a real film clip: Big Buck Bunny, (c) 2008 Blender Foundation, peach.blender.org, CC-BY 3.0 ----------
BBB = data_path('videos', 'big_buck_bunny_0_30.webm')
NO_BBB = 'the real clip videos/big_buck_bunny_0_30.webm (Big Buck Bunny, CC-BY 3.0 Blender Foundation) is not under $SSPVS_DATA'

def hard_cuts(path)->tuple[list[int], int]:
    "The film's hard cuts found independently of sspvs: peaks of the mean absolute difference of consecutive small grey frames (PyAV)."
    import av
    with av.open(str(path)) as c:
        prev, d = None, []
        for f in c.decode(video=0):
            a = f.reformat(width=64, height=36, format='gray').to_ndarray().astype(np.float32)
            if prev is not None: d.append(np.abs(a - prev).mean())
            prev = a
    d = np.asarray(d); thr = max(30., 20 * np.median(d))        # grey levels: a cut changes most pixels a lot, motion and fades do not
    cuts = [i + 1 for i in range(len(d)) if d[i] > thr and d[i] == d[max(0, i - 12):i + 13].max()]   # frame index where the new shot starts
    return cuts, len(d) + 1

@pytest.mark.skipif(BBB is None, reason=NO_BBB)
def test_real_clip_summarize_and_features(tmp_path):
    "sspvs-summarize and sspvs-features end to end on 30 s of a real film (VP8, 1280x720, 24 fps, audio, hard cuts and fades)."
    cuts, n = hard_cuts(BBB)
    assert n == 720 and len(cuts) >= 2, cuts                        # the detector sees the clip's several cuts
    r = run('sspvs-summarize', BBB, '--out', tmp_path/'out', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    js = json.loads((tmp_path/'out'/'big_buck_bunny_0_30_summary.json').read_text())
    assert js['n_frames'] == 720 and js['fps'] == 24 and js['duration_s'] == 30
    assert 0 < js['summary_s'] <= 0.15 * 30 and js['summary_frames'] <= 0.15 * 720
    step = round(js['fps'] / 2)                                      # 2 steps a second: KTS boundaries fall on steps, 12 frames apart
    bounds = [s['start_frame'] for s in js['shots'][1:]]
    for c in cuts:                                                   # every real cut is a shot boundary, within one step
        assert min(abs(b - c) for b in bounds) <= step, (c, bounds)
    for s in js['chosen']:                                           # and no chosen shot runs across a cut
        inside = [c for c in cuts if s['start_frame'] + step < c <= s['end_frame'] - step]
        assert not inside, (s, cuts)
    # the top-scored content is in the summary: the best shot (4-12 s, 8 s) is longer than the 4.5-s budget, so it was split (split-long-shots)
    pieces = [p for sh in js['shots'] for p in (sh['split']['pieces'] if sh['split'] else [sh])]
    top = max(p['score'] for p in pieces)
    assert max(c['score'] for c in js['chosen']) == top, (js['chosen'], top)
    best = max(js['shots'], key=lambda sh: sh['score'])
    assert best['end_frame'] - best['start_frame'] + 1 > js['selection']['budget_frames'] == 108 and best['split']
    assert any(c['index'] == best['index'] for c in js['chosen'])
    # it plays: PyAV decodes every frame of it, and its duration is the summary's
    import av
    with av.open(str(tmp_path/'out'/'big_buck_bunny_0_30_summary.mp4')) as c:
        st = c.streams.video[0]
        n_dec = sum(1 for _ in c.decode(st))
        dur = float(st.duration * st.time_base) if st.duration else c.duration / 1e6
    assert n_dec == js['summary_frames'] and abs(dur - js['summary_s']) <= 1.5 / js['fps'], (n_dec, dur, js['summary_s'])
    import matplotlib.image as mpimg
    img = mpimg.imread(tmp_path/'out'/'big_buck_bunny_0_30_summary.png')
    assert img.shape[0] > 200 and img.shape[1] > 400 and img[..., :3].std() > 0.05   # a figure was drawn, not a blank image
    # sspvs-features on a folder holding the clip (a link: the data is never copied)
    (tmp_path/'videos').mkdir(); (tmp_path/'videos'/BBB.name).symlink_to(BBB)
    r = run('sspvs-features', tmp_path/'videos', '--out', tmp_path/'bbb.h5', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    ff = read_features_file(tmp_path/'bbb.h5')['video_1']
    assert ff['video_name'] == 'big_buck_bunny_0_30' and ff['n_frames'] == 720 and ff['n_steps'] == 60 and ff['features'].shape == (60, 1280)
    cp = ff['change_points']
    assert cp[0, 0] == 0 and cp[-1, 1] == 719 and ff['n_frame_per_seg'].sum() == 720
    assert cp[1:, 0].tolist() == bounds                              # the same KTS shots as the summary's

# ---------- one scorer interface: the training-free scorer and any trained model ----------
def test_scorers_share_one_interface(clips, checkpoints, tmp_path):
    "`summarize` takes a checkpoint file, a `save_pretrained` folder, a model object or a scorer; all give the same scores for the same weights."
    from sspvs.summarize import TrainingFreeScorer, ModelScorer
    from sspvs.learner import load_summarizer
    feats = np.random.default_rng(0).random((20, 1280), dtype=np.float32)
    for s in (TrainingFreeScorer(), ModelScorer(checkpoints['eff'], 1280, device='cpu')):
        out = s(feats, None, np.array([5, 12]))
        assert isinstance(s.name, str) and s.uses_text is False and out.shape == (20,) and out.dtype == np.float32
    np.testing.assert_array_equal(TrainingFreeScorer()(feats, None, np.array([5, 12])), training_free_scores(feats, np.array([5, 12])))
    m = load_summarizer(checkpoints['eff'], device='cpu')
    folder = m.save_pretrained(tmp_path/'models'/'eff'/'v1')
    a, b, c = (summarize(clips['scenes'], x, device='cpu') for x in (checkpoints['eff'], folder, m))
    np.testing.assert_array_equal(a.step_scores, b.step_scores); np.testing.assert_array_equal(a.step_scores, c.step_scores)
    assert a.scorer == 'model: eff.safetensors' and b.scorer == 'model: v1' and c.scorer == 'model: ProgressiveSummarizer'
    assert summarize(clips['scenes'], TrainingFreeScorer(), device='cpu').scorer == TRAINING_FREE
    with pytest.raises(SSPVSError, match='the model reads 1024-d features but the efficientnet encoder gives 1280-d'):
        summarize(clips['scenes'], load_summarizer(checkpoints['goog'], device='cpu'), device='cpu')
