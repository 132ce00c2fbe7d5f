"""Training throughput per model, and data-loader rate against train-step rate.

    python benchmarks/training_speed.py [--corpus DIR] [--models aasist,rawnet2] [--batch-size 8]
        [--steps 3] [--crop 4] [--num-workers 2] [--device auto] [--out benchmarks/results/training_speed.json]

Without --corpus a synthetic 8 kHz FLAC corpus (64 files) is written to a temp folder. Rows:
the loader alone (read FLAC, crop, resample to 16 kHz, normalise, collate; ``num_workers``
processes) and, per model config under configs/model/ (wav2vec2_base is skipped: it needs the
hub), the train step alone (forward + backward + AdamW on preloaded batches). The ratio column is
loader rate / step rate in this same run: the loader must be >= 3x faster than every step, or
training waits on data (raise data.num_workers). lfcc_gmm is not trained by steps: its row is the
fit rate (files/s).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from omegaconf import OmegaConf

from robocall_bench.config import config_dir
from robocall_bench.inference.preprocess import Preprocess
from robocall_bench.inference.scoring import build_model, is_torch_model, pick_device
from robocall_bench.training.data import Item, TrainDataset
from robocall_bench.training.datamodule import RcbDataModule
from robocall_bench.training.module import DetectorModule

SKIP = {"wav2vec2_base"}
MIN_RATIO = 3.0


def synthetic_items(root: Path, n: int = 64, sr: int = 8000) -> list[Item]:
    """``n`` speech-like FLAC files of 3-7 s at ``sr`` (half labelled robocall)."""
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        sec = rng.uniform(3, 7)
        t = np.arange(int(sec * sr)) / sr
        ph = 2 * np.pi * np.cumsum(110 + 40 * np.sin(2 * np.pi * rng.uniform(0.3, 1) * t)) / sr
        x = sum(np.sin(k * ph) * 0.8**k for k in range(1, 20)) * np.clip(
            np.sin(2 * np.pi * 2 * t) + 0.3, 0, 1
        )
        x = (0.2 * x / np.abs(x).max() + 0.002 * rng.standard_normal(t.size)).astype(np.float32)
        p = root / f"u{i:03d}.flac"
        sf.write(p, x, sr, subtype="PCM_16")
        items.append(Item(f"u{i:03d}", str(p), i % 2, "train", "train", sec))
    return items


def corpus_items(corpus: Path) -> list[Item]:
    from robocall_bench.training.data import load_corpus

    return load_corpus(corpus).select("train")


def loader_rate(
    items: list[Item], pre: Preprocess, bs: int, crop: float, workers: int, n_batches: int
) -> float:
    """Samples/s of the training loader (after the first batch, which pays for worker start-up)."""
    dm = RcbDataModule(items, pre, bs, n_batches + 1, 0, crop, num_workers=workers)
    it = iter(dm.train_dataloader())
    next(it)
    t0 = time.perf_counter()
    n = sum(1 for _ in itertools.islice(it, n_batches))
    return n * bs / (time.perf_counter() - t0)


def batches(
    items: list[Item], pre: Preprocess, bs: int, crop: float, n: int
) -> list[tuple[torch.Tensor, ...]]:
    """``n`` preloaded training batches (the step timing then excludes data loading)."""
    dm = RcbDataModule(items, pre, bs, n, 0, crop, num_workers=0)
    return list(dm.train_dataloader())


def step_rate(model: torch.nn.Module, data: list, device: torch.device) -> float:
    """Samples/s of forward + backward + optimizer step (first batch = warm-up, not timed)."""
    mod = DetectorModule(model, {"lr": 1e-4}, total_steps=len(data)).to(device)
    opt = mod.configure_optimizers()["optimizer"]
    mod.train()
    times = []
    for wave, lengths, labels in data:
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(mod(wave.to(device), lengths.to(device)), labels.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return data[0][0].shape[0] / float(np.median(times[1:] or times))


def gmm_rate(model, items: list[Item], pre: Preprocess, crop: float) -> float:
    """Files/s of LFCC-GMM fitting on ``crop``-second crops."""
    ds = TrainDataset(items, pre, crop)
    waves, labels = zip(*(ds[(i, i)] for i in range(len(items))), strict=True)
    t0 = time.perf_counter()
    model.fit(list(waves), list(labels))
    return len(items) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="corpus folder (train split); default: synthetic files")
    ap.add_argument("--models", default="", help="comma-separated model config names (default: all)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3, help="timed train steps per model (+1 warm-up)")
    ap.add_argument("--crop", type=float, default=4.0, help="training crop in seconds")
    ap.add_argument("--num-workers", type=int, default=2)
    ap.add_argument("--loader-batches", type=int, default=12)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/training_speed.json"))
    a = ap.parse_args()
    torch.manual_seed(0)
    device, pre = pick_device(a.device), Preprocess()
    names = [n for n in a.models.split(",") if n] or sorted(
        p.stem for p in (config_dir() / "model").glob("*.yaml")
    )
    with tempfile.TemporaryDirectory() as td:
        items = corpus_items(a.corpus) if a.corpus else synthetic_items(Path(td))
        load = loader_rate(items, pre, a.batch_size, a.crop, a.num_workers, a.loader_batches)
        data = batches(items, pre, a.batch_size, a.crop, a.steps + 1)
        print(f"device {device}, torch threads {torch.get_num_threads()}, batch {a.batch_size} x {a.crop:g} s crops, "
              f"{len(items)} files")  # fmt: skip
        print(f"{'what':<18} {'samples/s':>10} {'loader/step':>12}  check")
        print(f"{'loader only':<18} {load:>10.1f} {'':>12}  num_workers={a.num_workers}")
        rows, ok = {"loader": load}, True
        for name in names:
            path = config_dir() / "model" / f"{name}.yaml"
            if name in SKIP or not path.is_file():
                print(f"{name:<18} {'skipped':>10}   ({'needs the hub' if name in SKIP else 'no config'})")
                continue
            model = build_model(OmegaConf.to_container(OmegaConf.load(path), resolve=True))
            if not is_torch_model(model):
                r = gmm_rate(model, items, pre, a.crop)
                rows[name] = r
                print(f"{name:<18} {r:>10.1f} {'':>12}  fit rate (files/s), not trained by steps")
                continue
            r = step_rate(model.to(device), data, device)
            ratio = load / r
            good = ratio >= MIN_RATIO
            ok &= good
            rows[name] = r
            print(
                f"{name:<18} {r:>10.1f} {ratio:>11.1f}x  {'ok' if good else f'LOADER TOO SLOW (< {MIN_RATIO:g}x)'}"
            )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"device": str(device), "batch_size": a.batch_size, "crop_s": a.crop,
                                 "num_workers": a.num_workers, "samples_per_s": rows}, indent=2) + "\n")  # fmt: skip
    print(f"wrote {a.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
