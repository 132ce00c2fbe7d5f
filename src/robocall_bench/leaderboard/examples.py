"""Example leaderboard entries: two deterministic, training-free scorers computed from the audio.

``spectral-flatness``: robocall audio (TTS, recorded messages) tends to be cleaner and more tonal
than a live call, so a lower mean spectral flatness on speech frames scores as more robocall.
``pitch-variance``: TTS prosody is flatter, so a smaller spread of log-F0 (autocorrelation pitch)
scores as more robocall. Both are baselines to exercise the pipeline, not serious detectors.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from ..audio import atomic_write_text, read_audio
from ..contract import MAIN_TRACK, Protocol, early_track, read_protocol, write_scores
from ..errors import RcbError
from ..evaluation.core import compute_metrics
from ..evaluation.run import git_sha
from .registry import register_protocol
from .schema import SCHEMA_VERSION

FRAME_S, HOP_S = 0.032, 0.010
EARLY_SECONDS = (2.0,)


def _frames(x: np.ndarray, sr: int) -> np.ndarray:
    """(F, L) Hann-windowed frames of ``x`` (T,); at least one frame (zero-padded)."""
    n, h = int(FRAME_S * sr), int(HOP_S * sr)
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    idx = np.arange(n)[None, :] + h * np.arange(1 + (x.size - n) // h)[:, None]
    return x[idx] * np.hanning(n)[None, :]


def _speech(fr: np.ndarray) -> np.ndarray:
    """Frames (F, L) louder than the median frame: a crude speech-activity mask (F,)."""
    e = np.sum(fr**2, axis=1)
    return e >= np.median(e)


def spectral_flatness_score(x: np.ndarray, sr: int) -> float:
    """Minus the log of the mean spectral flatness of speech frames of ``x`` (T,)."""
    fr = _frames(x, sr)
    p = np.abs(np.fft.rfft(fr, axis=1)) ** 2 + 1e-12
    flat = np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)
    return float(-np.log(np.mean(flat[_speech(fr)])))


def pitch_variance_score(x: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Minus the standard deviation of log-F0 over voiced frames of ``x`` (T,); 0 with < 3 voiced frames."""
    fr = _frames(x, sr)[:, : int(FRAME_S * sr)]
    fr = fr - fr.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(fr, n=2 * fr.shape[1], axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, : fr.shape[1]]
    lo, hi = int(sr / fmax), min(int(sr / fmin), fr.shape[1] - 1)
    peak = lo + np.argmax(ac[:, lo:hi], axis=1)
    strength = ac[np.arange(ac.shape[0]), peak] / (ac[:, 0] + 1e-12)
    voiced = (strength > 0.5) & _speech(fr)
    if voiced.sum() < 3:
        return 0.0
    return float(-np.std(np.log(sr / peak[voiced])))


def _macs_flatness(sr: int = 8000) -> int:
    n = int(FRAME_S * sr)
    return int((1 / HOP_S) * (n * np.log2(n) * 2 + 3 * n))


def _macs_pitch(sr: int = 8000) -> int:
    n = 2 * int(FRAME_S * sr)
    return int((1 / HOP_S) * (2 * n * np.log2(n) * 2 + n))


SCORERS: dict[str, tuple[str, Callable[[np.ndarray, int], float], Callable[[], int], str]] = {
    "spectral-flatness": (
        "Spectral flatness heuristic",
        spectral_flatness_score,
        _macs_flatness,
        "Minus the log mean spectral flatness of the louder half of 32 ms frames (no training).",
    ),
    "pitch-variance": (
        "Pitch-variance heuristic",
        pitch_variance_score,
        _macs_pitch,
        "Minus the std of log-F0 from frame autocorrelation (60-400 Hz) over voiced frames (no training).",
    ),
}


def tracks_of(proto: Protocol) -> dict[str, tuple[np.ndarray, float | None]]:
    """{leaderboard track: (row mask over the protocol, seconds or None)} for tracks with both classes."""
    ev = proto.cols["split"] == "eval"
    out: dict[str, tuple[np.ndarray, float | None]] = {
        t: (ev & (proto.cols["track"] == t), None) for t in proto.eval_tracks()
    }
    if MAIN_TRACK in out:
        for s in EARLY_SECONDS:
            out[early_track(s)] = (out[MAIN_TRACK][0], s)
    return out


