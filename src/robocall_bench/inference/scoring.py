"""Loading a trained detector (torch or lfcc_gmm) from a run directory or checkpoint, and batch scoring.

Files longer than ``LongAudio.max_s`` (60 s by default) are scored in windows with a fixed memory
bound; see longaudio.py for how window scores become the file score.

A published AASIST / AASIST-L state dict (``AASIST.pth``, ``AASIST-L.pth`` of clovaai/aasist) is
scored as its authors evaluate it (zero-shot): the architecture is the configs/model/ AASIST whose
sizes fit the file, the input the first 64,600 samples at 16 kHz (tiled when shorter), not
level-normalised (see models/aasist_weights.py).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from ..errors import RcbError
from .checkpoint import check_checkpoint, check_same_model, load_torch_file, model_name
from .evaldata import EvalDataset, collate_eval, pad_batch
from .longaudio import LongAudio, LongFile, score_long
from .preprocess import Preprocess, first_samples_tiled

# Descriptive model-config keys that are not constructor arguments.
META_KEYS = ("name", "description")
# A scoring batch of whole files holds at most this many seconds of padded audio (the default of
# `score.max_batch_seconds`). On a CPU smaller batches are faster: at 24 s the LCNN and the tiny wav2vec 2.0
# score the mini corpus 1.7-1.8x faster than at 320 s (16 long calls make LCNN activations of ~0.7 GB a
# layer, far beyond any cache), but batch composition moves LCNN scores by up to 3e-4 (float rounding),
# so the default stays at the value every committed entry was scored with.
MAX_BATCH_SECONDS = 320.0
# Suffix of the embedded file of a fitted model (it names a temp file: no path parts).
_SUFFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.")
# A fixed-length scorer reads this many seconds beyond its input length (resampler context at the cut).
FIXED_READ_MARGIN_S = 1.0


def build_model(model_cfg: dict[str, Any], where: str = "model config", trusted: bool = False) -> Any:
    """Build a detector from its (plain-dict) ``model/`` config via ``models.build_model``.

    The config's targets must be allowed (configs/model/*.yaml or registered), else RcbError naming
    ``where``. ``trusted=True`` is for the user's own composed training config only (command line +
    configs/): its targets are registered for this process first, so the run's own checkpoints load.
    Never pass ``trusted=True`` for a config read from a file (checkpoint, run directory).
    """
    from ..models import PretrainedUnavailableError, check_model_config, register_detector
    from ..models import build_model as registry_build

    args = {k: v for k, v in dict(model_cfg).items() if k not in META_KEYS}
    what = model_name(model_cfg)
    if trusted:
        _register_targets(args, register_detector)
    check_model_config(args, where)  # RcbError before anything is imported
    try:
        return registry_build(args)
    except PretrainedUnavailableError as e:
        raise RcbError(f"model {what!r}: {e}") from e
    except RcbError:
        raise
    except Exception as e:  # a bad config: name the model and the cause
        raise RcbError(f"cannot build model {what!r} ({where}): {e}") from e


def _register_targets(node: Any, register: Callable[..., None], top: bool = True) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            register(node["_target_"], nested=not top)
        for v in node.values():
            _register_targets(v, register, False)
    elif isinstance(node, list | tuple):
        for v in node:
            _register_targets(v, register, False)


def is_torch_model(obj: Any) -> bool:
    """True for detectors trained by SGD; False for models with ``fit``/``score_batch``/``save`` (lfcc_gmm),
    which may still be nn.Modules (without parameters) but are fitted, not trained."""
    fitted = all(callable(getattr(obj, m, None)) for m in ("fit", "score_batch", "save"))
    return isinstance(obj, torch.nn.Module) and not fitted


@dataclass
class Scorer:
    """A loaded detector: ``score(waves)`` maps 16 kHz arrays to robocall scores (higher = robocall).

    ``fixed_samples``: every input is cut to its first ``fixed_samples`` samples, or tiled up to them
    when shorter (the published AASIST weights' evaluation input); None: inputs as they are.
    """

    model: Any
    kind: str
    pre: Preprocess
    meta: dict[str, Any]
    path: Path
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    fixed_samples: int | None = None

    @torch.no_grad()
    def score_padded(self, wave: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
        """wave (B, T) zero-padded, lengths (B,) -> scores (B,) float64."""
        if self.kind == "torch":
            from ..models.base import score_from_logits

            logits = self.model(wave.to(self.device), lengths.to(self.device))
            out = score_from_logits(logits.float())
        else:
            out = self.model.score_batch(wave, lengths)
        return np.asarray(out.detach().cpu() if torch.is_tensor(out) else out, dtype=np.float64).reshape(-1)

    def score(self, waves: Sequence[np.ndarray], batch_size: int = 16,
              max_batch_s: float = MAX_BATCH_SECONDS) -> np.ndarray:  # fmt: skip
        """List of (T_i,) float32 arrays -> (n,) scores, batched by similar length (<= ``batch_size``
        items and <= ``max_batch_s`` seconds of padded audio per batch)."""
        if self.fixed_samples:
            waves = [first_samples_tiled(w, self.fixed_samples) for w in waves]
        out = np.empty(len(waves), dtype=np.float64)
        for idx in length_batches([w.size for w in waves], batch_size, self.pre.sample_rate, max_batch_s):
            wave, lengths = pad_batch([waves[i] for i in idx])
            out[idx] = self.score_padded(wave, lengths)
        return out


def check_max_batch_s(value: Any, key: str = "max_batch_seconds") -> float | None:
    """``value`` as positive finite seconds (None stays None: the default); RcbError naming ``key`` otherwise."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise RcbError(f"{key}={value}: give a positive number of seconds of padded audio per scoring batch "
                       f"(default {MAX_BATCH_SECONDS:g}; 24 is fastest on a CPU)")  # fmt: skip
    return v


