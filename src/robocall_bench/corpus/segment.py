"""Class-blind duration and silence policy applied to every utterance before the channel.

Both classes are trimmed, cut to a drawn target length at a pause, and re-padded with drawn
leading/trailing silence, so duration and silence carry no label information.
"""

from __future__ import annotations

import numpy as np

from ..audio import FRAME_S, frame_db, trim_silence


def cut_at_pause(x: np.ndarray, sr: int, target_s: float, search_s: float = 0.4) -> np.ndarray:
    """Cut ``x`` to at most ``target_s``: at the quietest frame in the last ``search_s`` s, with a 10 ms fade."""
    limit = int(target_s * sr)
    if x.size <= limit:
        return x
    db = frame_db(x[:limit], sr)
    k = max(1, int(search_s / FRAME_S))
    j = len(db) - k + int(np.argmin(db[-k:])) if len(db) > k else len(db)
    y = x[: max(1, min(limit, (j + 1) * int(sr * FRAME_S)))].copy()
    fade = min(y.size, int(0.01 * sr))
    y[y.size - fade :] *= np.linspace(1.0, 0.0, fade, dtype=y.dtype)
    return y


def pad_silence(x: np.ndarray, sr: int, pad_s: tuple[float, float]) -> np.ndarray:
    """Prepend/append (lead, trail) seconds of zeros to ``x`` (T,); the channel's noise fills them."""
    lead, trail = (np.zeros(int(p * sr), np.float32) for p in pad_s)
    return np.concatenate([lead, x.astype(np.float32), trail])


def fit_duration(x: np.ndarray, sr: int, target_s: float, pad_s: tuple[float, float]) -> np.ndarray:
    """Trim, cut to ``target_s`` at a pause, then pad (lead, trail) seconds of zeros; shape (T',)."""
    return pad_silence(cut_at_pause(trim_silence(x, sr), sr, target_s), sr, pad_s)
