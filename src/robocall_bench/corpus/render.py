"""Rendering planned utterances: source audio or TTS -> duration policy -> telephone channel -> FLAC.

Each utterance is a pure function of its plan entry and seed, so rendering order, worker count
and sharding never change a byte. Finished utterances (FLAC + sidecar JSON, both written by
rename) are skipped on rerun.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audio import atomic_write_text, write_flac
from ..errors import BadAudioError, RcbError
from ..seeding import rng_for
from ..sources.base import load_item
from .plan import UttPlan
from .segment import fit_duration


@dataclass
class RenderContext:
    """What a worker needs: output dir, TTS engines by system id (loaded lazily), the channel."""

    out: Path
    engines: dict[str, Any]
    channel: Any
    channel_name: str
    timings: dict[str, float] = field(default_factory=dict)


def meta_path(out: Path, u: UttPlan) -> Path:
    """Sidecar JSON of a rendered utterance (its presence marks the utterance finished)."""
    return out / "meta" / u.split / f"{u.utt_id}.json"


def is_done(out: Path, u: UttPlan) -> bool:
    """True when both the FLAC and its sidecar exist (the sidecar is written last)."""
    return meta_path(out, u).is_file() and (out / u.path).is_file()


def render_one(u: UttPlan, ctx: RenderContext) -> tuple[dict, dict[str, float]]:
    """Render ``u`` and write its FLAC and sidecar; returns (sidecar dict, stage seconds).

    A source file that turns out unusable gives a sidecar with ``skipped`` set (no FLAC), so the
    reason reaches the manifest and reruns do not retry it.
    """
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    try:
        if u.label == "human":
            assert u.item is not None
            x, sr = load_item(u.item, u.start, u.stop)
            extra["source_files"] = list(u.item.files)
            extra["window"] = [u.start, u.stop]
            t["load"] = time.perf_counter() - t0
            t["load_audio"] = len(x) / sr
        else:
            syn = ctx.engines[u.system].synthesize(u.text or "", u.language, rng_for(u.seed, "tts"))
            x, sr = syn.audio, syn.sample_rate
            extra["tts_params"] = syn.params
            t[f"tts:{u.system}"] = time.perf_counter() - t0
            t[f"tts_audio:{u.system}"] = len(x) / sr
    except BadAudioError as e:
        meta = {"utt_id": u.utt_id, "key": u.key, "skipped": e.reason, "file": e.path}
        atomic_write_text(meta_path(ctx.out, u), json.dumps(meta, sort_keys=True))
        return meta, t
    t1 = time.perf_counter()
    y = fit_duration(x, sr, u.target_s, u.pad_s)
    res = ctx.channel.apply(y, sr, rng_for(u.seed, "channel"), codec=u.codec)
    t2 = time.perf_counter()
    t["channel"] = t2 - t1
    if res.codec != u.codec:
        raise RcbError(f"internal: channel applied {res.codec} instead of planned {u.codec}")
    data = write_flac(ctx.out / u.path, res.audio, res.sample_rate)
    duration = len(res.audio) / res.sample_rate
    meta = {
        "utt_id": u.utt_id,
        "key": u.key,
        "duration": round(duration, 4),
        "sample_rate": res.sample_rate,
        "snr_db": None if res.snr_db is None else round(float(res.snr_db), 2),
        "codec": res.codec,
        "chain": res.chain,
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }
    atomic_write_text(meta_path(ctx.out, u), json.dumps(meta, sort_keys=True, default=_jsonable))
    t["write"] = time.perf_counter() - t2
    t["audio_s"] = duration
    return meta, t


def _jsonable(o: Any) -> Any:
    """numpy scalars/arrays in chains and TTS params -> plain JSON values."""
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


_CTX: RenderContext | None = None


def _init_worker(ctx: RenderContext) -> None:
    global _CTX
    _CTX = ctx
    # Each worker is one core's worth of work; keep BLAS/ORT from oversubscribing.
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass


def _work(u: UttPlan) -> tuple[dict, dict[str, float]]:
    assert _CTX is not None
    return render_one(u, _CTX)
