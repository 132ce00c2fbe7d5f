"""The fit path for models not trained by SGD (lfcc_gmm, resemblyzer): same run directory, same checkpoint files."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from ..errors import RcbError
from ..evaluation.core import compute_metrics
from ..inference.checkpoint import atomic_torch_save
from ..inference.evaldata import read_mono
from ..inference.preprocess import Preprocess, crop
from ..inference.scoring import Scorer, score_paths
from .data import Item


def saved_bytes(model: Any) -> tuple[bytes, str]:
    """(file bytes, suffix) of ``model.save(path)``, whatever file name it chose (e.g. an added .npz)."""
    with tempfile.TemporaryDirectory() as td:
        model.save(Path(td) / "model.bin")
        files = [p for p in Path(td).iterdir() if p.is_file()]
        if len(files) != 1:
            raise RcbError(f"{type(model).__name__}.save() wrote {len(files)} files; expected exactly one")
        return files[0].read_bytes(), "".join(files[0].suffixes) or ".bin"


def fit_fitted_model(
    model: Any,
    train: list[Item],
    dev: list[Item],
    pre: Preprocess,
    ckpt_dir: Path,
    meta: dict[str, Any],
    crop_s: float | None,
    seed: int,
    sample_rate: int | None,
    console: Console,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Fit on (cropped) training audio, score dev, write ``best.ckpt`` = ``last.ckpt``; returns a summary."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    waves, labels = [], []
    with console.status(f"reading {len(train)} training files"):
        for it in train:
            x, sr = read_mono(it.path, sample_rate)
            waves.append(pre(crop(x, sr, crop_s, rng), sr))
            labels.append(int(it.label))
    t1 = time.perf_counter()
    with console.status(f"fitting {type(model).__name__} on {len(waves)} files"):
        fitted = model.fit(waves, labels)
    t2 = time.perf_counter()
    model = fitted if fitted is not None else model
    scorer = Scorer(model, "sklearn", pre, meta, ckpt_dir)
    res = score_paths(scorer, [i.path for i in dev], batch_size=batch_size)
    if res.errors:
        raise RcbError(f"{len(res.errors)} dev file(s) unreadable, e.g. {next(iter(res.errors.values()))}")
    eer = float(compute_metrics(res.scores, np.array([i.label for i in dev], dtype=bool))["eer"])
    blob, suffix = saved_bytes(model)
    ck = {"rcb": {**meta, "kind": "sklearn", "global_step": 0}, "blob": blob, "suffix": suffix,
          "callbacks": {"RunCheckpoints": {"best_eer": eer, "best_step": 0, "history": [{"step": 0, "dev_eer": eer}]}}}  # fmt: skip
    for name in ("best.ckpt", "last.ckpt"):
        atomic_torch_save(ck, ckpt_dir / name)
    # GMMs are fitted by EM on all frames at once, not by steps: the rate is files per second of fit
    rate = {"samples": len(waves), "read_seconds": round(t1 - t0, 3), "step_seconds": round(t2 - t1, 3),
            "samples_per_s": round(len(waves) / max(t2 - t1, 1e-9), 3), "device": "cpu", "world_size": 1,
            "threads": torch.get_num_threads(), "train_crop_s": crop_s}  # fmt: skip
    out = {"best_dev_eer": eer, "best_step": 0, "steps": 0, "history": [{"step": 0, "dev_eer": eer}],
           "throughput": rate}  # fmt: skip
    info = getattr(model, "fit_info", None)  # a model's own breakdown of the fit (e.g. feature extraction)
    if isinstance(info, dict) and info:
        out["fit_info"] = dict(info)
    return out
