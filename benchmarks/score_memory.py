"""Peak RSS of ``rcb score`` on one long call: flat in duration with windowed scoring.

    python benchmarks/score_memory.py [model=lfcc_lcnn] [minutes=30,120] [whole_minutes=10] [sr=16000]
                                      [score="long.batch_s=10 ..."]

Writes a synthetic call of each length to a temp folder (16-bit FLAC, block by block), a checkpoint
of the model (a configs/model/ name; seeded untrained weights: memory and speed do not depend on
the weights; lfcc_gmm is fitted on a few seconds), runs ``rcb score`` on it in a fresh process
under ``/usr/bin/time -v`` (or getrusage) and prints peak RSS, wall time and real-time factor.
``whole_minutes`` also scores that length the old way (``long.max_s=null``: whole file in memory)
to show what the windows save; ``score`` adds ``rcb score`` arguments. Everything is deleted afterwards.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

TIME = Path("/usr/bin/time")


def write_call(path: Path, sr: int, seconds: float, block_s: float = 60.0) -> None:
    """Speech-like tones + noise, written block by block (never whole in memory)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16", format="FLAC") as f:
        done = 0.0
        while done < seconds:
            n = int(min(block_s, seconds - done) * sr)
            t = (np.arange(n) / sr) + done
            f0 = rng.uniform(100, 220)
            x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
            x = x * np.clip(np.sin(2 * np.pi * 4 * t) + 0.3, 0, None) + 0.05 * rng.standard_normal(n)
            f.write((0.2 * x / np.max(np.abs(x))).astype(np.float32))
            done += n / sr


def make_checkpoint(name: str, path: Path) -> None:
    """A checkpoint as ``rcb train`` writes it, for the config ``configs/model/<name>.yaml``."""
    from omegaconf import OmegaConf

    from robocall_bench.config import config_dir
    from robocall_bench.inference.checkpoint import atomic_torch_save
    from robocall_bench.inference.preprocess import Preprocess
    from robocall_bench.inference.scoring import is_torch_model
    from robocall_bench.models import build_model

    cfg = OmegaConf.to_container(OmegaConf.load(config_dir() / "model" / f"{name}.yaml"), resolve=True)
    torch.manual_seed(0)
    model = build_model(cfg)
    meta = {"model": cfg, "preprocess": Preprocess().to_dict(), "corpus": {}, "global_step": 0}
    if is_torch_model(model):
        ck = {
            "rcb": {**meta, "kind": "torch"},
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        }
    else:
        from robocall_bench.training.gmm import saved_bytes

        rng = np.random.default_rng(0)
        model.fit([(0.1 * rng.standard_normal(48000)).astype(np.float32) for _ in range(6)], [0, 1] * 3)
        blob, suffix = saved_bytes(model)
        ck = {"rcb": {**meta, "kind": "sklearn"}, "blob": blob, "suffix": suffix}
    atomic_torch_save(ck, path)


def peak_rss(argv: list[str]) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, output) of one process."""
    t0 = time.perf_counter()
    if TIME.is_file():
        p = subprocess.run([str(TIME), "-v", *argv], capture_output=True, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        kb = int(m.group(1)) if m else -1
    else:
        code = (
            "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)"
        )
        p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
        kb = int(p.stderr.strip().splitlines()[-1])
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return kb / 1024, time.perf_counter() - t0, p.stdout


def main(argv: list[str]) -> None:
    opts = dict(a.split("=", 1) for a in argv)
    name = opts.get("model", "lfcc_lcnn")
    minutes = [float(m) for m in opts.get("minutes", "30,120").split(",")]
    whole = [float(m) for m in opts.get("whole_minutes", "10").split(",") if m]
    sr = int(opts.get("sr", "16000"))
    more = opts.get("score", "").split()
    tmp = Path(tempfile.mkdtemp(prefix="rcb-score-memory-"))
    rcb = [sys.executable, "-m", "robocall_bench.cli", "score"]
    try:
        ckpt = tmp / f"{name}.ckpt"
        make_checkpoint(name, ckpt)
        base, _, _ = peak_rss([sys.executable, "-c", "import robocall_bench.inference.score_cli"])
        print(f"model {name}; import baseline (python + torch + rcb score modules): {base:.0f} MB")
        print("| call | mode | peak RSS | wall | RTF |\n|---|---|---|---|---|")
        runs = [(m, "windowed", []) for m in minutes] + [
            (m, "whole file (old)", ["long.max_s=null"]) for m in whole
        ]
        for m, mode, extra in runs:
            f = tmp / f"call-{m:g}min.flac"
            write_call(f, sr, m * 60)
            mb, wall, out = peak_rss(
                [*rcb, f"ckpt={ckpt}", f"input={f}", f"out={tmp / 's.tsv'}", "device=cpu", *more, *extra]
            )
            rtf = re.search(r"real-time factor ([0-9.]+)", out)
            print(
                f"| {m:g} min {sr} Hz | {mode} | {mb:.0f} MB | {wall:.0f} s | {rtf.group(1) if rtf else '?'} |"
            )
            f.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
