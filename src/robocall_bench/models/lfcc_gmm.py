"""LFCC-GMM: the classic ASVspoof 2019/2021 baseline (not trained by SGD).

Two diagonal-covariance Gaussian mixtures, one on the LFCC frames of each class; an utterance's
score is the mean over its frames of log p(x | robocall) - log p(x | human).

    model = LFCCGMM(n_components=64).fit(waves, labels)   # waves: list of 1-D float arrays @ 16 kHz
    scores = model.score_batch(wave, lengths)             # (B,) numpy
    model.save("gmm.npz"); model = LFCCGMM.load("gmm.npz")

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
        self.kwargs = {
            "n_components": n_components,
            "lfcc": dict(lfcc or {}),
            "max_frames_per_class": max_frames_per_class,
            "max_iter": max_iter,
            "reg_covar": reg_covar,
            "random_state": random_state,
        }
        self.frontend = LFCC(**self.kwargs["lfcc"])
        self.gmms: dict[str, GaussianMixture] | None = None

    # ------------------------------------------------------------------------------- features

    @torch.no_grad()
    def _frames(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Valid LFCC frames of a batch: (sum F_b, 60) float64 and the per-item counts (B,)."""
        dev = self.frontend.lfcc.filter_mat.device  # wherever .to() put the front-end's buffers
        feats, n = self.frontend(wave.to(dev, torch.float32), lengths.to(dev))  # (B, 60, F)
        mask = torch.arange(feats.shape[-1], device=dev)[None, :] < n[:, None]
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
            gmm = GaussianMixture(
                n_components=min(self.kwargs["n_components"], len(x)),
                covariance_type="diag",
                max_iter=self.kwargs["max_iter"],
                reg_covar=self.kwargs["reg_covar"],
                random_state=self.kwargs["random_state"],
            )
            gmms[name] = gmm.fit(x)
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