def length_batches(lengths: Sequence[int], batch_size: int, sr: int,
                   max_batch_s: float = MAX_BATCH_SECONDS) -> list[list[int]]:  # fmt: skip
    """Indices grouped by sorted length; each group <= batch_size items and <= max_batch_s seconds padded
    (a single longer item is a group of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        longest = max(lengths[i], 1)
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * longest > max_batch_s * sr):
            groups.append(cur)
            cur = []
        cur.append(i)
    if cur:
        groups.append(cur)
    return groups


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if device in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_checkpoint(path: str | os.PathLike, which: str = "best") -> tuple[Path, dict[str, Any] | None]:
    """(checkpoint file, run config or None) for a run directory or a checkpoint file."""
    p = Path(path).expanduser()
    if p.is_dir():
        cdir = p / "checkpoints"
        names = [f"{which}.ckpt", "best.ckpt", "last.ckpt"]
        found = [cdir / n for n in names if (cdir / n).is_file()]
        if not found:
            raise RcbError(
                f"{p} has no checkpoints/best.ckpt or checkpoints/last.ckpt; is it a run directory of "
                "`rcb train` (did the run finish its first checkpoint)?"
            )
        cfg_file = p / "config.yaml"
        cfg = OmegaConf.to_container(OmegaConf.load(cfg_file), resolve=False) if cfg_file.is_file() else None
        return found[0], cfg  # type: ignore[return-value]
    if not p.exists():
        raise RcbError(f"checkpoint {p} not found; pass ckpt=RUN_DIR or ckpt=RUN_DIR/checkpoints/best.ckpt")
    return p, None


def load_scorer(path: str | os.PathLike, device: str = "auto", which: str = "best") -> Scorer:
    """Rebuild the model of a run directory or checkpoint and load its weights (eval mode).

    ``path`` may also be a published AASIST / AASIST-L state dict (see :func:`load_published_scorer`).
    """
    ckpt_path, run_cfg = resolve_checkpoint(path, which)
    obj = load_torch_file(ckpt_path)
    from ..models.aasist_weights import is_published_state

    if run_cfg is None and is_published_state(obj):
        return load_published_scorer(obj, ckpt_path, device)
    ck = check_checkpoint(obj, ckpt_path)
    meta = ck["rcb"]
    ck_model = dict(meta.get("model") or {})
    if run_cfg is not None and isinstance(run_cfg.get("model"), dict):
        check_same_model(ckpt_path, ck_model, run_cfg["model"], f"{Path(path)}/config.yaml")
    ck_model = without_pretrained(ck_model, meta, ckpt_path)
    model = build_model(ck_model, f"checkpoint {ckpt_path}")
    pre = Preprocess.from_dict(meta.get("preprocess"))
    dev = pick_device(device)
    kind = meta.get("kind", "torch")
    if kind == "torch":
        if not is_torch_model(model):
            raise RcbError(
                f"{ckpt_path}: a torch checkpoint, but model {model_name(ck_model)!r} is not a torch model"
            )
        state = {k[len("model.") :]: v for k, v in ck.get("state_dict", {}).items() if k.startswith("model.")}
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise RcbError(
                f"{ckpt_path}: weights do not fit model {model_name(ck_model)!r} "
                f"({str(e).splitlines()[0][:300]}). The checkpoint comes from another model or code version."
            ) from e
        model.to(dev).eval()
    else:
        model = load_fitted(model, ck, ckpt_path)
    return Scorer(model, kind, pre, meta, ckpt_path, dev)


def load_published_scorer(state: dict[str, Any], path: Path, device: str = "auto") -> Scorer:
    """A scorer of published AASIST / AASIST-L weights, as the authors evaluate them (zero-shot).

    The model config is the configs/model/ AASIST whose sizes fit the weights; inputs are resampled
    to 16 kHz, not level-normalised, and cut to their first 64,600 samples (tiled when shorter),
    as the authors' evaluation loader does.
    """
    from ..contract import sha256_file
    from ..models.aasist_weights import PUBLISHED_SAMPLES, REFERENCE, convert_published, published_config

    where = f"published weights {path}"
    name, cfg = published_config(state, where)
    model = build_model(cfg, f"configs/model/{name}.yaml")
    model.load_state_dict(convert_published(state, model, where), strict=True)
    dev = pick_device(device)
    model.to(dev).eval()
    pre = Preprocess(normalize="none")
    meta = {
        "model": {"name": name, **cfg},
        "preprocess": pre.to_dict(),
        "published": {
            "path": str(path),
            "sha256": sha256_file(path),
            "reference": REFERENCE,
            "input_samples": PUBLISHED_SAMPLES,
        },
    }
    return Scorer(model, "torch", pre, meta, path, dev, fixed_samples=PUBLISHED_SAMPLES)


def without_pretrained(ck_model: dict[str, Any], meta: dict[str, Any], ckpt_path: Path) -> dict[str, Any]:
    """The model config to rebuild a checkpoint's architecture with no ``pretrained`` load.

    A checkpoint holds every weight, so the backbone is built from the full config saved beside
    them (``backbone_config``): a checkpoint someone hands us cannot make scoring read a local
    path or fetch a hub id, and a fine-tuned wav2vec2 scores offline. A model whose ``pretrained``
    only initialises weights (AASIST from the published weights) is rebuilt with ``pretrained=None``.
    """
    if not ck_model.get("pretrained"):
        return ck_model
    if _pretrained_sets_weights_only(ck_model):
        return {**ck_model, "pretrained": None}
    bc = meta.get("backbone_config")
    if not isinstance(bc, dict) or not bc:
        raise RcbError(
            f"{ckpt_path}: the model names pretrained={str(ck_model['pretrained'])[:200]!r} but the checkpoint "
            "carries no backbone_config; scoring does not load weights a checkpoint points at. Re-save it "
            "with this version of `rcb train` (resume the run for one step), which stores the config."
        )
    return {**ck_model, "pretrained": None, "config": bc}


def _pretrained_sets_weights_only(ck_model: dict[str, Any]) -> bool:
    """True when the (already allowed) detector class of ``ck_model`` says ``pretrained`` is weights only."""
    from ..models import _locate, allowed_targets

    target = ck_model.get("_target_")
    if not isinstance(target, str) or target not in allowed_targets()[0]:
        return False
    return bool(getattr(_locate(target), "pretrained_sets_weights_only", False))


def load_fitted(model: Any, ck: dict[str, Any], ckpt_path: Path) -> Any:
    """Restore a non-torch model (lfcc_gmm) from the file bytes embedded in its checkpoint."""
    blob, suffix = ck.get("blob"), ck.get("suffix", ".bin")
    if not isinstance(blob, bytes | bytearray) or not hasattr(model, "load"):
        raise RcbError(f"{ckpt_path}: fitted-model checkpoint without model bytes, or a model without load()")
    if not isinstance(suffix, str) or len(suffix) > 16 or not set(suffix) <= _SUFFIX_CHARS:
        raise RcbError(f"{ckpt_path}: damaged fitted-model checkpoint (file suffix {str(suffix)[:40]!r})")
    with tempfile.TemporaryDirectory() as td:
        f = Path(td) / f"model{suffix}"
        f.write_bytes(bytes(blob))
        loaded = model.load(f)
    return loaded if loaded is not None else model


@dataclass
class ScoreResult:
    """``scores`` (n,) (NaN where unreadable), ``errors`` index -> message, audio seconds and wall time;
    ``n_long``: files scored in windows."""

    scores: np.ndarray
    errors: dict[int, str]
    audio_s: float
    wall_s: float
    n_long: int = 0

    @property
    def rtf(self) -> float:
        """Real-time factor: wall seconds per second of audio (lower is faster)."""
        return self.wall_s / self.audio_s if self.audio_s > 0 else float("nan")


def score_paths(
    scorer: Scorer,
    paths: Sequence[str],
    window: float | None = None,
    batch_size: int = 16,
    num_workers: int = 0,
    max_s: float | None = None,
    progress: Callable[[int], None] | None = None,
    long: LongAudio | None = None,
    max_batch_s: float | None = None,
) -> ScoreResult:
    """Score audio files (any rate/channels); unreadable files become entries of ``errors``.

    ``max_batch_s``: seconds of padded audio per model call (None: ``MAX_BATCH_SECONDS``).
    ``long``: windowed scoring of files longer than ``long.max_s`` (default ``LongAudio()``: 60 s);
    ``LongAudio(max_s=None)`` reads every file whole, as before windows existed (memory grows with it).
    """
    long = LongAudio() if long is None else long
    if scorer.fixed_samples:  # only the first fixed_samples are scored: read those (+ margin), never window
        cap = scorer.fixed_samples / scorer.pre.sample_rate + FIXED_READ_MARGIN_S
        max_s = cap if max_s is None else min(float(max_s), cap)
        long = LongAudio(max_s=None)
    ds = EvalDataset(list(paths), scorer.pre, window, max_s, long)
    chunk = max(1, batch_size) * 4  # read a few batches, then sort them by length to limit padding
    dl = DataLoader(ds, batch_size=chunk, num_workers=num_workers, collate_fn=collate_eval, shuffle=False)
    scores = np.full(len(ds), np.nan)
    errors: dict[int, str] = {}
    audio_s, n_long, t0 = 0.0, 0, time.perf_counter()
    for items in dl:
        ok = [(i, w) for i, w, err, _ in items if err is None and not isinstance(w, LongFile)]
        for i, w, err, _ in items:
            if err is not None:
                errors[i] = err
            elif isinstance(w, LongFile):  # streamed here, window by window, never loaded whole
                s, err, sec = score_long(w, long, scorer.pre, scorer.score_padded, batch_size)
                n_long += 1
                audio_s += sec
                if err is not None:
                    errors[i] = err
                else:
                    scores[i] = s
        audio_s += sum(sec for *_, sec in items)
        if ok:
            idx, waves = zip(*ok, strict=True)
            s = scorer.score(list(waves), batch_size, MAX_BATCH_SECONDS if max_batch_s is None else max_batch_s)
            bad = ~np.isfinite(s)
            for k in np.flatnonzero(bad):
                errors[idx[k]] = "model returned a non-finite score"
            scores[np.asarray(idx)[~bad]] = s[~bad]
        if progress is not None:
            progress(len(items))
    return ScoreResult(scores, errors, audio_s, time.perf_counter() - t0, n_long)
