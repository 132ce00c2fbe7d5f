"""DET, ROC, score-histogram and early-detection figures (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.special import ndtri

from .core import group, operating_points

DET_TICKS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95)
MAX_POINTS = 4000  # curve points drawn; more are invisible and slow the SVG down


def curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) operating points, each (K,), thinned to at most MAX_POINTS for drawing."""
    fpr, fnr, _ = operating_points(group(np.asarray(scores, float), np.asarray(labels, bool)))
    if fpr.size > MAX_POINTS:
        idx = np.unique(np.linspace(0, fpr.size - 1, MAX_POINTS).astype(int))
        fpr, fnr = fpr[idx], fnr[idx]
    return fpr, fnr


def det_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "DET") -> Figure:
    """DET plot (probit axes) of ``{name: (fpr (K,), fnr (K,))}``."""
    lo, hi = 5e-4, 0.99
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (fpr, fnr) in curves.items():
        ax.plot(ndtri(np.clip(fpr, lo, hi)), ndtri(np.clip(fnr, lo, hi)), label=name, lw=1.5)
    ticks = ndtri(np.array(DET_TICKS))
    labels = [f"{100 * t:g}" for t in DET_TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(ndtri(lo), ndtri(hi))
    ax.set_ylim(ndtri(lo), ndtri(hi))
    ax.plot([ndtri(lo), ndtri(hi)], [ndtri(lo), ndtri(hi)], ":", color="grey", lw=0.8)
    ax.set_xlabel("FPR: humans flagged (%)")
    ax.set_ylabel("FNR: robocalls missed (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC") -> Figure:
    """ROC plot (TPR = 1 - FNR against FPR) of ``{name: (fpr (K,), fnr (K,))}``."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, (fpr, fnr) in curves.items():
        ax.plot(fpr, 1.0 - fnr, label=name, lw=1.5)
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
    ax.set_xlabel("FPR: humans flagged")
    ax.set_ylabel("TPR: robocalls caught")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def histogram_figure(scores: np.ndarray, labels: np.ndarray, thresholds: Mapping[str, float]) -> Figure:
    """Per-class score histograms of ``scores`` (n,), ``labels`` (n,) with vertical threshold lines."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    s = np.asarray(scores, float)
    y = np.asarray(labels, bool)
    lo, hi = float(s.min()), float(s.max())
    bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 51)
    ax.hist(s[~y], bins=bins, alpha=0.6, density=True, label=f"human (n={int((~y).sum())})")
    ax.hist(s[y], bins=bins, alpha=0.6, density=True, label=f"robocall (n={int(y.sum())})")
    for i, (name, t) in enumerate(thresholds.items()):
        ax.axvline(t, color=f"C{i + 2}", ls="--", lw=1, label=f"{name} = {t:.3g}")
    ax.set_xlabel("score (higher = robocall)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def early_figure(
    seconds: Sequence[float], eer: Sequence[float], ci: Sequence[Sequence[float] | None]
) -> Figure:
    """EER (with CI bars when present) against seconds of audio heard."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    x, y = np.asarray(seconds, float), 100 * np.asarray(eer, float)
    if all(c is not None for c in ci):
        err = np.array([[v - 100 * c[0], 100 * c[1] - v] for v, c in zip(y, ci, strict=True)]).T
        ax.errorbar(x, y, yerr=np.maximum(err, 0), marker="o", capsize=3)
    else:
        ax.plot(x, y, marker="o")
    ax.set_xlabel("seconds heard")
    ax.set_ylabel("EER (%)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def render(fig: Figure, formats: tuple[str, ...] = ("png", "svg")) -> dict[str, bytes]:
    """The figure as bytes per format ("png", "svg"), without timestamps; the figure is closed."""
    out = {}
    for fmt in formats:
        buf = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        with matplotlib.rc_context({"svg.hashsalt": "robocall-bench"}):
            fig.savefig(buf, format=fmt, dpi=110, metadata=meta)
        out[fmt] = buf.getvalue()
    plt.close(fig)
    return out
