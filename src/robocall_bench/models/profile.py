"""Model cost: multiply-accumulates per second of audio and CPU real-time factor.

Used by ``benchmarks/models_speed.py`` (every model config, round-robin timing) and by
``rcb leaderboard entry`` (the trained model of one run), so both report the same quantities.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from typing import Any

import torch
from torch import nn

from .base import SAMPLE_RATE
from .frontends import LFCC


def _rnn_macs(module: nn.RNNBase, inp: tuple[Any, ...]) -> int:
    """Analytic MACs of an LSTM/GRU forward (FlopCounterMode misses LSTMs on CPU)."""
    x = inp[0]
    steps = x.data.shape[0] if isinstance(x, nn.utils.rnn.PackedSequence) else x.shape[0] * x.shape[1]
    gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
    dirs, h = 2 if module.bidirectional else 1, module.hidden_size
    total = 0
    for layer in range(module.num_layers):
        d_in = module.input_size if layer == 0 else h * dirs
        total += dirs * steps * gates * (d_in * h + h * h)
    return total


@torch.no_grad()
def macs_per_second(model: nn.Module, seconds: float = 4.0) -> float:
    """Forward MACs per second of audio for a batch-1 input of ``seconds`` at 16 kHz.

    ``FlopCounterMode`` FLOPs / 2, plus analytic counts for what it does not see: LSTM/GRU layers,
    the FFTs of LFCC front-ends (N log2 N per frame) and GMM likelihoods (``macs_per_frame``).
    """
    from torch.utils.flop_counter import FlopCounterMode

    n = int(seconds * SAMPLE_RATE)
    wave, lengths = torch.randn(1, n), torch.tensor([n])
    rnn_macs: list[int] = []
    rnns = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: rnn_macs.append(_rnn_macs(mod, inp))) for m in rnns
    ]
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            model(wave, lengths)
    finally:
        for hk in hooks:
            hk.remove()
    counts = counter.get_flop_counts()  # keyed "<RootClass>.<module path>"
    rnn_keys = {f"{type(model).__name__}.{name}" for name, m in model.named_modules() if m in rnns}
    counted_in_rnns = sum(sum(counts.get(k, {}).values()) for k in rnn_keys)
    macs = (counter.get_total_flops() - counted_in_rnns) / 2 + sum(rnn_macs)
    for fe in (m for m in model.modules() if isinstance(m, LFCC)):  # FFTs are not counted
        frames = int(fe.frame_lengths(lengths)[0])
        macs += frames * fe.n_fft * math.log2(fe.n_fft)
    per_frame = getattr(model, "macs_per_frame", None)
    if callable(per_frame):  # fitted GMM pair: likelihoods are numpy, invisible to the counter
        macs += int(model.frontend.frame_lengths(lengths)[0]) * per_frame()  # type: ignore[union-attr,operator]
    return macs / seconds


@torch.no_grad()
def time_rtf(
    models: dict[str, nn.Module], seconds: float = 4.0, repeats: int = 5, budget_s: float = 60.0
) -> dict[str, tuple[float, float]]:
    """(median, min) real-time factor of a batch-1 forward per model: wall time / audio duration.

    Models are timed round-robin (one forward each per round, after two warm-up rounds), so a load
    change on a shared machine hits every model alike; the minimum is the best estimate of the
    uncontended cost. Slow sets stop after 3 timed rounds once ``budget_s`` is spent. Runs on the
    current ``torch.get_num_threads()`` threads.
    """
    n = int(seconds * SAMPLE_RATE)
    wave, lengths = torch.randn(1, n), torch.tensor([n])
    times: dict[str, list[float]] = {name: [] for name in models}
    for r in range(repeats + 2):
        for name, model in models.items():
            t = time.perf_counter()
            model(wave, lengths)
            if r >= 2:
                times[name].append(time.perf_counter() - t)
        if r >= 4 and sum(map(sum, times.values())) > budget_s:
            break
    return {name: (statistics.median(ts) / seconds, min(ts) / seconds) for name, ts in times.items()}


def cpu_profile(model: nn.Module, threads: int = 2, seconds: float = 4.0, repeats: int = 5) -> dict[str, Any]:
    """MACs per second of audio and CPU RTF of one model (eval mode, ``threads`` threads), with the setup.

    Returns ``{macs_per_s, cpu_rtf, cpu_rtf_min, threads, seconds, machine, torch, load_average}``;
    the model's training mode and the process's thread count are restored afterwards.
    """
    was_training, old_threads = model.training, torch.get_num_threads()
    model.eval()
    torch.set_num_threads(threads)
    try:
        macs = macs_per_second(model, seconds)
        med, best = time_rtf({"m": model}, seconds, repeats)["m"]
    finally:
        torch.set_num_threads(old_threads)
        model.train(was_training)
    return {
        "macs_per_s": float(macs),
        "cpu_rtf": med,
        "cpu_rtf_min": best,
        "threads": threads,
        "seconds": seconds,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
