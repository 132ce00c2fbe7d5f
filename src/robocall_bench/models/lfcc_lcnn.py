"""LFCC-LCNN (Wang & Yamagishi, Interspeech 2021; the ASVspoof 2021 LFCC-LCNN baseline).

LFCC (60 dims) -> light CNN of max-feature-map (MFM) convolutions -> 2-layer BLSTM with a skip
connection ("LSTM-sum") -> masked mean over time -> linear -> 2 logits.
Padding: conv inputs are re-zeroed past each item's valid frames, the BLSTM runs on packed
sequences, and the mean pools valid frames only.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .base import Detector
from .frontends import LFCC, conv_lengths, mask_time, masked_mean


class _MaxFeatureMap(torch.autograd.Function):
    """y (B, 2C, ...) -> max(y[:, :C], y[:, C:]) (B, C, ...), with ``torch.maximum``'s exact gradient.

    Why not ``torch.maximum(*y.chunk(2, 1))``: its autograd formula spends ~10 elementwise passes per
    MFM layer (eq, /2, where and a mask fill for each half, then a cat in the chunk's backward), a
    quarter of an LFCC-LCNN train step on a CPU. This backward writes both halves of dy straight
    into one tensor from one comparison, and repeats maximum's rule for ties (dy / 2 to each half)
    only where a tie exists, so the gradients are bit-identical to maximum's.
    """

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor) -> torch.Tensor:
        a, b = y.chunk(2, dim=1)
        ctx.save_for_backward(a, b)
        return torch.maximum(a, b)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        a, b = ctx.saved_tensors
        c = a.shape[1]
        dy = grad.new_empty((grad.shape[0], 2 * c, *grad.shape[2:]))
        da, db, zero = dy[:, :c], dy[:, c:], grad.new_zeros(())
        gt = a > b
        torch.where(gt, grad, zero, out=da)
        torch.where(gt, zero, grad, out=db)
        tie = a == b
        if bool(tie.any()):  # maximum's rule: an equal pair shares the gradient
            half = grad / 2
            da.copy_(torch.where(tie, half, da))
            db.copy_(torch.where(tie, half, db))
        return dy


class MFMConv2d(nn.Module):
    """Conv2d to 2*C_out channels, then max-feature-map (element-wise max of the two halves)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 2 * c_out, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if torch.is_grad_enabled() and y.requires_grad:
            return _MaxFeatureMap.apply(y)
        a, b = y.chunk(2, dim=1)
        return torch.maximum(a, b)


# LCNN body of the baseline: ("mfm", c_in, c_out, kernel) | ("pool",) | ("bn", channels)
_LCNN = [
    ("mfm", 1, 32, 5), ("pool",),
    ("mfm", 32, 32, 1), ("bn", 32), ("mfm", 32, 48, 3), ("pool",), ("bn", 48),
    ("mfm", 48, 48, 1), ("bn", 48), ("mfm", 48, 64, 3), ("pool",),
    ("mfm", 64, 64, 1), ("bn", 64), ("mfm", 64, 32, 3), ("bn", 32),
    ("mfm", 32, 32, 1), ("bn", 32), ("mfm", 32, 32, 3), ("pool",),
]  # fmt: skip


class LFCCLCNN(Detector):
    """LFCC-LCNN(-LSTM-sum): wave (B, T) + lengths (B,) -> logits (B, 2).

    ``lfcc`` holds :class:`~.frontends.LFCC` kwargs; ``lstm=False`` gives the plain LCNN (mean over
    time of the CNN output).
    """

    def __init__(self, lfcc: dict | None = None, lstm: bool = True, dropout: float = 0.7) -> None:
        super().__init__()
        self.frontend = LFCC(**dict(lfcc or {}))
        layers: list[nn.Module] = []
        for spec in _LCNN:
            if spec[0] == "mfm":
                layers.append(MFMConv2d(*spec[1:]))
            elif spec[0] == "bn":
                layers.append(nn.BatchNorm2d(spec[1], affine=False))  # affine-free, as the baseline
            else:
                layers.append(nn.MaxPool2d(2, 2))
        self.body = nn.ModuleList(layers)
        self.drop = nn.Dropout(dropout)
        dim = 32 * (self.frontend.out_dim // 16)  # channels x frequency bins left after 4 pools
        self.lstm = (
            nn.LSTM(dim, dim // 2, num_layers=2, batch_first=True, bidirectional=True) if lstm else None
        )
        self.out = nn.Linear(dim, 2)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x, n = self.frontend(wave, lengths)  # (B, 60, F), zero past n
        if x.shape[-1] < 16:  # the 4 pools need >= 16 frames
            x = nn.functional.pad(x, (0, 16 - x.shape[-1]))
        x = x.unsqueeze(1)  # (B, 1, D, F)
        for layer in self.body:
            x = layer(x)
            if isinstance(layer, nn.MaxPool2d):
                n = conv_lengths(n, 2, 2)
            x = mask_time(x, n)  # zeros past n, as a conv's own zero padding would be
        x = self.drop(x.flatten(1, 2).transpose(1, 2))  # (B, F', 32 * D')
        if self.lstm is not None:
            packed = pack_padded_sequence(x, n.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
            x = x + h  # LSTM-sum skip connection
        return self.out(masked_mean(x, n, dim=1))
