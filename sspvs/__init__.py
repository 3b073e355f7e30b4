"""sspvs: progressive video summarization via multimodal self-supervised learning (SSPVS, WACV 2023), as a literate PyTorch library.

`from sspvs.all import *` brings the user-facing API; the chapter "Using sspvs from Python" shows it at work.
The chapters, one module each, in reading order:

- `sspvs.data`: the benchmark files (the eccv16 HDF5 layout), splits and a PyTorch dataset
- `sspvs.corpus`: the video-text corpus format used for self-supervised pretraining
- `sspvs.synthetic`: seeded stand-ins for the four standard files and for video-text corpora
- `sspvs.keyshots`: from step scores to a keyshot summary (the two knapsack conventions)
- `sspvs.annotations`: the raw TVSum and SumMe annotations
- `sspvs.metrics`: the evaluation protocol (F1, Kendall, Spearman) and the random and human baselines
- `sspvs.encoders`: the video encoder shared by pretraining and summarization
- `sspvs.text`: the text side (sentence vectors, token budgets)
- `sspvs.progressive`: the progressive summarizer
- `sspvs.ssl`: the three self-supervised objectives and the pretraining model
- `sspvs.learner`: supervised training, checkpoints, `predict`, `save_pretrained` / `from_pretrained`
- `sspvs.pretrain`: the pretraining driver
- `sspvs.benchmark`: the benchmark runner (splits, honest epoch selection, linear probe)
- `sspvs.report`: the report of a benchmark (tables, figures, paired comparisons)
- `sspvs.video`: from a video file to step features and KTS shots
- `sspvs.summarize`: summarize your own video
- `sspvs.core`: errors, data paths, atomic writes, devices and seeds
- `sspvs.all`: the one import
"""
__version__ = "0.1.0"
