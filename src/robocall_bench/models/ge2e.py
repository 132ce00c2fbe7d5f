"""The GE2E speaker encoder of Resemblyzer (3-layer LSTM + linear, 256-d), on torch + torchaudio.

The weights are the ``pretrained.pt`` that ships inside the ``resemblyzer`` 0.1.4 wheel (Apache-2.0;
nothing is downloaded at run time). Only that file is used: the package itself imports webrtcvad
(a C build from source whose module needs the removed ``pkg_resources``) and librosa (numba,
llvmlite) for a VAD and a mel filterbank, so the encoder and its mel front-end are re-implemented
here. The mel is librosa's ``melspectrogram`` defaults (Slaney scale and norm, power 2, centred
frames, zero padding) with Resemblyzer's hparams; the partial-utterance slicing and averaging are
``VoiceEncoder.compute_partial_slices`` / ``embed_utterance``. Against Resemblyzer 0.1.4 itself
(librosa 0.11) utterance embeddings agree to cosine > 0.9999 (see tests/test_resemblyzer.py).

Not reproduced: ``preprocess_wav``'s VAD trimming of long silences (for robocall detection the
pauses are evidence, and it needs webrtcvad). Its level normalisation (-30 dBFS) is the recipe's
``data.preprocess`` (configs/experiment/resemblyzer_*.yaml).

    enc = GE2EEncoder.pretrained()                 # CPU, eval mode, frozen
    partials = enc.partial_embeddings([w1, w2])    # list of (P_i, 256), w_i: (T_i,) float @ 16 kHz
    emb = utterance_embedding(partials[0])         # (256,), L2-normed mean of the partials
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torchaudio
from torch import nn
from torch.nn import functional as F

from .wav2vec2 import PretrainedUnavailableError

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
WIN = 400  # 25 ms (also the FFT size, as in Resemblyzer)
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
EMBED_DIM = 256

RESEMBLYZER = "resemblyzer==0.1.4"
# sha256 of resemblyzer/pretrained.pt in the 0.1.4 wheel: cache keys and fitted heads rely on these weights
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
INSTALL_HINT = (
    f"pip install --no-deps {RESEMBLYZER} (only its bundled weights are used; scripts/setup.sh does this). "
    "No network is needed at run time."
)


class EncoderUnavailableError(PretrainedUnavailableError):
    """The resemblyzer wheel (its ``pretrained.pt``) is not installed, or is not the pinned file."""


def weights_file() -> Path:
    """Path of ``resemblyzer/pretrained.pt`` in the installed distribution, without importing the package.

    (Importing ``resemblyzer`` would import webrtcvad and librosa, which are not installed.)
    """
    try:
        dist = importlib.metadata.distribution("resemblyzer")
    except importlib.metadata.PackageNotFoundError as e:
        raise EncoderUnavailableError(f"the GE2E encoder needs the resemblyzer wheel: {INSTALL_HINT}") from e
    path = Path(str(dist.locate_file("resemblyzer/pretrained.pt")))
    if dist.version != RESEMBLYZER.split("==")[1] or not path.is_file():
        raise EncoderUnavailableError(
            f"resemblyzer {dist.version} is installed but the encoder needs {RESEMBLYZER}'s pretrained.pt "
            f"({path} {'found' if path.is_file() else 'missing'}): {INSTALL_HINT}"
        )
    return path


@functools.lru_cache(maxsize=1)
def _load_state(path: str) -> tuple[dict[str, torch.Tensor], str]:
    """(LSTM + linear weights, sha256 of the file); refused unless it is the pinned file."""
    blob = Path(path).read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise EncoderUnavailableError(
            f"{path} has sha256 {digest}, not the pinned {RESEMBLYZER} weights; reinstall: "
            f"pip install --force-reinstall {INSTALL_HINT.removeprefix('pip install ')}"
        )
    import io

    ck = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)  # no pickled code runs
    # The GE2E training checkpoint also holds the loss's similarity scale/bias and the optimizer state.
    state = {k: v for k, v in ck["model_state"].items() if k.startswith(("lstm.", "linear."))}
    return state, digest


def mel_frames(wave: torch.Tensor) -> torch.Tensor:
    """Resemblyzer's mel spectrogram (power, not log): wave (T,) float @ 16 kHz -> (1 + T // 160, 40)."""
    spec = _mel_transform()(wave.to(torch.float32))  # (40, F)
    return spec.T


