"""Corpus rows, datasets and collation for training and dev/eval scoring.

A training item is addressed by ``(row, seed)``: the batch sampler draws the seed from
(run seed, data epoch, position), so the crop and augmentation of every sample are fixed by the
seed alone, whatever the worker count, and a resumed run sees exactly the same samples.

Training reads corpus files that were checked when the run started; one that is unreadable later
(deleted or replaced while training runs) raises :class:`CorpusAudioError`, whose message stays
the one clear line even when a DataLoader worker re-raises it in the main process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from ..corpus.protocol import read_protocol
from ..errors import RcbError
from .longaudio import LongAudio, LongFile
from .preprocess import Preprocess, crop, first_seconds

LABEL_IDS = {"human": 0, "robocall": 1}
SHOW = 5  # offenders listed in an error message


@dataclass(frozen=True)
class Item:
    """One protocol row: ``path`` is absolute, ``label`` 0 = human, 1 = robocall."""

    utt_id: str
    path: str
    label: int
    split: str
    track: str
    duration: float


@dataclass
class Corpus:
    """A corpus directory's protocol rows (as :class:`Item`), manifest and audio sample rate."""

    root: Path
    items: list[Item]
    manifest: dict[str, Any]
    sample_rate: int

    def select(self, split: str, track: str | None = None) -> list[Item]:
        """Rows of ``split`` (and ``track`` when given), in protocol order."""
        return [i for i in self.items if i.split == split and (track is None or i.track == track)]

    def tracks(self, split: str) -> list[str]:
        """Tracks present in ``split``, in first-seen order."""
        return list(dict.fromkeys(i.track for i in self.items if i.split == split))

    @property
    def info(self) -> dict[str, Any]:
        """Name, version, protocol sha256 and path, for checkpoints and model cards."""
        m = self.manifest
        return {
            "path": str(self.root),
            "name": m.get("name"),
            "version": m.get("version"),
            "protocol_sha256": m.get("protocol_sha256"),
            "preset": m.get("preset"),
            "sample_rate": self.sample_rate,
        }


def load_corpus(root: str | Path, check_files: bool = True) -> Corpus:
    """Read ``root/protocol.tsv`` (+ manifest); RcbError for a missing corpus or missing audio files."""
    if root in (None, "", "???"):
        raise RcbError("no corpus given: pass corpus=DIR (a folder built by `rcb corpus`)")
    d = Path(str(root)).expanduser().resolve()
    if not d.is_dir():
        raise RcbError(
            f"corpus {d} not found; build one with `rcb corpus preset=tiny out={d}` or fix corpus="
        )
    rows = read_protocol(d / "protocol.tsv")
    if not rows:
        raise RcbError(f"{d}/protocol.tsv has no rows; rebuild the corpus")
    try:
        manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        manifest = {}
    items = [
        Item(r["utt_id"], str(d / r["path"]), LABEL_IDS[r["label"]], r["split"], r.get("track") or r["split"],
             float(r.get("duration") or 0.0))
        for r in rows
    ]  # fmt: skip
    if check_files:
        missing = [i.path for i in items if not Path(i.path).is_file()]
        if missing:
            raise RcbError(
                f"{d}/protocol.tsv lists {len(missing)} audio file(s) that do not exist, e.g. "
                f"{', '.join(missing[:SHOW])}. The corpus is incomplete: rerun `rcb corpus` with the same "
                "out= to finish it, or `rcb corpus verify corpus=DIR`."
            )
    sr = int(sf.info(items[0].path).samplerate) if check_files else 0
    return Corpus(d, items, manifest, sr)


class CorpusAudioError(RcbError):
    """A corpus file that was fine when training started cannot be used now.

    A DataLoader worker re-raises an exception in the main process as ``type(e)(text)``, the text
    being "Caught ... in DataLoader worker process N. Original Traceback ...: <message>"; the
    constructor keeps only <message>, so ``rcb train`` prints one line, not a worker traceback.
    """

    def __init__(self, message: str) -> None:
        tag = f"{type(self).__name__}: "
        if message.startswith("Caught ") and "Original Traceback" in message and tag in message:
            message = message[message.rindex(tag) + len(tag) :].strip()
        super().__init__(message)


def _corpus_root(path: str) -> str:
    """The folder holding ``protocol.tsv`` above ``path`` (for the fix in a message), else its folder."""
    for d in Path(path).parents:
        if (d / "protocol.tsv").is_file():
            return str(d)
    return str(Path(path).parent)


