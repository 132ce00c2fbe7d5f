"""Replay and re-spoken pairs through the real telephone channel, for tests and benchmarks.

A *replay* is one message heard in two calls: each call picks up at its own offset, hangs up at
its own time and gets its own channel draw (codec, noise, loss, gain). A *re-spoken* pair is the
same words said twice by the same speaker (two FSDD takes of one digit string), and a
*same-speaker* pair is two different utterances of one speaker: neither is a replay, and a
set-level detector must give them no evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..channel import TelephoneChannel
from .landmarks import SAMPLE_RATE, to_8k

DIGITS = "0123456789"


@dataclass(frozen=True)
class Pair:
    """Two calls (8 kHz float32 (T,) each) and what they are: ``replay``, ``respoken`` or ``speaker``."""

    a: np.ndarray
    b: np.ndarray
    kind: str


def librispeech_files(corpora: Path) -> list[Path]:
    """The development sample's LibriSpeech train-clean-100 FLAC files under ``corpora``, sorted."""
    return sorted((Path(corpora) / "librispeech-sample" / "train-clean-100").glob("*.flac"))


def narrowband_channel(corpora: Path | None = None) -> TelephoneChannel:
    """The project's narrowband channel (configs/channel/narrowband.yaml), with recorded noise when present."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from ..config import config_dir

    noise = corpora / "noise" if corpora is not None and (corpora / "noise").is_dir() else None
    cfg = OmegaConf.load(config_dir() / "channel" / "narrowband.yaml")
    return instantiate(cfg, noise_dir=None if noise is None else str(noise))


def read_8k(path: str | Path) -> np.ndarray:
    """Any audio file -> (T,) float32 mono at 8 kHz."""
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return to_8k(x.mean(axis=1), sr)


def campaign_call(
    message: np.ndarray,
    channel: TelephoneChannel,
    rng: np.random.Generator,
    codec: str | None = None,
    pickup_s: tuple[float, float] = (0.0, 4.0),
    call_s: tuple[float, float] = (6.0, 14.0),
) -> np.ndarray:
    """(T,) 8 kHz message -> one call (T',) 8 kHz: picked up at a random offset, hung up at a random
    length, through a fresh channel draw (``codec`` forced when given)."""
    start = int(rng.uniform(*pickup_s) * SAMPLE_RATE)
    start = min(start, max(0, message.size - SAMPLE_RATE))
    n = int(rng.uniform(*call_s) * SAMPLE_RATE)
    cut = message[start : start + n]
    return channel.apply(cut, SAMPLE_RATE, rng, codec=codec).audio


def _two_codecs(channel: TelephoneChannel, rng: np.random.Generator) -> tuple[str, str]:
    names = channel.codec_names()
    i, j = rng.choice(len(names), size=2, replace=False)
    return names[int(i)], names[int(j)]


def replay_pair(message: np.ndarray, channel: TelephoneChannel, rng: np.random.Generator) -> Pair:
    """One message through two independent channel draws with different codecs, offsets and lengths."""
    ca, cb = _two_codecs(channel, rng)
    return Pair(campaign_call(message, channel, rng, ca), campaign_call(message, channel, rng, cb), "replay")


def join(
    parts: Sequence[np.ndarray], rng: np.random.Generator, gap_s: tuple[float, float] = (0.25, 0.6)
) -> np.ndarray:
    """Clips (T_i,) -> one (T,) 8 kHz signal with a random pause after each."""
    out = []
    for p in parts:
        out += [p, np.zeros(int(rng.uniform(*gap_s) * SAMPLE_RATE), np.float32)]
    return np.concatenate(out).astype(np.float32)


def fsdd_takes(fsdd: Path) -> dict[tuple[str, str], list[Path]]:
    """(digit, speaker) -> that speaker's recorded takes of the digit (``{digit}_{speaker}_{index}.wav``)."""
    takes: dict[tuple[str, str], list[Path]] = {}
    for f in sorted((fsdd / "recordings").glob("*.wav")):
        d, spk, _ = f.stem.split("_")
        takes.setdefault((d, spk), []).append(f)
    return takes


def respoken_pair(
    takes: dict[tuple[str, str], list[Path]], speaker: str, n_digits: int, channel: TelephoneChannel,
    rng: np.random.Generator,
) -> Pair:  # fmt: skip
    """The same digit string said twice by ``speaker`` (different takes of every digit), each a call."""
    digits = rng.choice(list(DIGITS), size=n_digits)
    a, b = [], []
    for d in digits:
        i, j = rng.choice(len(takes[(str(d), speaker)]), size=2, replace=False)
        a.append(read_8k(takes[(str(d), speaker)][int(i)]))
        b.append(read_8k(takes[(str(d), speaker)][int(j)]))
    ca, cb = _two_codecs(channel, rng)
    ya = channel.apply(join(a, rng), SAMPLE_RATE, rng, codec=ca).audio
    yb = channel.apply(join(b, rng), SAMPLE_RATE, rng, codec=cb).audio
    return Pair(ya, yb, "respoken")


def speaker_pair(a: np.ndarray, b: np.ndarray, channel: TelephoneChannel, rng: np.random.Generator) -> Pair:
    """Two different utterances (8 kHz) of one speaker, each a call through its own channel draw."""
    ca, cb = _two_codecs(channel, rng)
    return Pair(campaign_call(a, channel, rng, ca), campaign_call(b, channel, rng, cb), "speaker")
