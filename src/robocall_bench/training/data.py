"""Corpus rows, the training dataset and its collation (dev/eval scoring reads through ``inference.evaldata``).

A training item is addressed by ``(row, seed)``: the batch sampler draws the seed from
(run seed, data epoch, position), so the crop and augmentation of every sample are fixed by the
seed alone, whatever the worker count, and a resumed run sees exactly the same samples.

Training reads corpus files that were checked when the run started; one that is unreadable later
(deleted or replaced while training runs) raises :class:`CorpusAudioError`, whose message stays
the one clear line even when a DataLoader worker re-raises it in the main process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from ..contract import LABEL_IDS, read_protocol
from ..errors import RcbError
from ..inference.evaldata import pad_batch, read_mono
from ..inference.preprocess import Preprocess, crop

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
    proto = read_protocol(d, require=("path",))
    if not len(proto):
        raise RcbError(f"{d}/protocol.tsv has no rows; rebuild the corpus")
    items = [
        Item(r["utt_id"], str(d / r["path"]), LABEL_IDS[r["label"]], r["split"], r["track"],
             float(r.get("duration") or 0.0))
        for r in proto.rows()
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
    return Corpus(d, items, proto.manifest, sr)


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


def collate_train(batch: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> wave (B, T_max) float32 zero-padded, lengths (B,) int64, labels (B,) int64."""
    waves, labels = zip(*batch, strict=True)
    wave, lengths = pad_batch(list(waves))
    return wave, lengths, torch.tensor(labels, dtype=torch.int64)