def read_mono(path: str, expected_sr: int | None = None) -> tuple[np.ndarray, int]:
    """Read corpus audio ``path`` as float32 mono (T,); CorpusAudioError when it is unreadable now
    (deleted or replaced during the run) or its rate is not ``expected_sr``."""
    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        why = str(e).replace("\n", " ")
        raise CorpusAudioError(
            f"{path}: corpus audio cannot be read any more ({why}). The corpus changed during training: "
            f"run `rcb corpus verify corpus={_corpus_root(path)}` and rebuild it (rerun `rcb corpus` with the "
            "same out=), then rerun the same `rcb train` command to resume from the last checkpoint."
        ) from None
    if expected_sr and sr != expected_sr:
        raise CorpusAudioError(
            f"{path}: sample rate {sr} Hz, but the corpus audio is {expected_sr} Hz. A corpus must have one "
            "rate (narrowband 8000 or wideband 16000): rebuild it or remove the stray file."
        )
    return (x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]), int(sr)


class TrainDataset(Dataset):
    """Random crops of training rows: ``ds[(row, seed)] -> (wave float32 (T,) 16 kHz, label)``.

    ``augment``: an optional ``TelephoneChannel`` applied with probability ``augment_p`` (extra
    codec/noise/level variety on top of the corpus's own channel).
    """

    def __init__(
        self,
        items: list[Item],
        pre: Preprocess,
        crop_s: float | None,
        pad: str = "zero",
        sample_rate: int | None = None,
        augment: Any = None,
        augment_p: float = 0.0,
    ) -> None:
        self.items, self.pre, self.crop_s, self.pad = items, pre, crop_s, pad
        self.sample_rate, self.augment, self.augment_p = sample_rate, augment, float(augment_p)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> tuple[np.ndarray, int]:
        row, seed = key
        it = self.items[row]
        rng = np.random.default_rng(seed)
        x, sr = read_mono(it.path, self.sample_rate)
        x = crop(x, sr, self.crop_s, rng, self.pad)
        if self.augment is not None and rng.random() < self.augment_p:
            res = self.augment.apply(x, sr, rng)
            x, sr = res.audio, res.sample_rate
        return self.pre(x, sr), it.label


class EvalDataset(Dataset):
    """Whole rows or their first ``window`` seconds: ``ds[i] -> (i, wave (T,) | LongFile | None, error
    or None, seconds)``.

    Unreadable audio is returned as an error string, never raised, so one bad file does not stop
    scoring. ``max_s`` caps very long inputs, ``None`` = no cap. With ``long`` (on unless
    ``long.max_s`` is None), audio longer than ``long.max_s`` is not read here: the item is a
    :class:`LongFile` for windowed scoring (see longaudio.py), so no read exceeds ``long.max_s``
    seconds (+1 frame, which tells a header that understates the length).
    """

    def __init__(
        self,
        paths: list[str],
        pre: Preprocess,
        window: float | None = None,
        max_s: float | None = None,
        long: LongAudio | None = None,
    ) -> None:
        self.paths, self.pre = paths, pre
        lim = [s for s in (window, max_s) if s is not None]
        self.limit = min(lim) if lim else None
        self.long = long if long is not None and long.max_s is not None else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, np.ndarray | LongFile | None, str | None, float]:
        p = self.paths[i]
        try:
            info = sf.info(p)  # the header only
            stop = None if self.limit is None else max(1, round(self.limit * info.samplerate))
            if self.long is not None:
                most = round(self.long.max_s * info.samplerate)  # type: ignore[operator]
                if min(info.frames, stop or info.frames) > most:
                    return i, LongFile(p, int(info.samplerate), stop), None, 0.0
                if stop is None or stop > most:
                    stop = most + 1
            x, sr = sf.read(p, dtype="float32", always_2d=True, stop=stop)
        except Exception as e:  # libsndfile raises several types for corrupt/unknown files
            return i, None, f"unreadable audio: {e}".replace("\n", " ").replace("\t", " "), 0.0
        if self.long is not None and x.shape[0] > round(self.long.max_s * sr):  # type: ignore[operator]
            limit = None if self.limit is None else max(1, round(self.limit * sr))
            return i, LongFile(p, int(sr), limit), None, 0.0  # the header understated the length
        if x.shape[0] == 0:
            return i, None, "empty audio (0 samples)", 0.0
        if not np.all(np.isfinite(x)):
            return i, None, "audio contains NaN or Inf samples", 0.0
        x = first_seconds(x, sr, self.limit)
        return i, self.pre(x, sr), None, x.shape[0] / sr


def collate_train(batch: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> wave (B, T_max) float32 zero-padded, lengths (B,) int64, labels (B,) int64."""
    waves, labels = zip(*batch, strict=True)
    wave, lengths = pad_batch(list(waves))
    return wave, lengths, torch.tensor(labels, dtype=torch.int64)


def collate_eval(batch: list) -> list:
    """Identity: scoring groups readable items itself (errors and lengths differ per item)."""
    return batch


def pad_batch(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """List of (T_i,) arrays -> (wave (B, max T_i) zero-padded float32, lengths (B,) int64)."""
    lengths = torch.tensor([w.size for w in waves], dtype=torch.int64)
    out = torch.zeros(len(waves), int(lengths.max()) if waves else 0, dtype=torch.float32)
    for k, w in enumerate(waves):
        out[k, : w.size] = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
    return out, lengths
