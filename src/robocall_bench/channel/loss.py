"""Frame/packet loss (independent or Gilbert-Elliott bursts) and repeat-with-fade concealment."""

from __future__ import annotations

import numpy as np


def draw_lost_frames(
    n_frames: int, loss_prob: float, bursty: bool, mean_burst: float, rng: np.random.Generator
) -> list[int]:
    """Indices of lost frames among ``n_frames`` (frame 0 is never lost: there is nothing to repeat).

    Independent losses with probability ``loss_prob``, or a two-state Gilbert model with the same
    stationary loss rate and geometric bursts of mean length ``mean_burst`` frames. The number of
    random draws depends only on ``n_frames``.
    """
    u = rng.random(n_frames)
    if loss_prob <= 0.0 or n_frames < 2:
        return []
    if not bursty or mean_burst <= 1.0:
        lost = u < loss_prob
    else:
        p_bg = 1.0 / mean_burst  # bad -> good
        p_gb = min(1.0, loss_prob * p_bg / max(1e-9, 1.0 - loss_prob))  # good -> bad
        lost = np.zeros(n_frames, bool)
        bad = False
        for i in range(n_frames):
            bad = (u[i] >= p_bg) if bad else (u[i] < p_gb)
            lost[i] = bad
    lost[0] = False
    return [int(i) for i in np.nonzero(lost)[0]]


def _runs(frames: list[int]) -> list[tuple[int, int]]:
    """Group sorted frame indices into (first, count) runs of consecutive frames."""
    runs: list[tuple[int, int]] = []
    for f in sorted(frames):
        if runs and runs[-1][0] + runs[-1][1] == f:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((f, 1))
    return runs


def conceal(x: np.ndarray, lost: list[int], frame_len: int, fade_len: int, atten_db: float) -> np.ndarray:
    """Replace lost frames of ``x`` (T,) by repetitions of the last good frame; float64 (T,).

    Each repetition is ``atten_db`` quieter than the one before, and raised-cosine cross-fades of
    ``fade_len`` samples join the good signal, the repetitions and the next good frame (as an
    overlap-add decoder's concealment would), so no clicks are introduced.
    """
    x = np.asarray(x, np.float64)
    if not lost or x.size == 0:
        return x.copy()
    F, L = int(frame_len), max(1, int(fade_len))
    pad = F + L
    y = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    orig = y.copy()
    fin = 0.5 - 0.5 * np.cos(np.pi * (np.arange(L) + 0.5) / L)
    fout = 1.0 - fin
    win = np.concatenate([fin, np.ones(F - L), fout]) if F > L else np.ones(F + L)
    att = 10.0 ** (-atten_db / 20.0)
    for first, count in _runs(lost):
        s = pad + first * F  # first lost sample (padded coordinates)
        if s >= pad + x.size:
            continue
        full = s + count * F
        e = min(full, pad + x.size)
        src = y[s - F - L : s] * win  # last good frame plus L samples of overlap, windowed
        seg = np.zeros(count * F + L)  # seg[i] is sample s - L + i
        for j in range(count):
            seg[j * F : j * F + F + L] += src * att ** (j + 1)
        seg[:L] += y[s - L : s] * fout  # good signal fades out under the first repetition
        if e == full:  # next good frame fades in while the last repetition fades out
            seg[e - s : e - s + L] += orig[e - L : e] * fin
        y[s - L : e] = seg[: e - s + L]
    return y[pad : pad + x.size]