@functools.lru_cache(maxsize=1)
def _mel_transform() -> torchaudio.transforms.MelSpectrogram:
    # librosa.feature.melspectrogram defaults: periodic Hann, centre frames with zero padding
    # (librosa >= 0.10), Slaney mel scale and area normalisation, power 2, f_max = Nyquist.
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=WIN, win_length=WIN, hop_length=HOP, n_mels=N_MELS, power=2.0,
        center=True, pad_mode="constant", norm="slaney", mel_scale="slaney",
    )  # fmt: skip


def partial_starts(n_samples: int, rate: float = 1.3, min_coverage: float = 0.75) -> list[int]:
    """First mel frame of each 160-frame partial utterance of a ``n_samples`` wave (Resemblyzer's slicing).

    ``rate`` partials per second (>= 0.625 so that partials cover the utterance); the last partial
    is kept when at least ``min_coverage`` of it lies on the wave (always at least one partial).
    """
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage={min_coverage}: use a value in (0, 1]")
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SAMPLE_RATE / rate) / HOP))
    if not 0 < step <= PARTIAL_FRAMES:
        raise ValueError(
            f"rate={rate} partials/s: use a rate in [{SAMPLE_RATE / (HOP * PARTIAL_FRAMES)}, 100]"
        )
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts.pop()
    return starts


class GE2EEncoder(nn.Module):
    """LSTM(40 -> 256, 3 layers) -> linear -> ReLU -> L2 norm: mels (N, 160, 40) -> embeddings (N, 256)."""

    def __init__(self, rate: float = 1.3, min_coverage: float = 0.75, max_partials: int = 64) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, EMBED_DIM, 3, batch_first=True)
        self.linear = nn.Linear(EMBED_DIM, EMBED_DIM)
        self.rate, self.min_coverage, self.max_partials = float(rate), float(min_coverage), int(max_partials)
        partial_starts(PARTIAL_FRAMES * HOP, self.rate, self.min_coverage)  # ValueError on bad settings now
        self.weights_sha256 = ""

    @classmethod
    def pretrained(cls, **kwargs: float) -> GE2EEncoder:
        """The frozen encoder with Resemblyzer's weights (eval mode, no gradients)."""
        enc = cls(**kwargs)  # type: ignore[arg-type]
        state, enc.weights_sha256 = _load_state(str(weights_file()))
        enc.load_state_dict(state, strict=True)
        enc.requires_grad_(False)
        return enc.eval()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """mels (N, F, 40) -> (N, 256) non-negative, L2-normed (an all-zero ReLU output stays zero)."""
        _, (hidden, _) = self.lstm(mels)
        return F.normalize(torch.relu(self.linear(hidden[-1])), dim=1)

    @property
    def key(self) -> str:
        """What the partial embeddings depend on (weights, front-end, slicing): a cache namespace."""
        return (f"ge2e-v1|w={self.weights_sha256}|sr={SAMPLE_RATE}|win={WIN}|hop={HOP}|mels={N_MELS}|"
                f"partial={PARTIAL_FRAMES}|rate={self.rate!r}|cov={self.min_coverage!r}")  # fmt: skip

    def n_partials(self, n_samples: int) -> int:
        """How many partial embeddings :meth:`partial_embeddings` returns for a ``n_samples`` wave."""
        return len(partial_starts(n_samples, self.rate, self.min_coverage))

    @torch.no_grad()
    def partial_embeddings(self, waves: Sequence[np.ndarray | torch.Tensor]) -> list[np.ndarray]:
        """Per wave (T_i,) float @ 16 kHz: its partial-utterance embeddings (P_i, 256) float32.

        All partials of the batch go through the LSTM together, ``max_partials`` at a time (memory bound).
        """
        mels, owner = [], []
        dev = self.linear.weight.device
        for i, w in enumerate(waves):
            x = torch.as_tensor(w, dtype=torch.float32).reshape(-1)
            starts = partial_starts(x.numel(), self.rate, self.min_coverage)
            need = (starts[-1] + PARTIAL_FRAMES) * HOP
            if need > x.numel():  # Resemblyzer zero-pads the wave up to the end of the last partial
                x = F.pad(x, (0, need - x.numel()))
            m = mel_frames(x.to(dev))
            mels += [m[s : s + PARTIAL_FRAMES] for s in starts]
            owner += [i] * len(starts)
        out = torch.cat([self(torch.stack(mels[k : k + self.max_partials]))
                         for k in range(0, len(mels), self.max_partials)]).cpu().numpy()  # fmt: skip
        idx = np.asarray(owner)
        return [out[idx == i] for i in range(len(waves))]


def utterance_embedding(partials: np.ndarray) -> np.ndarray:
    """(P, 256) partial embeddings -> (256,) their L2-normed mean (``VoiceEncoder.embed_utterance``)."""
    mean = partials.astype(np.float64).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
