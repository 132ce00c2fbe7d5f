"""RawNet2 anti-spoofing baseline (Tak et al., ICASSP 2021; ASVspoof 2021 baseline B04).

Fixed mel-scaled sinc filters -> |.| -> max-pool 3 -> BN + SELU -> 6 residual blocks, each followed
by filter-wise feature map scaling (FMS) -> BN + SELU -> 3-layer GRU -> last valid step -> FC -> FC.
Padding: conv inputs are re-zeroed past each item's valid length, FMS averages valid frames only,
and the (unidirectional) GRU is read at each item's own last valid frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .base import Detector
from .frontends import SincConv, conv_lengths, mask_time, masked_mean


class ResBlock1d(nn.Module):
    """Pre-activation residual block + max-pool 3 + FMS: (B, C_in, T) -> (B, C_out, T // 3)."""

    def __init__(self, c_in: int, c_out: int, first: bool = False) -> None:
        super().__init__()
        self.bn1 = None if first else nn.BatchNorm1d(c_in)  # first block follows the stem's BN
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        self.down = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None
        self.fms = nn.Linear(c_out, c_out)  # filter-wise feature map scaling

    def forward(self, x: torch.Tensor, n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x zero past n (B,) valid frames -> (out, new n), out zero past new n."""
        out = x if self.bn1 is None else mask_time(F.leaky_relu(self.bn1(x), 0.3), n)
        out = mask_time(F.leaky_relu(self.bn2(self.conv1(out)), 0.3), n)
        out = self.conv2(out) + (x if self.down is None else self.down(x))
        out = F.max_pool1d(out, 3)
        n = conv_lengths(n, 3, 3)
        s = torch.sigmoid(self.fms(masked_mean(out, n))).unsqueeze(-1)  # (B, C, 1)
        return mask_time(out * s + s, n), n


class RawNet2(Detector):
    """RawNet2: wave (B, T) + lengths (B,) -> logits (B, 2). Defaults = the ASVspoof 2021 baseline."""

    def __init__(
        self,
        first_conv: int = 1024,
        filts: Sequence = (20, (20, 20), (20, 128), (128, 128)),
        gru_node: int = 1024,
        nb_gru_layer: int = 3,
        nb_fc_node: int = 1024,
    ) -> None:
        super().__init__()
        self.sinc = SincConv(int(filts[0]), first_conv, self.sample_rate)
        self.first_bn = nn.BatchNorm1d(int(filts[0]))
        (a, b), (c, d), (_, e) = filts[1], filts[2], filts[3]
        specs = [(a, b), (a, b), (c, d), (e, e), (e, e), (e, e)]
        self.blocks = nn.ModuleList(
            ResBlock1d(int(i), int(o), first=k == 0) for k, (i, o) in enumerate(specs)
        )
        self.bn_before_gru = nn.BatchNorm1d(int(e))
        self.gru = nn.GRU(int(e), gru_node, num_layers=nb_gru_layer, batch_first=True)
        self.fc1_gru = nn.Linear(gru_node, nb_fc_node)
        self.fc2_gru = nn.Linear(nb_fc_node, 2)  # no non-linearity in between, as in the baseline
        self.min_samples = self.sinc.kernel_size - 1 + 3**7  # one frame after the 7 pools by 3

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if wave.shape[-1] < self.min_samples:
            wave = F.pad(wave, (0, self.min_samples - wave.shape[-1]))
        x = F.max_pool1d(self.sinc(wave).abs(), 3)  # (B, 20, T')
        n = conv_lengths(self.sinc.output_lengths(lengths), 3, 3)
        x = mask_time(F.selu(self.first_bn(x)), n)
        for block in self.blocks:
            x, n = block(x, n)
        x = F.selu(self.bn_before_gru(x)).transpose(1, 2)  # (B, T'', C)
        h, _ = self.gru(x)  # unidirectional: step n-1 never sees the padding after it
        h = h.gather(1, (n - 1).view(-1, 1, 1).expand(-1, 1, h.shape[-1])).squeeze(1)
        return self.fc2_gru(self.fc1_gru(h))
