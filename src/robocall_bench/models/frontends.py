"""Shared front-ends and length-aware helpers.

Every model sees zero-padded batches, so everything here carries ``lengths`` (valid steps per
item) alongside the tensors and is written so that the valid steps of an item do not depend on
how much padding follows it.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torchaudio
from torch import nn
from torch.nn import functional as F

# ----------------------------------------------------------------------------- masks and pooling


def length_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """(B,) valid lengths -> (B, size) bool mask, True on valid steps."""
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


def conv_lengths(lengths: torch.Tensor, kernel: int, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Valid output steps of a conv/pool over ``lengths`` valid inputs (floor, like PyTorch).

    Clamped to >= 1 so a too-short item still yields one (partly padded) step instead of NaNs.
    """
    out = torch.div(lengths + 2 * padding - kernel, stride, rounding_mode="floor") + 1
    return out.clamp(min=1)


def mask_time(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the padded steps of x (B, ..., T): what a conv's zero padding would see without them."""
    if bool((lengths >= x.shape[-1]).all()):  # nothing padded (every training crop): x * 1 is x
        return x
    m = length_mask(lengths, x.shape[-1]).to(x.dtype)
    return x * m.view(m.shape[0], *([1] * (x.dim() - 2)), m.shape[1])


def masked_mean(x: torch.Tensor, lengths: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Mean of x over its (padded) time axis ``dim``, counting only the valid steps."""
    dim = dim % x.dim()
    m = length_mask(lengths, x.shape[dim]).to(x.dtype)
    shape = [1] * x.dim()
    shape[0], shape[dim] = m.shape[0], m.shape[1]
    m = m.view(shape)
    return (x * m).sum(dim) / m.sum(dim).clamp(min=1)


def masked_mean_std(x: torch.Tensor, lengths: torch.Tensor, dim: int = -1, eps: float = 1e-5):
    """(mean, std) of x over valid steps of ``dim`` (statistics pooling)."""
    dim = dim % x.dim()
    mean = masked_mean(x, lengths, dim)
    var = masked_mean((x - mean.unsqueeze(dim)) ** 2, lengths, dim)
    return mean, torch.sqrt(var.clamp(min=eps))


def masked_softmax(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax over ``dim`` ignoring entries where ``mask`` (broadcastable to x) is False."""
    x = x.masked_fill(~mask, float("-inf"))
    return torch.nan_to_num(torch.softmax(x, dim=dim), nan=0.0)  # all-masked rows -> 0, not NaN


# ----------------------------------------------------------------------------------------- LFCC


class LFCC(nn.Module):
    """LFCC + deltas + double deltas (ASVspoof baseline settings by default).

    ``forward(wave (B, T), lengths (B,)) -> (feats (B, 3 * n_lfcc, F), frame_lengths (B,))``.

    Wraps ``torchaudio.transforms.LFCC`` with two choices made for padding invariance:
    ``log_lf=True`` (torchaudio's default dB scaling clamps at ``top_db`` below the maximum of the
    whole input tensor, so one item's features would depend on the rest of the batch) and
    ``center=False`` (every frame lies inside the signal, so valid frames never read padding).
    Deltas use replicate padding at each item's own last valid frame.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 512,
        win_length: int = 320,
        hop_length: int = 160,
        n_filter: int = 20,
        n_lfcc: int = 20,
        f_min: float = 0.0,
        f_max: float | None = None,
        pre_emphasis: float = 0.97,
        deltas: bool = True,
    ) -> None:
        super().__init__()
        self.n_fft, self.hop_length, self.pre_emphasis, self.deltas = n_fft, hop_length, pre_emphasis, deltas
        self.lfcc = torchaudio.transforms.LFCC(
            sample_rate=sample_rate,
            n_filter=n_filter,
            n_lfcc=n_lfcc,
            f_min=f_min,
            f_max=f_max,
            log_lf=True,
            speckwargs={
                "n_fft": n_fft,
                "win_length": win_length,
                "hop_length": hop_length,
                "center": False,
                "window_fn": torch.hamming_window,
            },
        )
        self.out_dim = n_lfcc * (3 if deltas else 1)

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Number of frames lying fully inside ``lengths`` samples (>= 1)."""
        return conv_lengths(lengths, self.n_fft, self.hop_length)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if wave.shape[-1] < self.n_fft:  # too short for one frame: pad (frame is then partly padding)
            wave = F.pad(wave, (0, self.n_fft - wave.shape[-1]))
        if self.pre_emphasis:
            wave = torch.cat([wave[:, :1], wave[:, 1:] - self.pre_emphasis * wave[:, :-1]], dim=1)
        x = self.lfcc(wave)  # (B, n_lfcc, F)
        n = self.frame_lengths(lengths)
        if self.deltas:
            # replicate the last valid frame over the padding, so deltas at the end match those of
            # the unpadded item
            idx = torch.minimum(torch.arange(x.shape[-1], device=x.device)[None, :], (n - 1)[:, None])
            x = x.gather(-1, idx[:, None, :].expand_as(x))
            d1 = _delta(x)
            x = torch.cat([x, d1, _delta(d1)], dim=1)
        return mask_time(x, n), n


def _delta(x: torch.Tensor) -> torch.Tensor:
    """(x[t+1] - x[t-1]) / 2 along the last axis with replicate edges (3-tap regression)."""
    p = F.pad(x, (1, 1), mode="replicate")
    return 0.5 * (p[..., 2:] - p[..., :-2])


# --------------------------------------------------------------------------------- sinc filters


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595 * np.log10(1 + hz / 700)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700 * (10 ** (mel / 2595) - 1)


class SincConv(nn.Module):
    """Fixed mel-spaced band-pass sinc filters (RawNet2 / AASIST first layer).

    ``forward(wave (B, T)) -> (B, out_channels, T - K + 1)`` (no padding: outputs are valid convs).
    The filters are not learned (as in Tak et al. 2021 and AASIST): hamming-windowed ideal
    band-passes whose edges are uniform on the mel scale between 0 and ``sample_rate / 2``.
    ``freq_mask`` (training only) zeroes a random band of up to 20 filters (AASIST's ``Freq_aug``).
    """

    def __init__(
        self, out_channels: int, kernel_size: int, sample_rate: int = 16000, freq_mask: bool = False
    ) -> None:
        super().__init__()
        kernel_size += 1 - kernel_size % 2  # odd, so the filters are symmetric (linear phase)
        self.out_channels, self.kernel_size, self.freq_mask = out_channels, kernel_size, freq_mask
        f = (sample_rate / 2) * np.linspace(0, 1, 257)  # edges on a 512-pt FFT grid, as the references
        edges = _hz(np.linspace(_mel(f).min(), _mel(f).max(), out_channels + 1))
        t = np.arange(kernel_size) - (kernel_size - 1) / 2
        bands = [
            (2 * hi / sample_rate) * np.sinc(2 * hi * t / sample_rate)
            - (2 * lo / sample_rate) * np.sinc(2 * lo * t / sample_rate)
            for lo, hi in itertools.pairwise(edges)
        ]
        filt = np.hamming(kernel_size)[None, :] * np.stack(bands)
        self.register_buffer("filters", torch.tensor(filt, dtype=torch.float32)[:, None, :], persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        w = self.filters
        if self.freq_mask and self.training:
            w = w.clone()
            width = int(torch.randint(0, 20, ()))  # torch RNG: seeded with the rest of training
            start = int(torch.randint(0, self.out_channels - width + 1, ()))
            w[start : start + width] = 0
        return F.conv1d(wave.unsqueeze(1), w)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return conv_lengths(lengths, self.kernel_size)
