"""Reading audio for scoring: whole files or their first seconds, long files as windows, collation.

Unreadable audio is an item with an error string, never an exception, so one bad file does not stop
scoring; corpus audio that changed during training raises :class:`CorpusAudioError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from ..errors import RcbError
from .longaudio import LongAudio, LongFile
from .preprocess import Preprocess, first_seconds


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
