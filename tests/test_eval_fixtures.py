"""A tiny synthetic corpus (protocol.tsv + manifest.json, optionally audio) for the evaluation and
leaderboard tests, so they run before and without the corpus builder. Imported by the other
test_eval*/test_leaderboard* modules; its own tests check the fixture keeps the protocol invariants.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from robocall_bench.contract import protocol_text, read_protocol

SEEN_SYSTEMS = ("piper-joe", "espeak-en-f1")
UNSEEN_SYSTEM = "espeak-cmn-f2"
SEEN_CODECS = ("pcmu", "pcma")
UNSEEN_CODEC = "opus"
HUMANS = tuple(f"spk{i:02d}" for i in range(8))
FAMILIES = ("warranty", "irs", "bank")


def _rows(seed: int, n_per_split: dict[str, int]) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    k = 0
    for split, n in n_per_split.items():
        for i in range(n):
            robo = i % 2 == 0
            codec = SEEN_CODECS[(i // 2) % 2]
            track = split
            system = SEEN_SYSTEMS[(i // 2) % 2] if robo else "human"
            if split == "eval":
                r = i % 10
                if robo and r in (2, 6):  # unseen TTS system (only in eval)
                    system, track = UNSEEN_SYSTEM, "unseen-systems"
                elif not robo and r == 3:
                    track = "unseen-systems"  # the human share of that track
                elif r in (4, 5, 9):
                    codec, track = UNSEEN_CODEC, "unseen-channel"
                else:
                    track = "eval"
            speaker = f"{system}-v1" if robo else HUMANS[(i // 2 + (split == "eval") * 3) % len(HUMANS)]
            snr = "" if i % 4 == 0 else f"{rng.uniform(0, 30):.1f}"
            rows.append(
                {
                    "utt_id": f"u{k:05d}",
                    "path": f"audio/u{k:05d}.flac",
                    "label": "robocall" if robo else "human",
                    "split": split,
                    "track": track,
                    "system": system,
                    "speaker": speaker,
                    "language": "zh" if system == UNSEEN_SYSTEM or (not robo and i % 6 == 1) else "en",
                    "text_id": f"t{i % 7}" if robo else "-",
                    "family": FAMILIES[i % 3] if robo else "-",
                    "channel": "narrowband",
                    "codec": codec,
                    "snr_db": snr,
                    "duration": f"{rng.uniform(1.0, 9.0):.2f}",
                    "source": "synthetic",
                }
            )
            k += 1
    return rows


def _with_campaign_track(rows: list[dict[str, str]], seed: int) -> list[dict[str, str]]:
    """``rows`` with the campaign columns (each robocall a one-call campaign, as ``rcb corpus`` writes
    them) plus an eval ``campaign`` track: 3 campaigns of 4 calls (two TTS, one recorded voice) and
    12 live calls."""
    rng = np.random.default_rng(seed + 7)
    out = []
    for r in rows:
        robo = r["label"] == "robocall"
        solo = f"solo_{r['utt_id']}"
        out.append(
            {**r, "call_id": f"call_{r['utt_id']}", "campaign": solo if robo else "-",
             "message": solo if robo else "-", "role": "tts" if robo else "live"}
        )  # fmt: skip
    k = len(rows)
    for i in range(24):
        robo = i < 12
        camp = f"camp{i // 4}"
        recorded = robo and camp == "camp2"
        system = ("recorded-human" if recorded else SEEN_SYSTEMS[i // 4]) if robo else "human"
        uid = f"u{k + i:05d}"
        out.append(
            {
                "utt_id": uid, "path": f"audio/{uid}.flac", "label": "robocall" if robo else "human",
                "split": "eval", "track": "campaign", "system": system,
                "speaker": f"{camp}-voice" if robo else HUMANS[i % len(HUMANS)],
                "language": "zh" if i % 5 == 0 else "en", "text_id": f"t{i // 4}" if robo else "-",
                "family": FAMILIES[i // 4 % 3] if robo else "-", "channel": "narrowband",
                "codec": SEEN_CODECS[i % 2], "snr_db": f"{rng.uniform(0, 30):.1f}",
                "duration": f"{rng.uniform(1.0, 9.0):.2f}", "source": "synthetic", "call_id": f"call_{uid}",
                "campaign": camp if robo else "-", "message": f"msg{i // 4}" if robo else "-",
                "role": ("recorded" if recorded else "tts") if robo else "live",
            }
        )  # fmt: skip
    return out


def _tone(robo: bool, sr: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Robocall: steadier pitch, less noise; human: wandering pitch, more noise (overlapping ranges)."""
    t = np.arange(int(sr * seconds)) / sr
    f0 = rng.uniform(100, 200)
    wander = rng.uniform(0.0, 0.15) if robo else rng.uniform(0.05, 0.3)
    f = f0 * (1 + wander * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum((0.5 / h) * np.sin(h * phase) for h in range(1, 8))
    x = x + (rng.uniform(0.005, 0.1) if robo else rng.uniform(0.03, 0.2)) * rng.standard_normal(t.size)
    return (0.4 * x / np.max(np.abs(x))).astype(np.float32)


def make_corpus(
    root: Path,
    seed: int = 0,
    n_per_split: dict[str, int] | None = None,
    audio: bool = False,
    version: str = "0.1.0",
    campaign: bool = False,
) -> Path:
    """Write ``root/protocol.tsv`` + ``root/manifest.json`` (+ ``root/audio/*.flac``); returns ``root``.

    ``campaign``: also the campaign columns and an eval ``campaign`` track (see _with_campaign_track).
    """
    n_per_split = n_per_split or {"train": 20, "dev": 20, "eval": 60}
    root.mkdir(parents=True, exist_ok=True)
    rows = _rows(seed, n_per_split)
    if campaign:
        rows = _with_campaign_track(rows, seed)
    text = protocol_text(rows)
    (root / "protocol.tsv").write_text(text, encoding="utf-8")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    manifest = {"name": "robocall-bench", "version": version, "protocol_sha256": sha, "seed": seed}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if audio:
        rng = np.random.default_rng(seed + 1)
        (root / "audio").mkdir(exist_ok=True)
        for r in rows:
            seconds = min(float(r["duration"]), 3.0)
            sf.write(
                root / r["path"], _tone(r["label"] == "robocall", 8000, seconds, rng), 8000, subtype="PCM_16"
            )
    return root


def write_scores(
    path: Path,
    root: Path,
    split: str = "eval",
    track: str | None = None,
    seed: int = 0,
    separation: float = 1.5,
    header: bool = True,
) -> Path:
    """Random scores (robocall shifted by ``separation``) for the rows of ``split``/``track``."""
    proto = read_protocol(root / "protocol.tsv").select(split, track)
    rng = np.random.default_rng(seed)
    s = rng.normal(size=len(proto)) + separation * proto.is_robocall
    lines = (["utt_id\tscore"] if header else []) + [
        f"{u}\t{float(v)!r}" for u, v in zip(proto.cols["utt_id"], s, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_fixture_tracks_partition_eval_and_unseen_is_unseen(tmp_path: Path) -> None:
    proto = read_protocol(make_corpus(tmp_path / "c"))
    c = proto.cols
    ev = c["split"] == "eval"
    assert set(c["track"][ev]) == {"eval", "unseen-systems", "unseen-channel"}
    assert set(c["track"][~ev]) == {"train", "dev"}
    seen = set(c["system"][~ev])
    assert UNSEEN_SYSTEM not in seen
    assert set(c["system"][c["track"] == "unseen-systems"]) == {UNSEEN_SYSTEM, "human"}
    assert set(c["codec"][c["track"] == "unseen-channel"]) == {UNSEEN_CODEC}
    assert UNSEEN_CODEC not in set(c["codec"][~ev])
    for t in ("eval", "unseen-systems", "unseen-channel"):
        labels = set(c["label"][c["track"] == t])
        assert labels == {"human", "robocall"}, t
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["protocol_sha256"] == proto.sha256


def test_fixture_campaign_track(tmp_path: Path) -> None:
    plain = read_protocol(make_corpus(tmp_path / "a"))
    proto = read_protocol(make_corpus(tmp_path / "c", campaign=True))  # the reader checks role vs label
    c = proto.cols
    assert proto.eval_tracks() == ["eval", "unseen-systems", "unseen-channel", "campaign"]
    camp = c["track"] == "campaign"
    assert set(c["role"][camp]) == {"tts", "recorded", "live"}
    assert set(c["campaign"][camp & proto.is_robocall]) == {"camp0", "camp1", "camp2"}
    # the other rows are unchanged apart from the campaign columns
    assert (c["utt_id"][~camp] == plain.cols["utt_id"]).all()
    assert (c["system"][~camp] == plain.cols["system"]).all()


def make_leaderboard(base: Path, seed: int = 0, campaign: bool = False) -> tuple[Path, Path]:
    """A corpus with audio under ``base/corpus`` and a leaderboard root ``base/lb`` holding the two
    example entries written by the real generator; returns (corpus, lb root). ``campaign``: the
    corpus has a campaign track too (so the registry and the entries have it)."""
    from robocall_bench.leaderboard.examples import main as make_examples

    corpus = make_corpus(base / "corpus", seed=seed, audio=True, campaign=campaign)
    lb = base / "lb"
    assert make_examples([f"corpus={corpus}", f"root={lb}"]) == 0
    return corpus, lb
