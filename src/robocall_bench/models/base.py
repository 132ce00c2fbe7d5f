"""The one model contract: 16 kHz waveforms + lengths in, two logits out."""

from __future__ import annotations

import torch
from torch import nn

from ..contract import LABELS

SAMPLE_RATE = 16000
CLASSES = LABELS  # logit order: the protocol's labels, human = 0, robocall = 1


class Detector(nn.Module):
    """Base class of every torch detector.

    ``forward(wave, lengths)``: wave (B, T) float32 at 16 kHz, zero-padded after ``lengths``
    (B,) int64 valid samples; returns logits (B, 2) in :data:`CLASSES` order.
    """

    sample_rate: int = SAMPLE_RATE
    # True when the constructor's ``pretrained`` argument only initialises weights (the architecture
    # does not depend on it): a trained checkpoint is then rebuilt with ``pretrained=None``.
    pretrained_sets_weights_only: bool = False

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


def score_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Score (B,) = logit(robocall) - logit(human): higher = more likely robocall."""
    return logits[:, 1] - logits[:, 0]
