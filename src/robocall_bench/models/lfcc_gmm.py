"""LFCC-GMM: the classic ASVspoof 2019/2021 baseline (not trained by SGD).

Two diagonal-covariance Gaussian mixtures, one on the LFCC frames of each class; an utterance's
score is the mean over its frames of log p(x | robocall) - log p(x | human).

    model = LFCCGMM(n_components=64).fit(waves, labels)   # waves: list of 1-D float arrays @ 16 kHz
    scores = model.score_batch(wave, lengths)             # (B,) numpy
    model.save("gmm.npz"); model = LFCCGMM.load("gmm.npz")

Reproducible across machines: another CPU (MKL/OpenBLAS SIMD kernels) or thread count changes float
rounding, and sklearn's k-means start (argmin decisions over ~100 Lloyd iterations) turned such
differences of the features into another local optimum (demo recipe: eval EER 15.32% vs 15.77%, from
float32 LFCCs of MKL's default vs compatible code path). So the LFCCs are float64 and EM starts from
seeded frames (chosen by index, not value): the fit is a continuous function of the frames and moves
by rounding when they do (tests/test_gmm_determinism.py). Only EM's stop test (lower-bound change
< 1e-3) still compares values; rounding flips it only when a change lies within rounding of 1e-3.

It is a :class:`~.base.Detector` (``forward`` gives logits ``[0, llr]``, so ``score_from_logits``
returns the LLR) but has no parameters: train it with :meth:`fit`, persist it with :meth:`save` /
:meth:`load` (an ``.npz`` of the mixture parameters: no pickle), not with ``state_dict``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from .base import CLASSES, Detector
from .frontends import LFCC

_FIELDS = ("weights_", "means_", "covariances_")


def fit_diag_gmm(
    x: np.ndarray, n_components: int, max_iter: int, reg_covar: float, seed: int | tuple[int, ...]
) -> GaussianMixture:
    """EM fit of a diagonal GMM to frames ``x`` (N, D) float64 from a smooth, seeded start.

    Start: ``n_components`` frames drawn by index with ``np.random.default_rng(seed)`` as means, the
    frames' variance (+ reg_covar) for every component, equal weights. Every later step (E and M) is
    a continuous function of ``x``, so rounding differences (BLAS kernels, threads, libm) stay rounding
    differences; k-means (sklearn's default) is not: one flipped assignment changes the optimum.
    """
    rng = np.random.default_rng(seed)
    means = x[rng.choice(len(x), n_components, replace=False)]
    var = np.broadcast_to(x.var(axis=0) + reg_covar, means.shape)
    gmm = GaussianMixture(
        n_components=n_components,
        covariance_type="diag",
        max_iter=max_iter,
        reg_covar=reg_covar,
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=means,
        precisions_init=1.0 / var,
    )
    return gmm.fit(x)


class LFCCGMM(Detector):
    """Two diagonal GMMs on LFCC frames; ``forward(wave (B, T), lengths (B,)) -> (B, 2)`` logits [0, llr]."""

    def __init__(
        self,
        n_components: int = 64,
        lfcc: dict | None = None,
        max_frames_per_class: int = 200_000,
        max_iter: int = 100,
        reg_covar: float = 1e-4,
        random_state: int = 0,
    ) -> None:
        super().__init__()
        if int(n_components) < 1 or int(max_iter) < 1:
            raise ValueError(
                f"LFCCGMM: n_components={n_components} and max_iter={max_iter} must be >= 1 "
                "(set model.n_components=64 / model.max_iter=100, the defaults)"
            )
        self.kwargs = {
            "n_components": n_components,
            "lfcc": dict(lfcc or {}),
            "max_frames_per_class": max_frames_per_class,
            "max_iter": max_iter,
            "reg_covar": reg_covar,
            "random_state": random_state,
        }
        # float64: float32 LFCCs differ by ~1e-6 (about 10 ulps) between MKL's CPU code paths
        self.frontend = LFCC(**self.kwargs["lfcc"]).double()
        self.gmms: dict[str, GaussianMixture] | None = None

    # ------------------------------------------------------------------------------- features

    @torch.no_grad()
    def _frames(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Valid LFCC frames of a batch: (sum F_b, 60) float64 and the per-item counts (B,)."""
        buf = self.frontend.lfcc.filter_mat  # wherever .to() put the front-end's buffers, in their dtype
        feats, n = self.frontend(wave.to(buf.device, buf.dtype), lengths.to(buf.device))  # (B, 60, F)
        mask = torch.arange(feats.shape[-1], device=buf.device)[None, :] < n[:, None]
        return feats.transpose(1, 2)[mask].double().cpu().numpy(), n.cpu().numpy()

    def features(self, wave: np.ndarray) -> np.ndarray:
        """LFCC frames (F, 60) of one 1-D waveform."""
        x = torch.as_tensor(np.asarray(wave, dtype=np.float32))[None]
        return self._frames(x, torch.tensor([x.shape[1]]))[0]

    # ------------------------------------------------------------------------------- training

    def fit(self, waves: Sequence[np.ndarray], labels: Sequence[int]) -> LFCCGMM:
        """Fit one GMM per class (label 0 = human, 1 = robocall); returns self."""
        if len(waves) != len(labels):
            raise ValueError(f"{len(waves)} waves but {len(labels)} labels")
        rng = np.random.default_rng(self.kwargs["random_state"])
        gmms = {}
        for label, name in enumerate(CLASSES):
            frames = [self.features(w) for w, y in zip(waves, labels, strict=True) if int(y) == label]
            if not frames:
                raise ValueError(f"no training audio for class {label} ({name})")
            x = np.concatenate(frames)
            cap = self.kwargs["max_frames_per_class"]
            if len(x) > cap:  # seeded subsample keeps fitting time bounded on large corpora
                x = x[np.sort(rng.choice(len(x), cap, replace=False))]
            gmms[name] = fit_diag_gmm(
                x,
                n_components=min(self.kwargs["n_components"], len(x)),
                max_iter=self.kwargs["max_iter"],
                reg_covar=self.kwargs["reg_covar"],
                seed=(self.kwargs["random_state"], label),
            )
        self.gmms = gmms
        return self

    # -------------------------------------------------------------------------------- scoring

    def score_batch(self, wave: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray) -> np.ndarray:
        """Mean frame log-likelihood ratio (robocall - human) per item: (B,) float64."""
        if self.gmms is None:
            raise RuntimeError("LFCCGMM is not fitted: call fit(waves, labels) or LFCCGMM.load(path)")
        x, counts = self._frames(torch.as_tensor(wave), torch.as_tensor(lengths, dtype=torch.long))
        llr = self.gmms["robocall"].score_samples(x) - self.gmms["human"].score_samples(x)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return np.add.reduceat(llr, starts) / counts

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B, 2) = [0, llr]: score_from_logits gives back the LLR."""
        llr = torch.as_tensor(self.score_batch(wave.detach(), lengths), dtype=torch.float32)
        return torch.stack([torch.zeros_like(llr), llr], dim=1).to(wave.device)

    # ---------------------------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write the config and mixture parameters to ``path`` (.npz), atomically (temp + rename)."""
        if self.gmms is None:
            raise RuntimeError("nothing to save: LFCCGMM is not fitted")
        path = Path(path)
        arrays = {f"{c}.{f}": getattr(self.gmms[c], f) for c in CLASSES for f in _FIELDS}
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
            np.savez(fh, config=np.array(json.dumps(self.kwargs)), **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> LFCCGMM:
        """Rebuild a fitted model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            model = cls(**json.loads(str(z["config"])))
            model.gmms = {}
            for c in CLASSES:
                w, mu, var = (z[f"{c}.{f}"] for f in _FIELDS)
                gmm = GaussianMixture(n_components=len(w), covariance_type="diag")
                gmm.weights_, gmm.means_, gmm.covariances_ = w, mu, var
                gmm.precisions_cholesky_ = 1.0 / np.sqrt(var)  # what score_samples reads
                gmm.precisions_ = 1.0 / var
                gmm.converged_, gmm.n_features_in_ = True, mu.shape[1]
                model.gmms[c] = gmm
        return model

    def macs_per_frame(self) -> int:
        """Rough scoring cost per LFCC frame: 2 GMMs x K components x D dims x ~2 MACs."""
        k = max(len(g.weights_) for g in self.gmms.values()) if self.gmms else self.kwargs["n_components"]
        return 2 * k * self.frontend.out_dim * 2
