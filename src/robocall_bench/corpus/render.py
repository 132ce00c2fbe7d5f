"""Rendering planned pairs: source audio / TTS -> common length -> telephone channel -> FLAC.

Each utterance is a pure function of its plan entry and seed, so rendering order, worker count
and sharding never change a byte. Finished utterances (FLAC + sidecar JSON, both written by
rename, the FLAC's sha256 matching the sidecar) are skipped on rerun.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import atomic_write_text, read_audio, resample, trim_silence, write_flac
from ..contract import sha256_file
from ..errors import BadAudioError, RcbError
from ..seeding import rng_for
from ..sources.base import SourceItem, load_item
from .campaigns import MessagePlan
from .plan import UttPlan
from .segment import cut_at_pause, pad_silence


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


def render_state(out: Path, u: UttPlan) -> str:
    """What ``u`` needs: "done" (nothing), "mismatch" (its FLAC's sha256 differs from the one its
    sidecar records: corrupt, truncated or replaced, so render it again) or "todo".

    Re-hashing on every resume costs about a second per thousand files; it is what lets a rebuild
    repair what `rcb corpus verify` reports.
    """
    m = meta_path(out, u)
    if not m.is_file():
        return "todo"
    try:
        meta = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "mismatch"  # a damaged sidecar (written last, by rename: someone edited it)
    if not isinstance(meta, dict):
        return "mismatch"
    if "skipped" in meta:
        return "done"
    f = out / u.path
    if not f.is_file():
        return "todo"
    sha = meta.get("sha256")
    return "done" if isinstance(sha, str) and sha256_file(f) == sha else "mismatch"


def is_done(out: Path, u: UttPlan) -> bool:
    """True when the sidecar is intact and, unless skipped, the FLAC matches its recorded sha256."""
    return render_state(out, u) == "done"


def remove_stale_temp_files(out: Path) -> int:
    """Delete the ``.<name>.<random>.tmp`` files a killed write left under audio/ and meta/; returns how many.

    Only for a run that owns the folder: concurrent shards may be writing their own temp files.
    """
    n = 0
    for sub in ("audio", "meta"):
        if (out / sub).is_dir():
            for p in (out / sub).rglob(".*.tmp"):
                if p.is_file():
                    p.unlink(missing_ok=True)
                    n += 1
    return n


def _speech(u: UttPlan, ctx: RenderContext, t: dict[str, float]) -> tuple[np.ndarray, int, dict[str, Any]]:
    """The utterance's raw speech, leading/trailing silence trimmed: ((T,), rate, provenance)."""
    t0 = time.perf_counter()
    if u.label == "human":
        assert u.item is not None
        x, sr = load_item(u.item, u.start, u.stop)
        extra: dict[str, Any] = {"source_files": list(u.item.files), "window": [u.start, u.stop]}
        t["load"] = t.get("load", 0.0) + time.perf_counter() - t0
        t["load_audio"] = t.get("load_audio", 0.0) + len(x) / sr
    elif u.message.startswith("msg_"):
        x, sr, extra = campaign_call(u, ctx)
        t["campaign"] = t.get("campaign", 0.0) + time.perf_counter() - t0
    elif u.item is not None:  # copy-synthesis: a held-aside human recording through a vocoder
        src, r = load_item(u.item, u.start, u.stop)
        syn = ctx.engines[u.system].resynthesize(src, r, rng_for(u.seed, "tts"))
        x, sr = syn.audio, syn.sample_rate
        extra = {"tts_params": syn.params, "source_files": list(u.item.files), "window": [u.start, u.stop]}
        t[f"tts:{u.system}"] = time.perf_counter() - t0
        t[f"tts_audio:{u.system}"] = len(x) / sr
    else:
        syn = ctx.engines[u.system].synthesize(u.text or "", u.language, rng_for(u.seed, "tts"))
        x, sr, extra = syn.audio, syn.sample_rate, {"tts_params": syn.params}
        t[f"tts:{u.system}"] = time.perf_counter() - t0
        t[f"tts_audio:{u.system}"] = len(x) / sr
    return trim_silence(x, sr), sr, extra


def campaign_call(u: UttPlan, ctx: RenderContext) -> tuple[np.ndarray, int, dict[str, Any]]:
    """What the callee hears of the campaign message: its cached parts around the call's insert,
    from the pick-up offset ``u.start`` on (the pair cut then hangs up): ((T,), rate, provenance)."""
    a, sr = read_audio(ctx.out / f".messages/{u.split}/{u.message}.a.flac")
    parts = [a]
    bpath = ctx.out / f".messages/{u.split}/{u.message}.b.flac"
    if u.insert is not None:
        ins, r = load_item(u.insert)
        gap = np.zeros(int(0.25 * sr), np.float32)
        parts += [gap, resample(ins, r, sr), gap]
    if bpath.is_file():
        parts.append(read_audio(bpath)[0])
    x = np.concatenate(parts)
    start = min(int(u.start * sr), max(0, x.size - sr))  # a late pick-up still hears >= 1 s
    extra = {"message": u.message, "pickup_s": round(start / sr, 3),
             "insert": None if u.insert is None else u.insert.text}  # fmt: skip
    return x[start:], sr, extra


