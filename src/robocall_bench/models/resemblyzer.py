"""Resemblyzer front-end: the frozen GE2E speaker encoder (ge2e.py) and a small classifier on its embeddings.

Each utterance becomes the L2-normed mean of its 1.6 s partial-utterance embeddings (256-d, as
``VoiceEncoder.embed_utterance``), optionally with their standard deviation (``pool: mean_std``,
512-d: how much the "voice" drifts within the call). A standardised logistic regression
(``hidden: 0``) or a one-hidden-layer MLP (``hidden: N``, sklearn) is fitted on the train split.

Partial embeddings are cached on disk (embcache.py) under a key of the exact samples the encoder
saw and the encoder's weights and settings: refitting the head or rescoring a corpus reads them
back instead of running the LSTM again.

    model = ResemblyzerDetector(hidden=0).fit(waves, labels)   # waves: list of (T,) float @ 16 kHz
    scores = model.score_batch(wave, lengths)                  # (B,) numpy log-odds (robocall vs human)
    model.save("head.npz"); model = ResemblyzerDetector.load("head.npz")

Like :class:`~.lfcc_gmm.LFCCGMM` it is fitted (``fit``/``score_batch``/``save``/``load``), not trained
by SGD; ``forward`` gives logits ``[0, score]`` and bypasses the cache, so profiling it
(models/profile.py) measures the real encoder cost.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from .base import Detector
from .embcache import FeatureCache
from .ge2e import EMBED_DIM, GE2EEncoder, utterance_embedding

POOLS = ("mean", "mean_std")
_CHUNK = 32  # utterances per encoder call


class ResemblyzerDetector(Detector):
    """Frozen GE2E encoder + fitted head; ``forward(wave (B, T), lengths (B,)) -> (B, 2)`` logits [0, score]."""

    def __init__(
        self,
        pool: str = "mean",
        hidden: int = 0,
        C: float = 1.0,
        alpha: float = 1e-3,
        max_iter: int = 2000,
        rate: float = 1.3,
        min_coverage: float = 0.75,
        max_partials: int = 256,
        cache: bool = True,
        random_state: int = 0,
    ) -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool={pool!r}: use one of {', '.join(POOLS)}")
        if hidden < 0:
            raise ValueError(f"hidden={hidden}: use 0 (logistic regression) or a hidden layer size")
        self.kwargs = {"pool": pool, "hidden": int(hidden), "C": float(C), "alpha": float(alpha),
                       "max_iter": int(max_iter), "rate": float(rate), "min_coverage": float(min_coverage),
                       "max_partials": int(max_partials), "cache": bool(cache), "random_state": int(random_state)}  # fmt: skip
        self.encoder = GE2EEncoder.pretrained(rate=rate, min_coverage=min_coverage, max_partials=max_partials)
        self.cache = FeatureCache("ge2e", self.encoder.key, **({} if cache else {"root": None}))
        # (mean, scale) of the features, then (W, b) per layer; ReLU between layers, last layer -> 1 logit
        self.head: dict[str, np.ndarray] | None = None
        self.fit_info: dict[str, Any] = {}

    # ------------------------------------------------------------------------------- features

    def partials(self, waves: Sequence[np.ndarray], use_cache: bool = True) -> list[np.ndarray]:
        """Partial-utterance embeddings (P_i, 256) float32 per wave (T_i,) @ 16 kHz; cached when enabled."""
        waves = [np.asarray(w, dtype=np.float32).reshape(-1) for w in waves]
        out: list[np.ndarray | None] = [None] * len(waves)
        keys = [self.cache.key(w) for w in waves] if use_cache else []
        if use_cache:
            for i, (w, k) in enumerate(zip(waves, keys, strict=True)):
                out[i] = self.cache.get(k, lambda a, n=w.size: self._valid(a, n))
        todo = [i for i, o in enumerate(out) if o is None]
        for c in range(0, len(todo), _CHUNK):  # cached chunk by chunk: an interrupted fit keeps its work
            part = todo[c : c + _CHUNK]
            for i, p in zip(part, self.encoder.partial_embeddings([waves[i] for i in part]), strict=True):
                out[i] = p
                if use_cache:
                    self.cache.put(keys[i], p)
        return out  # type: ignore[return-value]

    def _valid(self, a: np.ndarray, n_samples: int) -> bool:
        """Whether a cache entry can be the partials of a ``n_samples`` wave: shape, finite, ReLU + L2 norm."""
        if a.dtype != np.float32 or a.shape != (self.encoder.n_partials(n_samples), EMBED_DIM):
            return False
        norms = np.linalg.norm(a, axis=1)
        return bool(
            np.isfinite(a).all() and (a >= 0).all() and np.all((np.abs(norms - 1) < 1e-3) | (norms == 0))
        )

    def features(self, partials: Sequence[np.ndarray]) -> np.ndarray:
        """Pooled features (N, 256) (``pool: mean``) or (N, 512) (``mean_std``) of N utterances' partials."""
        rows = []
        for p in partials:
            f = utterance_embedding(p)
            rows.append(np.concatenate([f, p.std(axis=0)]) if self.kwargs["pool"] == "mean_std" else f)
        return np.stack(rows).astype(np.float64)

    # ------------------------------------------------------------------------------- training

    def fit(self, waves: Sequence[np.ndarray], labels: Sequence[int]) -> ResemblyzerDetector:
        """Embed the waves (label 0 = human, 1 = robocall) and fit the head; returns self.

        ``fit_info`` afterwards: embedding and head seconds, cache hits/misses, feature size.
        """
        y = np.asarray(labels, dtype=int)
        if len(waves) != len(y):
            raise ValueError(f"{len(waves)} waves but {len(y)} labels")
        if set(np.unique(y)) != {0, 1}:
            raise ValueError(f"fit needs both classes (0 = human, 1 = robocall); got labels {sorted(set(y))}")
        before = self.cache.stats()
        t0 = time.perf_counter()
        x = self.features(self.partials(waves))
        t1 = time.perf_counter()
        scaler = StandardScaler().fit(x)
        xs = scaler.transform(x)
        k = self.kwargs
        if k["hidden"] == 0:
            clf = LogisticRegression(C=k["C"], class_weight="balanced", max_iter=k["max_iter"],
                                     random_state=k["random_state"]).fit(xs, y)  # fmt: skip
            layers = [(clf.coef_.T, clf.intercept_)]
        else:  # MLPClassifier has no class weights: the per-call pools are balanced by construction
            clf = MLPClassifier((k["hidden"],), alpha=k["alpha"], max_iter=k["max_iter"], early_stopping=False,
                                random_state=k["random_state"]).fit(xs, y)  # fmt: skip
            layers = list(zip(clf.coefs_, clf.intercepts_, strict=True))
        head = {"mean": scaler.mean_, "scale": scaler.scale_}
        for i, (w, b) in enumerate(layers):
            head[f"W{i}"], head[f"b{i}"] = np.asarray(w, np.float64), np.asarray(b, np.float64)
        self.head = head
        after = self.cache.stats()
        self.fit_info = {"embed_seconds": round(t1 - t0, 3), "head_seconds": round(time.perf_counter() - t1, 3),
                         "feature_dim": int(x.shape[1]), "partials": int(sum(self.encoder.n_partials(np.size(w)) for w in waves)),
                         **{f"cache_{n}": after[n] - before[n] for n in after}}  # fmt: skip
        return self

    # -------------------------------------------------------------------------------- scoring

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Head output: features (N, D) -> log-odds robocall vs human (N,) float64."""
        if self.head is None:
            raise RuntimeError("ResemblyzerDetector is not fitted: call fit(waves, labels) or load(path)")
        h = (x - self.head["mean"]) / self.head["scale"]
        n = sum(1 for k in self.head if k.startswith("W"))
        for i in range(n):
            h = h @ self.head[f"W{i}"] + self.head[f"b{i}"]
            if i < n - 1:
                h = np.maximum(h, 0.0)
        return h[:, 0]

    def score_batch(self, wave: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray,
                    use_cache: bool = True) -> np.ndarray:  # fmt: skip
        """wave (B, T) zero-padded, lengths (B,) -> log-odds (B,) float64 (cached embeddings when enabled)."""
        if self.head is None:  # before any encoder work
            raise RuntimeError("ResemblyzerDetector is not fitted: call fit(waves, labels) or load(path)")
        w = torch.as_tensor(wave).detach().cpu().float().numpy()
        n = torch.as_tensor(lengths).cpu().numpy()
        return self.decision(
            self.features(self.partials([w[i, : int(n[i])] for i in range(len(n))], use_cache))
        )

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B, 2) = [0, log-odds], computed without the cache (profiling sees the encoder's real cost)."""
        s = torch.as_tensor(self.score_batch(wave, lengths, use_cache=False), dtype=torch.float32)
        return torch.stack([torch.zeros_like(s), s], dim=1).to(wave.device)

    # ---------------------------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write the config, encoder hash and head to ``path`` (.npz, no pickle), atomically (temp + rename)."""
        if self.head is None:
            raise RuntimeError("nothing to save: ResemblyzerDetector is not fitted")
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
            np.savez(fh, config=np.array(json.dumps(self.kwargs)),
                     encoder=np.array(self.encoder.weights_sha256), **self.head)  # fmt: skip
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ResemblyzerDetector:
        """Rebuild a fitted model written by :meth:`save`; ValueError if it was fitted on other encoder weights."""
        with np.load(path, allow_pickle=False) as z:
            model = cls(**json.loads(str(z["config"])))
            if str(z["encoder"]) != model.encoder.weights_sha256:
                raise ValueError(f"{path}: head fitted on encoder weights {str(z['encoder'])[:12]}, "
                                 f"installed {model.encoder.weights_sha256[:12]}")  # fmt: skip
            model.head = {k: z[k] for k in z.files if k not in ("config", "encoder")}
        return model
