"""wav2vec 2.0 / XLS-R (transformers ``Wav2Vec2Model``) backbone + pooled linear head.

The backbone comes from ``pretrained`` (a hub id such as ``facebook/wav2vec2-base`` or a local
directory written by ``save_pretrained``; ``config`` then overrides config fields) or from
``config`` alone (``Wav2Vec2Config`` kwargs: trained from scratch). Needs the ``train`` extra
(``pip install robocall-bench[train]``).

Padding: the valid frames of each item are ``_get_feat_extract_output_lengths(lengths)`` and the
transformer gets the matching attention mask. Models whose conv feature encoder uses group norm
(``feat_extract_norm="group"``, e.g. wav2vec2-base) normalise over the whole time axis, padding
included, so their conv encoder runs item by item on the unpadded audio.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.nn import functional as F

from .base import Detector
from .frontends import length_mask, mask_time, masked_mean


class PretrainedUnavailableError(OSError):
    """A ``pretrained`` backbone could not be loaded (no network / not cached / bad id or path)."""


def _plain(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Hydra passes DictConfig (with ListConfig values): HF configs need plain, JSON-able types."""
    if config is None:
        return {}
    return OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else dict(config)


def load_backbone(pretrained: str | None = None, config: Mapping[str, Any] | None = None) -> nn.Module:
    """A ``transformers.Wav2Vec2Model`` from a hub id / local directory, or from config kwargs."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model  # optional dependency: import lazily

    if pretrained:
        try:
            return Wav2Vec2Model.from_pretrained(str(pretrained), **_plain(config))
        except (OSError, ValueError) as e:  # offline / not cached / not found / invalid id
            raise PretrainedUnavailableError(
                f"cannot load the wav2vec 2.0 backbone {pretrained!r} ({type(e).__name__}: {e}). "
                "Pass a local directory (written by save_pretrained) or run with network access."
            ) from e
    if config is None:
        raise ValueError("give `pretrained` (hub id or local directory) or `config` (Wav2Vec2Config kwargs)")
    return Wav2Vec2Model(Wav2Vec2Config(**_plain(config)))


class SSLBackbone(nn.Module):
    """wav2vec 2.0 encoder: wave (B, T) + lengths (B,) -> (features (B, F, H), frame lengths (B,)).

    ``freeze_feature_encoder``: the conv feature encoder gets no gradients (usual fine-tuning);
    ``None`` (default) freezes it only when starting from ``pretrained`` weights: a randomly
    initialised encoder left frozen would feed the transformer fixed random features.
    ``freeze_backbone``: nothing in the backbone gets gradients and it stays in eval mode (no
    dropout / SpecAugment / LayerDrop), i.e. a fixed feature extractor.
    ``layer_weighting``: features = softmax(w)-weighted sum of all hidden states (the conv
    embedding + every transformer layer, SUPERB style) instead of the last layer.
    ``normalize_input``: zero-mean / unit-variance per item over its valid samples, as the HF
    feature extractors of wav2vec2-base and XLS-R do (``do_normalize=True``).
    """

    def __init__(
        self,
        pretrained: str | None = None,
        config: Mapping[str, Any] | None = None,
        freeze_feature_encoder: bool | None = None,
        freeze_backbone: bool = False,
        layer_weighting: bool = False,
        normalize_input: bool = True,
    ) -> None:
        super().__init__()
        self.model = load_backbone(pretrained, config)
        cfg = self.model.config
        if cfg.add_adapter:
            raise NotImplementedError("wav2vec 2.0 adapters (add_adapter=True) are not supported")
        self.hidden_size: int = cfg.hidden_size
        self.per_item_conv = cfg.feat_extract_norm == "group"
        self.freeze_backbone, self.normalize_input = freeze_backbone, normalize_input
        if freeze_feature_encoder is None:
            freeze_feature_encoder = pretrained is not None
        if freeze_feature_encoder or freeze_backbone:
            self.model.freeze_feature_encoder()
        if freeze_backbone:
            self.model.requires_grad_(False)
            self.model.eval()
        self.min_samples = 1  # shortest input giving one frame: invert the conv stack
        for k, s in reversed(list(zip(cfg.conv_kernel, cfg.conv_stride, strict=True))):
            self.min_samples = k + (self.min_samples - 1) * s
        self.layer_weights = None
        if layer_weighting:
            self.layer_weights = nn.Parameter(torch.zeros(cfg.num_hidden_layers + 1))
            for layer in self.model.encoder.layers:
                layer.register_forward_pre_hook(_hook_in, with_kwargs=True)
                layer.register_forward_hook(_hook_out)

    def backbone_config(self) -> dict[str, Any]:
        """The full ``Wav2Vec2Config`` as plain JSON types: rebuilds this architecture without ``pretrained``."""
        return json.loads(json.dumps(self.model.config.to_dict(), default=str))

    def train(self, mode: bool = True) -> SSLBackbone:
        super().train(mode)
        if self.freeze_backbone:
            self.model.eval()
        return self

    def layer_weight_probs(self) -> torch.Tensor:
        """Softmax of the layer weights (L + 1,); sums to 1."""
        if self.layer_weights is None:
            raise RuntimeError("layer_weighting is off")
        return torch.softmax(self.layer_weights, dim=0)

    def _conv_features(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Conv feature encoder: (B, T) -> (B, C, F)."""
        if not self.per_item_conv or wave.shape[0] == 1:
            return self.model.feature_extractor(wave)
        outs = [
            self.model.feature_extractor(wave[i : i + 1, : max(int(n), self.min_samples)])
            for i, n in enumerate(lengths.tolist())
        ]
        size = max(o.shape[-1] for o in outs)
        return torch.cat([F.pad(o, (0, size - o.shape[-1])) for o in outs])

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_backbone):
            states, n = self._encode(wave, lengths)
        if self.layer_weights is None:
            return states[-1], n
        # outside the no-grad block: the layer weights train even when the backbone is frozen
        w = self.layer_weight_probs().to(states[-1].dtype)
        return torch.einsum("l,lbfh->bfh", w, torch.stack(states)), n

    def _encode(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden states [embeddings, layer 1, ..., last] (each (B, F, H); only the last one
        without layer weighting) and the valid frame counts (B,)."""
        if wave.shape[-1] < self.min_samples:
            wave = F.pad(wave, (0, self.min_samples - wave.shape[-1]))
        if self.normalize_input:
            mean = masked_mean(wave, lengths)[:, None]
            std = masked_mean((wave - mean) ** 2, lengths)[:, None].add(1e-7).sqrt()
            wave = mask_time((wave - mean) / std, lengths)
        feats = self._conv_features(wave, lengths).transpose(1, 2)  # (B, F, C)
        n = self.model._get_feat_extract_output_lengths(lengths).clamp(min=1, max=feats.shape[1])
        mask = length_mask(n, feats.shape[1])
        hidden, _ = self.model.feature_projection(feats)
        hidden = self.model._mask_hidden_states(hidden, attention_mask=mask)  # SpecAugment (train only)
        if self.layer_weights is None:
            return [self.model.encoder(hidden, attention_mask=mask).last_hidden_state], n
        layers = list(self.model.encoder.layers)
        for layer in layers:
            layer.rcb_capture = {}
        try:
            last = self.model.encoder(hidden, attention_mask=mask).last_hidden_state
            caps = [layer.rcb_capture for layer in layers]
        finally:
            for layer in layers:
                layer.rcb_capture = None
        # states: input of the first transformer layer, then each layer's output; a layer skipped by
        # LayerDrop acts as the identity; the last state is the encoder output (final LN included)
        state = next((c["in"] for c in caps if "in" in c), last)
        states = [state]
        for c in caps[:-1]:
            state = c.get("out", state)
            states.append(state)
        states.append(last)
        return states, n


# Layer-weighting hooks keep what they see on the layer module itself (not on the backbone), so
# module replicas (nn.DataParallel) capture into their own layers.
def _hook_in(module: nn.Module, args: tuple, kwargs: dict) -> None:
    if getattr(module, "rcb_capture", None) is not None:
        module.rcb_capture["in"] = args[0] if args else kwargs["hidden_states"]


def _hook_out(module: nn.Module, _args: tuple, out: Any) -> None:
    if getattr(module, "rcb_capture", None) is not None:
        module.rcb_capture["out"] = out[0] if isinstance(out, tuple) else out


class Wav2Vec2Detector(Detector):
    """SSL backbone -> masked mean over frames -> dropout -> linear: wave (B, T) -> logits (B, 2).

    Backbone options: see :class:`SSLBackbone`.
    """

    def __init__(
        self,
        pretrained: str | None = None,
        config: Mapping[str, Any] | None = None,
        freeze_feature_encoder: bool | None = None,
        freeze_backbone: bool = False,
        layer_weighting: bool = False,
        normalize_input: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.backbone = SSLBackbone(
            pretrained, config, freeze_feature_encoder, freeze_backbone, layer_weighting, normalize_input
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(self.backbone.hidden_size, 2)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h, n = self.backbone(wave, lengths)  # (B, F, H)
        return self.head(self.drop(masked_mean(h, n, dim=1)))
