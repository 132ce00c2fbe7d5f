"""Long calls scored in windows, with a memory bound that does not grow with the call's length.

A file whose scored length (the whole file, or its first ``window=``/``max_seconds`` seconds) is
at most ``max_s`` seconds is scored whole, exactly as it always was. A longer file is never loaded
whole: it is read block by block and cut into windows of ``window_s`` seconds every ``hop_s``
seconds (``hop_s <= window_s``, so nothing is skipped); the last window ends at the end of the
scored audio, so every window is full length and every sample is seen. Each window is
preprocessed like a short file (resampled to 16 kHz and level-normalised on its own, as the
training crops are) and windows are scored in batches of at most ``batch_s`` seconds of audio.

File score = the mean of the window scores (``combine=mean``, the default) or their maximum
(``combine=max``). The scores are log-odds (logit difference, or the GMM's mean frame LLR), so
the mean adds the windows' evidence up like the detectors pool frames (masked mean over time,
mean frame LLR), stays on the scale of a short file's score and does not drift with the length:
a live call of two hours scores like its typical 10 s, so one threshold fits calls of any
duration. The maximum flags a call if any window sounds synthetic (a recorded message followed
by a live agent), but for human calls it rises with the number of windows, i.e. with duration,
so its false-alarm rate grows with call length and scores of short and long calls are not
comparable; use it only for "did a robocall segment occur anywhere" questions.

Memory: one window (plus one hop) of source audio and one batch of windows at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import soundfile as sf
import torch

from ..errors import RcbError
from .preprocess import Preprocess

COMBINE = ("mean", "max")


@dataclass(frozen=True)
class LongAudio:
    """Windowed scoring of long files (``long.*`` of configs/score.yaml); ``max_s=None``: never window."""

    max_s: float | None = 60.0
    window_s: float = 10.0
    hop_s: float = 10.0
    combine: str = "mean"
    batch_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_s is None:
            return
        bad = None
        if not self.max_s > 0:
            bad = f"long.max_s={self.max_s}: give a positive number of seconds, or null to never window"
        elif not 0 < self.window_s <= self.max_s:
            bad = f"long.window_s={self.window_s}: must be > 0 and <= long.max_s ({self.max_s})"
        elif not 0 < self.hop_s <= self.window_s:
            bad = f"long.hop_s={self.hop_s}: must be > 0 and <= long.window_s ({self.window_s}); no gaps"
        elif self.combine not in COMBINE:
            bad = f"long.combine={self.combine!r}: use {' or '.join(COMBINE)}"
        elif not self.batch_s > 0:
            bad = f"long.batch_s={self.batch_s}: give a positive number of seconds"
        if bad:
            raise RcbError(bad)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> LongAudio:
        """From a config node; unknown keys are an error (a typo must not silently keep the default)."""
        d = dict(d or {})
        unknown = sorted(set(d) - set(asdict(cls())))
        if unknown:
            raise RcbError(
                f"unknown key(s) long.{', long.'.join(unknown)}; known: {', '.join(asdict(cls()))}"
            )
        try:
            num = {k: (None if d[k] in (None, "null") else float(d[k])) for k in ("max_s",) if k in d}
            num |= {k: float(d[k]) for k in ("window_s", "hop_s", "batch_s") if k in d}
        except (TypeError, ValueError) as e:
            raise RcbError(f"long.*: seconds must be numbers ({e})") from e
        return cls(**{**d, **num})

    def windows_per_batch(self, batch_size: int) -> int:
        """Windows scored together: at most ``batch_size`` and at most ``batch_s`` seconds of audio."""
        return max(1, min(int(batch_size), int(self.batch_s // self.window_s)))


@dataclass(frozen=True)
class LongFile:
    """A file to score in windows: ``limit`` = frames to score at its rate ``sr`` (None: to the end)."""

    path: str
    sr: int
    limit: int | None = None


def window_starts(n: int, win: int, hop: int) -> list[int]:
    """First frames of the windows of ``n`` frames: every ``hop``, plus one ending at ``n``."""
    if n <= win:
        return [0]
    starts = list(range(0, n - win + 1, hop))
    if starts[-1] + win < n:
        starts.append(n - win)
    return starts


def iter_windows(f: sf.SoundFile, win: int, hop: int, limit: int | None = None) -> Iterator[np.ndarray]:
    """Windows (win, C) float32 of an open file, at :func:`window_starts`; no read exceeds ``win`` frames.

    Reads sequentially (no seeking, exact for every format) and keeps at most ``win + hop`` frames.
    """
    left = limit if limit is not None else -1  # frames still allowed; -1 = to the end of the file

    def read(n: int) -> np.ndarray:
        nonlocal left
        if left >= 0:
            n = min(n, left)
            left -= n
        return f.read(n, dtype="float32", always_2d=True) if n > 0 else np.zeros((0, f.channels), np.float32)

    buf = read(win)
    if buf.shape[0] == 0:
        return
    yield buf
    if buf.shape[0] < win:
        return
    while True:
        blk = read(hop)
        if blk.shape[0] == 0:
            return
        buf = np.concatenate([buf, blk])[-win:]
        yield buf  # a short last block: the window that ends at the end of the audio
        if blk.shape[0] < hop:
            return


def combine(scores: np.ndarray, how: str = "mean") -> float:
    """One file score from window scores (n,): their mean or maximum (see the module docstring)."""
    return float(np.max(scores) if how == "max" else np.mean(scores, dtype=np.float64))


def score_long(
    item: LongFile,
    long: LongAudio,
    pre: Preprocess,
    score_padded: Callable[[torch.Tensor, torch.Tensor], np.ndarray],
    batch_size: int,
) -> tuple[float | None, str | None, float]:
    """(file score or None, error or None, seconds scored) of a long file, window by window."""
    from .evaldata import pad_batch

    win = max(1, round(long.window_s * item.sr))
    hop = max(1, round(long.hop_s * item.sr))
    per_batch = long.windows_per_batch(batch_size)
    scores: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    frames = 0
    read_errors = (RuntimeError, OSError, sf.LibsndfileError)  # corrupt block, vanished file
    try:
        f = sf.SoundFile(item.path)
    except read_errors as e:
        return None, _unreadable(e), 0.0
    with f:
        windows = iter_windows(f, win, hop, item.limit)
        while True:
            try:
                w = next(windows, None)
            except read_errors as e:  # only reading is caught here: a model error is a bug, raised
                return None, _unreadable(e), 0.0
            if w is None:
                break
            if not np.all(np.isfinite(w)):
                return None, "audio contains NaN or Inf samples", 0.0
            frames = max(frames, f.tell())
            batch.append(pre(w, item.sr))
            if len(batch) == per_batch:
                scores.append(score_padded(*pad_batch(batch)))
                batch = []
    if batch:
        scores.append(score_padded(*pad_batch(batch)))
    s = np.concatenate(scores) if scores else np.zeros(0)
    if s.size == 0:
        return None, "empty audio (0 samples)", 0.0
    if not np.all(np.isfinite(s)):
        return None, "model returned a non-finite score", frames / item.sr
    return combine(s, long.combine), None, frames / item.sr


def _unreadable(e: BaseException) -> str:
    return f"unreadable audio: {e}".replace("\n", " ").replace("\t", " ")
