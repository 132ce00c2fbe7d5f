"""wav2vec 2.0 / XLS-R front-end + AASIST back-end (Tak et al., Odyssey 2022, "SSL-AASIST").

SSL features (B, F, H) -> linear to ``proj_dim`` -> as a (B, 1, proj_dim, F) "spectrogram":
3x3 max-pool -> BN + SELU -> 6 residual blocks without time pooling (the SSL frame rate is already
low) -> BN + SELU -> attentive pooling: softmax over time gives the spectral nodes, softmax over
the projected dimension gives the temporal nodes -> AASIST :class:`~.aasist.GraphBackend`.
Padding: valid SSL frames as in :class:`~.wav2vec2.SSLBackbone`; conv inputs re-zeroed past each
item's valid frames; the softmax over time and the temporal graph nodes ignore padded frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .aasist import GraphBackend, ResBlock2d
from .base import Detector
from .frontends import conv_lengths, length_mask, mask_time, masked_softmax
from .wav2vec2 import SSLBackbone


class Wav2Vec2AASIST(Detector):
    """SSL-AASIST: wave (B, T) + lengths (B,) -> logits (B, 2). Backbone options: see SSLBackbone."""

    def __init__(
        self,
        pretrained: str | None = None,
        config: Mapping[str, Any] | None = None,
        freeze_feature_encoder: bool | None = None,
        freeze_backbone: bool = False,
        layer_weighting: bool = False,
        normalize_input: bool = True,
        proj_dim: int = 128,
        filts: Sequence = ((1, 32), (32, 32), (32, 64), (64, 64)),
        gat_dims: Sequence[int] = (64, 32),
        pool_ratios: Sequence[float] = (0.5, 0.5, 0.5, 0.5),
        temperatures: Sequence[float] = (2.0, 2.0, 100.0, 100.0),
    ) -> None:
        super().__init__()
        self.backbone = SSLBackbone(
            pretrained, config, freeze_feature_encoder, freeze_backbone, layer_weighting, normalize_input
        )
        self.LL = nn.Linear(self.backbone.hidden_size, proj_dim)
        self.first_bn = nn.BatchNorm2d(1)
        specs = [filts[0], filts[1], filts[2], filts[3], filts[3], filts[3]]
        self.encoder = nn.ModuleList(
            ResBlock2d(int(a), int(b), first=i == 0, pool=1) for i, (a, b) in enumerate(specs)
        )
        c = int(filts[3][1])
        self.encoder_bn = nn.BatchNorm2d(c)
        # 1x1-conv attention scores shared by the spectral and the temporal pooling
        self.attention = nn.Sequential(
            nn.Conv2d(c, 128, 1), nn.SELU(), nn.BatchNorm2d(128), nn.Conv2d(128, c, 1)
        )
        self.backend = GraphBackend(proj_dim // 3, c, gat_dims, pool_ratios, temperatures)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h, n = self.backbone(wave, lengths)  # (B, F, H)
        x = self.LL(h).transpose(1, 2).unsqueeze(1)  # (B, 1, proj_dim, F)
        if x.shape[-1] < 3:
            x = F.pad(x, (0, 3 - x.shape[-1]))
        x = F.max_pool2d(x, (3, 3))  # (B, 1, proj_dim // 3, F // 3); valid outputs read valid frames
        n = conv_lengths(n, 3, 3)
        x = mask_time(F.selu(self.first_bn(x)), n)
        for block in self.encoder:
            x, n = block(x, n)
        x = F.selu(self.encoder_bn(x))  # (B, C, S, T)
        w = self.attention(x)
        t_mask = length_mask(n, x.shape[-1])
        e_S = (x * masked_softmax(w, t_mask[:, None, None, :], dim=-1)).sum(-1).transpose(1, 2)  # (B, S, C)
        e_T = (x * torch.softmax(w, dim=-2)).sum(-2).transpose(1, 2)  # (B, T, C)
        return self.backend(e_S, e_T, t_mask)