def score_tracks(
    corpus: Path, proto: Protocol, scorer: Callable[[np.ndarray, int], float]
) -> tuple[dict, float]:
    """({track: (ids (n,), scores (n,))}, CPU real-time factor) for one scorer over the eval tracks."""
    out, audio_s, cpu_s = {}, 0.0, 0.0
    for track, (mask, seconds) in tracks_of(proto).items():
        ids, paths = proto.cols["utt_id"][mask], proto.cols["path"][mask]
        scores = np.empty(ids.size)
        for i, p in enumerate(paths):
            x, sr = read_audio(corpus / p, stop=seconds)
            t0 = time.process_time()
            scores[i] = scorer(x, sr)
            cpu_s += time.process_time() - t0
            audio_s += x.size / sr
        out[track] = (ids, scores)
    return out, cpu_s / max(audio_s, 1e-9)


def make_entry(corpus: Path, root: Path, entry_id: str, proto: Protocol) -> Path:
    """Score the corpus with one scorer and write ``root/entries/<entry_id>/`` (entry.yaml + scores/)."""
    title, scorer, macs, desc = SCORERS[entry_id]
    tracks, rtf = score_tracks(corpus, proto, scorer)
    edir = root / "entries" / entry_id
    if (edir / "scores").is_dir():
        shutil.rmtree(edir / "scores")  # a stale track must not survive a regeneration
    for track, (ids, scores) in tracks.items():
        write_scores(edir / "scores" / f"{track}.tsv", ids, scores)
    ids, scores = tracks[MAIN_TRACK]
    labels = proto.is_robocall[tracks_of(proto)[MAIN_TRACK][0]]
    m = compute_metrics(scores, labels)
    sha = git_sha()
    entry = {
        "schema_version": SCHEMA_VERSION,
        "entry_id": entry_id,
        "model": title,
        "description": desc,
        "code": {"repository": None, "commit": sha},
        "experiment": f"leaderboard/make_examples.py corpus=<corpus> (scorer {entry_id})",
        "pretrained": None,
        "training_data": "none (training-free heuristic)",
        "params": 0,
        "macs": macs(),
        "cpu_rtf": float(f"{rtf:.3g}"),
        "compute": "CPU RTF: process CPU seconds per second of audio over every scored track (numpy, one process); MACs/s counted analytically",
        "corpus": {
            "name": proto.manifest["name"],
            "version": proto.manifest["version"],
            "protocol_sha256": proto.sha256,
        },
        "reported": {MAIN_TRACK: {"eer": round(m["eer"], 6), "min_dcf": round(m["min_dcf"], 6)}},
        "reproduce": {
            "command": [
                "{python}",
                "-m",
                "robocall_bench.leaderboard.examples",
                "corpus={corpus}",
                f"only={entry_id}",
                "scores_out={out}",
            ],
            "timeout_s": 3600,
        },
    }
    atomic_write_text(edir / "entry.yaml", yaml.safe_dump(entry, sort_keys=False, allow_unicode=True))
    return edir


def main(argv: Sequence[str]) -> int:
    """``make_examples.py corpus=DIR [root=leaderboard] [only=ID scores_out=DIR]``."""
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    bad = [a for a in argv if "=" not in a] + [
        k for k in args if k not in ("corpus", "root", "only", "scores_out")
    ]
    if bad or "corpus" not in args:
        raise RcbError(
            f"usage: make_examples.py corpus=DIR [root=leaderboard] [only=ID scores_out=DIR]; bad: {bad}"
        )
    corpus = Path(args["corpus"]).expanduser()
    only = args.get("only")
    if only is not None and only not in SCORERS:
        raise RcbError(f"only={only!r}: choose one of {', '.join(SCORERS)}")
    if "scores_out" in args:  # reproduce mode: just the score files of one scorer
        if only is None:
            raise RcbError("scores_out= needs only=ID")
        tracks, _ = score_tracks(corpus, read_protocol(corpus), SCORERS[only][1])
        for track, (ids, scores) in tracks.items():
            write_scores(Path(args["scores_out"]) / f"{track}.tsv", ids, scores)
        return 0
    root = Path(args.get("root", "leaderboard"))
    register_protocol(
        corpus, root, kind="example", title="Tiny example corpus (pipeline check, not a benchmark)"
    )
    proto = read_protocol(corpus)
    for entry_id in [only] if only else list(SCORERS):
        print(f"wrote {make_entry(corpus, root, entry_id, proto)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        sys.exit(main(sys.argv[1:]))
    except RcbError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