def render_message(m: MessagePlan, ctx: RenderContext) -> dict[str, Any]:
    """Render message ``m`` once (its parts before and after the insert) into the corpus's
    ``.messages/`` cache; returns its sidecar (skipped when the sidecar already exists)."""
    side = ctx.out / f".messages/{m.split}/{m.message}.json"
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    rng = rng_for(m.seed, "tts")
    params: dict[str, Any] = {}
    if m.kind == "tts":
        syn = ctx.engines[m.system].synthesize(m.text or "", m.language, rng)
        pieces, sr, params = [syn.audio], syn.sample_rate, syn.params
    else:
        assert m.item is not None
        k = m.insert_after
        items = [m.item] if k is None else [_sub_item(m.item, 0, k), _sub_item(m.item, k, None)]
        pieces, sr = [], 0
        for it in items:
            y, r = load_item(it)
            sr = sr or r
            pieces.append(resample(y, r, sr))
        if m.kind == "vocoded":
            syn = ctx.engines[m.system].resynthesize(pieces[0], sr, rng)
            pieces, sr, params = [syn.audio], syn.sample_rate, syn.params
    pieces = [trim_silence(y, sr) for y in pieces]
    total = sum(y.size for y in pieces) / sr
    if total > m.target_s:  # end the last piece at a pause so the message is about target_s long
        keep = max(1.0, m.target_s - sum(y.size for y in pieces[:-1]) / sr)
        pieces[-1] = cut_at_pause(pieces[-1], sr, keep)
    names = ("a", "b")
    for name, y in zip(names, pieces, strict=False):
        write_flac(ctx.out / m.path(name), y, sr)
    meta = {"message": m.message, "campaign": m.campaign, "kind": m.kind, "system": m.system,
            "duration": round(sum(y.size for y in pieces) / sr, 3), "sample_rate": sr, "tts_params": params,
            "source_files": list(m.item.files) if m.item else [], "insert_after": m.insert_after}  # fmt: skip
    atomic_write_text(side, json.dumps(meta, sort_keys=True, default=_jsonable))
    return meta


def _sub_item(item: SourceItem, a: int, b: int | None) -> SourceItem:
    """The files ``a:b`` of a joined item (with the gaps between them)."""
    files = item.files[a:b]
    gaps = item.gaps[a : (len(item.files) - 1 if b is None else b - 1)]
    return replace(item, files=files, gaps=tuple(gaps), duration=0.0)


def _finish(
    u: UttPlan, x: np.ndarray, sr: int, cut_s: float, extra: dict, ctx: RenderContext, t: dict
) -> dict:
    """Cut ``x`` (T,) to ``cut_s`` at a pause, pad, pass through the channel, write FLAC + sidecar."""
    t1 = time.perf_counter()
    y = pad_silence(cut_at_pause(x, sr, cut_s), sr, u.pad_s)
    res = ctx.channel.apply(y, sr, rng_for(u.seed, "channel"), codec=u.codec)
    t2 = time.perf_counter()
    t["channel"] = t.get("channel", 0.0) + t2 - t1
    if res.codec != u.codec:
        raise RcbError(f"internal: channel applied {res.codec} instead of planned {u.codec}")
    data = write_flac(ctx.out / u.path, res.audio, res.sample_rate)
    duration = len(res.audio) / res.sample_rate
    meta = {
        "utt_id": u.utt_id,
        "key": u.key,
        "pair": u.pair,
        "cut_s": round(cut_s, 4),
        "duration": round(duration, 4),
        "sample_rate": res.sample_rate,
        "snr_db": None if res.snr_db is None else round(float(res.snr_db), 2),
        "codec": res.codec,
        "chain": res.chain,
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }
    atomic_write_text(meta_path(ctx.out, u), json.dumps(meta, sort_keys=True, default=_jsonable))
    t["write"] = t.get("write", 0.0) + time.perf_counter() - t2
    t["audio_s"] = t.get("audio_s", 0.0) + duration
    return meta


def _skip(u: UttPlan, ctx: RenderContext, reason: str, path: str) -> dict:
    meta = {"utt_id": u.utt_id, "key": u.key, "skipped": reason, "file": path}
    atomic_write_text(meta_path(ctx.out, u), json.dumps(meta, sort_keys=True))
    return meta


def render_pair(pair: tuple[UttPlan, UttPlan], ctx: RenderContext) -> tuple[list[dict], dict[str, float]]:
    """Render a (human, robocall) pair; returns (their sidecars, stage seconds).

    Both are trimmed, then cut to one common length (the planned target, or the shorter of the
    two when a recording or rendition is shorter), so duration carries no label. A source file
    that turns out unusable skips both members with the reason (recorded in the manifest; reruns
    do not retry it).
    """
    h, r = pair
    t: dict[str, float] = {}
    try:
        xh, srh, eh = _speech(h, ctx, t)
    except BadAudioError as e:
        return [
            _skip(h, ctx, e.reason, e.path),
            _skip(r, ctx, f"pair partner skipped: {e.reason}", e.path),
        ], t
    xr, srr, er = _speech(r, ctx, t)
    cut = min(h.target_s, xh.size / srh, xr.size / srr)
    return [_finish(h, xh, srh, cut, eh, ctx, t), _finish(r, xr, srr, cut, er, ctx, t)], t


def make_pairs(plan: list[UttPlan]) -> list[tuple[UttPlan, UttPlan]]:
    """(human, robocall) pairs of ``plan`` in plan order of the human member."""
    by_id = {u.utt_id: u for u in plan}
    return [(u, by_id[u.pair]) for u in plan if u.label == "human"]


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


def _work_message(m: MessagePlan) -> dict[str, Any]:
    assert _CTX is not None
    return render_message(m, _CTX)


def _work(pair: tuple[UttPlan, UttPlan]) -> tuple[list[dict], dict[str, float]]:
    assert _CTX is not None
    return render_pair(pair, _CTX)
