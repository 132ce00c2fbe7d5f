"""On-disk cache of per-utterance features of a frozen encoder, keyed by what the encoder was fed.

A key is ``sha256(namespace, audio samples)``: the namespace names the encoder, its weights and
its settings, the samples are exactly the float32 wave the model received (after resampling, level
normalisation and any crop or ``window``). Not the corpus path or utt_id: ``score_batch`` sees
waves only, one utterance is scored under several cuts (full length, first 1/2/3/5 s, training
crops), and a rebuilt corpus must never hit an entry of its predecessor.

Entries are uncompressed ``.npz`` files (zip CRC-checked on read, no pickle), written to a temp
file and renamed (atomic: readers see the old entry, the new one, or none). An entry that fails to
load, names another key, or fails the caller's check (e.g. shape, finite values) is deleted and
reported as a miss, never trusted. The root is ``$RCB_CACHE`` or ``~/.cache/robocall-bench`` (or
``$XDG_CACHE_HOME/robocall-bench``); ``RCB_CACHE=off`` disables the cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENV_VAR = "RCB_CACHE"


def cache_root() -> Path | None:
    """The cache folder (``$RCB_CACHE``, else the user cache dir); None when ``RCB_CACHE=off``."""
    raw = os.environ.get(ENV_VAR, "")
    if raw.lower() in ("off", "0", "false", "none"):
        return None
    if raw:
        return Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "robocall-bench"


@dataclass
class FeatureCache:
    """``get``/``put`` arrays by wave under ``<root>/<name>/<key[:2]>/<key>.npz``; counts hits and misses.

    ``namespace``: everything the features depend on besides the samples (e.g. ``GE2EEncoder.key``).
    ``root=None``: a disabled cache (every ``get`` misses, ``put`` does nothing).
    """

    name: str
    namespace: str
    root: Path | None = field(default_factory=cache_root)
    hits: int = 0
    misses: int = 0
    rejected: int = 0  # entries found but not trusted (corrupt, foreign or failing the check)
    _warned: bool = False

    def key(self, wave: np.ndarray) -> str:
        """sha256 hex of the namespace and the samples of ``wave`` (T,) as little-endian float32."""
        h = hashlib.sha256(self.namespace.encode())
        h.update(b"\0")
        h.update(np.ascontiguousarray(wave, dtype="<f4").tobytes())
        return h.hexdigest()

    def path(self, key: str) -> Path | None:
        """Where the entry of ``key`` lives (None when disabled)."""
        return None if self.root is None else self.root / self.name / key[:2] / f"{key}.npz"

    def get(self, key: str, check: Callable[[np.ndarray], bool] = lambda a: True) -> np.ndarray | None:
        """The cached array of ``key``, or None (missing, unreadable, another key's, or ``check`` fails)."""
        p = self.path(key)
        if p is None or not p.is_file():
            self.misses += 1
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                ok_key = str(z["key"]) == key
                arr = z["features"]  # reading the member verifies its CRC-32
            good = ok_key and bool(check(arr))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            good = False
        if not good:
            self.rejected += 1
            self.misses += 1
            p.unlink(missing_ok=True)
            return None
        self.hits += 1
        return arr

    def put(self, key: str, arr: np.ndarray) -> None:
        """Store ``arr`` for ``key`` atomically; a cache that cannot be written warns once and is skipped."""
        p = self.path(key)
        if p is None:
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.stem[:16]}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, key=np.array(key), features=np.ascontiguousarray(arr))
                os.replace(tmp, p)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as e:  # a full or read-only disk slows scoring down but must not stop it
            if not self._warned:
                warnings.warn(f"feature cache {self.root} not written ({e}); set {ENV_VAR}=DIR or {ENV_VAR}=off",
                              RuntimeWarning, stacklevel=2)  # fmt: skip
                self._warned = True

    def stats(self) -> dict[str, int]:
        """``{hits, misses, rejected}`` since this cache object was made."""
        return {"hits": self.hits, "misses": self.misses, "rejected": self.rejected}
