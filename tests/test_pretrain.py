"End-to-end pretraining: `sspvs-pretrain` on one process, a 2-process `torchrun` run on CPU (gloo), resume, bad input, and a checkpoint initialising fine-tuning."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, torch
from sspvs.synthetic import make_corpus
from sspvs.learner import read_checkpoint, ModelConfig
from sspvs.pretrain import finetune_model, init_from_pretrained, load_pretrain

TINY = ['--preset', 'quick', '--d_model', '32', '--n_layers', '1', '--n_heads', '2', '--d_ff', '64',
        '--max_len', '48', '--batch_size', '4', '--lr', '1e-3', '--no_progress']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'TOKENIZERS_PARALLELISM': 'false'}

@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp('corpus')/'corpus.h5', n_videos=20, seed=1, feat_dim=32)

def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=600, **kw)

def _cli(): return [sys.executable, '-m', 'sspvs.pretrain']

def _torchrun(n): return [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(n), '-m', 'sspvs.pretrain']

def test_torchrun_two_processes(corpus, tmp_path):
    "Two CPU processes (gloo): each trains on half of every epoch; rank 0 alone writes; then a resumed run continues."
    out = tmp_path/'ddp'
    r = _run(_torchrun(2) + [str(corpus), '--out', str(out), '--epochs', '1'] + TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('training and') == 1                       # only rank 0 speaks
    assert sorted(p.name for p in out.iterdir()) == ['best.json', 'best.safetensors', 'history.json', 'last.json', 'last.safetensors']
    h = json.loads((out/'history.json').read_text())
    assert [e['epoch'] for e in h] == [1] and 0 <= h[0]['val_match_acc'] <= 1
    r = _run(_torchrun(2) + [str(corpus), '--out', str(out), '--epochs', '2'] + TINY)   # resume to 2 epochs
    assert r.returncode == 0, r.stderr[-3000:]
    h = json.loads((out/'history.json').read_text())
    assert [e['epoch'] for e in h] == [1, 2]
    ck = read_checkpoint(out/'last.safetensors')
    assert ck.extra['epoch'] == 2 and ck.optimizer is not None
    assert all(torch.isfinite(v).all() for v in ck.model.values())
    assert not list(out.glob('.*.tmp'))                               # no temporary left behind

@pytest.fixture(scope='module')
def one_epoch(corpus, tmp_path_factory):
    "A 1-epoch single-process run of the console script."
    out = tmp_path_factory.mktemp('one')/'run'
    r = _run(_cli() + [str(corpus), '--out', str(out), '--epochs', '1'] + TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def test_resume_is_exact_on_one_process(corpus, one_epoch, tmp_path):
    "1 epoch, then resumed to 2, ends with the weights and validation numbers of an uninterrupted 2-epoch run."
    full, part = tmp_path/'full', tmp_path/'part'
    shutil.copytree(one_epoch, part)
    assert _run(_cli() + [str(corpus), '--out', str(full), '--epochs', '2'] + TINY).returncode == 0
    r = _run(_cli() + [str(corpus), '--out', str(part), '--epochs', '2'] + TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = read_checkpoint(full/'last.safetensors'), read_checkpoint(part/'last.safetensors')
    for k in a.model: assert torch.allclose(a.model[k], b.model[k], atol=1e-6), k
    for k in a.text: assert torch.allclose(a.text[k], b.text[k], atol=1e-6), k
    ha, hb = (json.loads((d/'history.json').read_text()) for d in (full, part))
    assert [e['val_match_acc'] for e in ha] == [e['val_match_acc'] for e in hb]

def test_pretrained_checkpoint_initialises_finetuning(one_epoch):
    ck = read_checkpoint(one_epoch/'best.safetensors')
    model, cfg, _ = load_pretrain(one_epoch/'best.safetensors')
    assert cfg.epochs == 1 and cfg.d_model == 32 and cfg.text_freeze == 'all_but_pooler'
    mc = ModelConfig(feat_dim=32, d_model=32, n_layers=1, n_heads=2, d_ff=64, n_stages=2)
    model, te = finetune_model(mc, one_epoch/'best.safetensors', text=True)
    for k, v in model.encoder.state_dict().items(): assert torch.equal(v, ck.model['encoder.' + k])
    for k, v in model.text_proj.state_dict().items(): assert torch.equal(v, ck.model['alignment.word_proj.' + k])
    assert torch.equal(te.model.pooler.dense.weight.detach(), ck.text['model.pooler.dense.weight'])
    x, mask = torch.rand(2, 10, 32), torch.ones(2, 10, dtype=torch.bool)
    s = model(x, mask, text=te([dict(title='a'), dict(title='b', category='Sports')])['sentence'])['scores']
    assert s.shape == (2, 10) and torch.isfinite(s).all()

def test_ablation_weights_from_the_command_line(corpus, tmp_path):
    "Recovery only: no text encoder, no matching head; the criterion is the validation loss."
    out = tmp_path/'rec'
    r = _run(_cli() + [str(corpus), '--out', str(out), '--epochs', '1', '--w_match', '0', '--w_align', '0'] + TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    ck = read_checkpoint(out/'best.safetensors')
    assert not any(k.startswith(('matching.', 'alignment.')) for k in ck.model) and ck.text == {}
    assert ck.extra['best']['criterion'] == 'val_loss'
    mc = ModelConfig(feat_dim=32, d_model=32, n_layers=1, n_heads=2, d_ff=64)
    model, _ = finetune_model(mc, out/'best.safetensors')          # the encoder still transfers
    with pytest.raises(Exception, match='no text projection'): finetune_model(mc, out/'best.safetensors', text=True)

@pytest.mark.parametrize('args,msg', [
    (['/no/such/corpus.h5'], 'no such corpus file'),
    (['{corpus}', '--preset', 'huge'], "--preset 'huge'"),
    (['{corpus}', '--train_ids', 'a.json', 'b.json'], '2 id lists for 1 corpora'),
    (['{corpus}', '--w_match', '0', '--w_align', '0', '--w_recover', '0'], 'not all 0'),
    (['{corpus}', '--text_freeze', 'half'], "freeze='half'"),
    (['{corpus}', '--text_model', '/no/such/model'], "text model '/no/such/model'"),
    (['{corpus}', '--val_ids', '/no/such/list.json'], 'no such id list'),
])
def test_bad_input_is_one_line(corpus, tmp_path, args, msg):
    "In-process (fast): the console script's body exits with one line naming the problem."
    from fastcore.script import anno_parser
    from sspvs.pretrain import sspvs_pretrain
    kw = vars(anno_parser(sspvs_pretrain).parse_args(TINY + ['--out', str(tmp_path/'x'), '--epochs', '1'] + [a.format(corpus=corpus) for a in args]))
    kw.pop('pdb', None); kw.pop('xtra', None)
    with pytest.raises(SystemExit) as e: sspvs_pretrain(**kw)
    assert str(e.value).startswith('sspvs-pretrain: error: ') and msg in str(e.value) and '\n' not in str(e.value), str(e.value)

def test_bad_input_from_the_shell(tmp_path):
    "Through a real process: exit status 1, one line on stderr, no traceback."
    r = _run(_cli() + ['/no/such/corpus.h5', '--out', str(tmp_path/'x')])
    assert r.returncode == 1 and r.stderr.strip() == 'sspvs-pretrain: error: /no/such/corpus.h5: no such corpus file', r.stderr

def test_finetune_model_takes_the_official_summe_budgets():
    "+Text on SumMe: the official budgets (1, 3, 1) reach the text encoder (9 tokens); the default stays (1, 3, 10) (18 tokens)."
    from sspvs.text import finetune_budgets, OFFICIAL_TEXT_FINETUNE, FINETUNE_BUDGETS
    assert finetune_budgets('summe') == (1, 3, 1) and OFFICIAL_TEXT_FINETUNE['summe']['repeat'] == 6
    assert finetune_budgets('tvsum') == FINETUNE_BUDGETS == (1, 3, 10)
    mc = ModelConfig(feat_dim=16, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_stages=2)
    _, te = finetune_model(mc, text=True, budgets=finetune_budgets('summe'))
    enc = te.tokenize([dict(title='Air_Force_One')])
    assert te.budgets == (1, 3, 1) and enc['input_ids'].shape == (1, 9) and te.config['budgets'] == [1, 3, 1]
    _, te = finetune_model(mc, text=True)
    ids = te.tokenize([dict(title='Air_Force_One')])['input_ids']
    assert te.budgets == (1, 3, 10) and ids.shape == (1, 18)
    assert (ids == te.tokenizer.sep_token_id).sum() == 3 and ids[0, -1] == te.tokenizer.sep_token_id   # no description field, no fourth [SEP]
