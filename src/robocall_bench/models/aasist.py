"""AASIST (Jung et al., ICASSP 2022): sinc encoder + spectro-temporal heterogeneous graph attention.

Re-implemented from the paper and the reference architecture (clovaai/aasist); hyper-parameter
names follow the reference configs (``filts``, ``gat_dims``, ``pool_ratios``, ``temperatures``).
The building blocks (:class:`ResBlock2d`, :class:`GraphBackend`) are reused by the SSL variant
(wav2vec2_aasist.py). Padding: every conv input is re-zeroed past each item's valid length, and the
graph layers carry a node mask (attention, top-k pooling and read-out ignore padded time nodes).

With ``block_preact=False`` (configs/model/aasist*.yaml) the model computes what the reference code
computes, so the authors' published ASVspoof 2019 LA weights load (``pretrained=PATH``, see
aasist_weights.py) and give the reference's logits on unpadded inputs (to 1e-4:
benchmarks/aasist_reference.py). The reference quirks kept for that: each residual block's
``conv1`` reads the block input (the reference computes BN1 + SELU and discards it), all four HS-GAL
layers use ``temperatures[2]`` and all four of their pools ``pool_ratios[2]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .base import Detector
from .frontends import SincConv, conv_lengths, length_mask, mask_time, masked_mean, masked_softmax


class ResBlock2d(nn.Module):
    """Residual block on (B, C_in, F, T) -> (B, C_out, F, T // pool).

    ``preact=True``: pre-activation block, BN1 + SELU -> conv1 -> BN2 + SELU -> conv2 (+ skip).
    ``preact=False``: as the AASIST / SSL-AASIST reference code runs it, where conv1 reads the block
    input and the BN1 + SELU output is discarded. BN1 is then kept only so the published weights load
    (strict): its parameters can get no gradient, so they are frozen (``requires_grad=False``; the
    optimizer and DDP then ignore them). The first block never has BN1 (the stem's BN + SELU precede it).
    """

    def __init__(
        self, c_in: int, c_out: int, first: bool = False, pool: int = 3, preact: bool = True
    ) -> None:
        super().__init__()
        self.bn1 = None if first else nn.BatchNorm2d(c_in)
        self.preact = preact
        if self.bn1 is not None and not preact:
            self.bn1.requires_grad_(False)
        self.conv1 = nn.Conv2d(c_in, c_out, (2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, (2, 3), padding=(0, 1))
        self.down = nn.Conv2d(c_in, c_out, (1, 3), padding=(0, 1)) if c_in != c_out else None
        self.pool = pool

    fast_inference = True  # see _use_fast_path; AASIST.set_fast_inference switches every block

    def forward(self, x: torch.Tensor, n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, F, T), zero past n (B,) valid frames -> (out, new n); out zero past new n."""
        if _use_fast_path(self):
            return self._forward_fast(x, n)
        out = x if self.bn1 is None or not self.preact else mask_time(F.selu(self.bn1(x)), n)
        out = mask_time(F.selu(self.bn2(self.conv1(out))), n)
        out = self.conv2(out) + (x if self.down is None else self.down(x))
        if self.pool > 1:
            out = F.max_pool2d(out, (1, self.pool))
            n = conv_lengths(n, self.pool, self.pool)
        return mask_time(out, n), n

    def _forward_fast(self, x: torch.Tensor, n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` for inference (eval mode, no autograd): BN2 folded into conv1, in-place ops.

        Same function as the plain path up to float rounding (the folded weights, ~1e-7 relative).
        """
        w1, b1 = _cached(self, "_fused_conv1", lambda: _fold_bn(self.conv1, self.bn2))
        out = x if self.bn1 is None or not self.preact else mask_time(F.selu(self.bn1(x)), n)
        out = mask_time(F.selu(F.conv2d(out, w1, b1, padding=(1, 1)), inplace=True), n)
        out = self.conv2(out)
        out += x if self.down is None else self.down(x)
        if self.pool > 1:
            out = _max_pool_time(out, self.pool)
            n = conv_lengths(n, self.pool, self.pool)
        return mask_time(out, n), n


def _max_pool_time(x: torch.Tensor, k: int) -> torch.Tensor:
    """``F.max_pool2d(x, (1, k))`` of x (B, C, F, T) -> (B, C, F, T // k), as k - 1 elementwise maxima
    of strided views: the same values, ~4x faster on channels-last CPU tensors, where max_pool2d also
    writes an int64 index per output that inference never reads."""
    t = x.shape[-1] // k * k
    out = torch.maximum(x[..., 0:t:k], x[..., 1:t:k])
    for j in range(2, k):
        torch.maximum(out, x[..., j:t:k], out=out)
    return out


def _use_fast_path(module: nn.Module) -> bool:
    """True where the inference fast path applies: eval mode, autograd off, ``fast_inference`` on.

    The fast path uses weights derived from the parameters (BN folded into the preceding conv), so
    it never runs while training or while gradients are recorded (they would not reach the
    parameters); there the plain path runs unchanged.
    """
    return module.fast_inference and not module.training and not torch.is_grad_enabled()


def _fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of ``bn(conv(x))`` as one conv (eval-mode BN: running statistics)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = (conv.weight * scale.view(-1, 1, 1, 1)).contiguous(memory_format=torch.channels_last)
    b = (conv.bias - bn.running_mean) * scale + bn.bias
    return w.detach(), b.detach()


def _cached(module: nn.Module, attr: str, make):
    """``make()`` cached on ``module`` until one of its parameters / buffers changes.

    The key holds each tensor's storage, version counter (bumped by every in-place update:
    optimizer steps, ``load_state_dict``, BN statistics) and device/dtype, so training, loading
    weights or moving the module recomputes it. Not part of the state dict.
    """
    tensors = [*module.parameters(), *module.buffers()]
    key = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)
    hit = module.__dict__.get(attr)
    if hit is not None and hit[0] == key:
        return hit[1]
    with torch.no_grad():
        value = make()
    module.__dict__[attr] = (key, value)
    return value


def _xavier(*shape: int) -> nn.Parameter:
    return nn.Parameter(nn.init.xavier_normal_(torch.empty(*shape)))


def _bn_nodes(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm over the feature axis of node tensors (B, N, D)."""
    return bn(x.transpose(1, 2)).transpose(1, 2)


class GraphAttention(nn.Module):
    """Graph attention layer (GAT-S / GAT-T): nodes (B, N, D_in) + mask (B, N) -> (B, N, D_out)."""

    def __init__(self, d_in: int, d_out: int, temperature: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        self.att_proj = nn.Linear(d_in, d_out)
        self.att_weight = _xavier(d_out, 1)
        self.proj_with_att = nn.Linear(d_in, d_out)
        self.proj_without_att = nn.Linear(d_in, d_out)
        self.bn = nn.BatchNorm1d(d_out)
        self.drop = nn.Dropout(dropout)
        self.temperature = temperature

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.drop(x)
        # attention logits from the element-wise product of every node pair: (B, N, N)
        e = (torch.tanh(self.att_proj(x[:, :, None] * x[:, None])) @ self.att_weight).squeeze(-1)
        a = masked_softmax(e / self.temperature, mask[:, None, :], dim=-1)  # over neighbours
        x = self.proj_with_att(a @ x) + self.proj_without_att(x)
        return F.selu(_bn_nodes(self.bn, x))


class HeteroGraphAttention(nn.Module):
    """HS-GAL: attention over the union of two node types plus a stack (master) node.

    ``forward(x1 (B, N1, D), m1, x2 (B, N2, D), m2, master (B|1, 1, D))`` ->
    ``(x1' (B, N1, D_out), x2' (B, N2, D_out), master' (B, 1, D_out))``.
    """

    def __init__(self, d_in: int, d_out: int, temperature: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(d_in, d_in)
        self.proj_type2 = nn.Linear(d_in, d_in)
        self.att_proj = nn.Linear(d_in, d_out)
        self.att_projM = nn.Linear(d_in, d_out)
        # attention vectors for type1-type1, type2-type2, cross-type edges, and the master node
        self.att_weight11, self.att_weight22 = _xavier(d_out, 1), _xavier(d_out, 1)
        self.att_weight12, self.att_weightM = _xavier(d_out, 1), _xavier(d_out, 1)
        self.proj_with_att = nn.Linear(d_in, d_out)
        self.proj_without_att = nn.Linear(d_in, d_out)
        self.proj_with_attM = nn.Linear(d_in, d_out)
        self.proj_without_attM = nn.Linear(d_in, d_out)
        self.bn = nn.BatchNorm1d(d_out)
        self.drop = nn.Dropout(dropout)
        self.temperature = temperature

    def forward(
        self, x1: torch.Tensor, m1: torch.Tensor, x2: torch.Tensor, m2: torch.Tensor, master: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n1 = x1.shape[1]
        x = self.drop(torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1))
        mask = torch.cat([m1, m2], dim=1)
        e = torch.tanh(self.att_proj(x[:, :, None] * x[:, None]))  # (B, N, N, D_out)
        w = torch.cat([self.att_weight11, self.att_weight22, self.att_weight12], dim=1)
        s11, s22, s12 = (e @ w).unbind(-1)  # one logit per edge type, (B, N, N) each
        kind = torch.arange(x.shape[1], device=x.device) >= n1  # False: type 1, True: type 2
        same, t2 = kind[:, None] == kind[None, :], kind[:, None]
        e = torch.where(same, torch.where(t2, s22, s11), s12)
        a = masked_softmax(e / self.temperature, mask[:, None, :], dim=-1)
        # master node: attends to every (valid) node, then updated without BN / activation
        em = (torch.tanh(self.att_projM(x * master)) @ self.att_weightM).squeeze(-1)  # (B, N)
        am = masked_softmax(em / self.temperature, mask, dim=-1)
        master = self.proj_with_attM(am[:, None, :] @ x) + self.proj_without_attM(master)
        x = F.selu(_bn_nodes(self.bn, self.proj_with_att(a @ x) + self.proj_without_att(x)))
        return x[:, :n1], x[:, n1:], master


class GraphPool(nn.Module):
    """Graph pooling: keep the top ``ratio`` of valid nodes by a learned sigmoid score.

    ``forward(h (B, N, D), mask (B, N)) -> (h' (B, K, D), mask' (B, K))`` with
    ``K = max_b max(int(n_b * ratio), 1)``; mask' marks each item's own kept count.
    """

    def __init__(self, ratio: float, dim: int, dropout: float = 0.3) -> None:
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(dim, 1)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.sigmoid(self.proj(self.drop(h))).squeeze(-1)  # (B, N)
        # float64 so int(n * ratio) matches Python's for every n (float32 rounds 10 * 0.7 to 6.99..)
        keep = (mask.sum(1).double() * self.ratio).floor().long().clamp(min=1)
        k = int(keep.max())
        idx = scores.masked_fill(~mask, float("-inf")).topk(k, dim=1).indices  # padded nodes last
        h = (h * scores.unsqueeze(-1)).gather(1, idx.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
        return h, length_mask(keep, k)


class GraphBackend(nn.Module):
    """AASIST back-end: spectral nodes (B, S, C), temporal nodes (B, T, C) + mask (B, T) -> logits (B, 2).

    GAT-S / GAT-T + graph pooling, then two parallel branches of two HS-GAL layers each (with their
    own stack node), combined by the element-wise max ("max graph operation"), read out as
    [max|T|, mean T, max|S|, mean S, stack] -> linear. As in the reference, ``temperatures[2]`` and
    ``pool_ratios[2]`` are used by all four HS-GAL layers and their pools; ``temperatures[3]`` and
    ``pool_ratios[3]`` are unused (every config sets them; they keep the reference's config layout).
    """

    def __init__(
        self,
        n_spec: int,
        in_dim: int,
        gat_dims: Sequence[int] = (64, 32),
        pool_ratios: Sequence[float] = (0.5, 0.7, 0.5, 0.5),
        temperatures: Sequence[float] = (2.0, 2.0, 100.0, 100.0),
    ) -> None:
        super().__init__()
        g0, g1 = gat_dims
        self.pos_S = nn.Parameter(torch.randn(1, n_spec, in_dim))  # learned spectral positions
        self.master1 = nn.Parameter(torch.randn(1, 1, g0))
        self.master2 = nn.Parameter(torch.randn(1, 1, g0))
        self.gat_S = GraphAttention(in_dim, g0, temperatures[0])
        self.gat_T = GraphAttention(in_dim, g0, temperatures[1])
        self.hs11 = HeteroGraphAttention(g0, g1, temperatures[2])
        self.hs12 = HeteroGraphAttention(g1, g1, temperatures[2])
        self.hs21 = HeteroGraphAttention(g0, g1, temperatures[2])
        self.hs22 = HeteroGraphAttention(g1, g1, temperatures[2])
        self.pool_S = GraphPool(pool_ratios[0], g0)
        self.pool_T = GraphPool(pool_ratios[1], g0)
        self.pool_hS1, self.pool_hT1 = GraphPool(pool_ratios[2], g1), GraphPool(pool_ratios[2], g1)
        self.pool_hS2, self.pool_hT2 = GraphPool(pool_ratios[2], g1), GraphPool(pool_ratios[2], g1)
        self.drop_way = nn.Dropout(0.2)
        self.drop = nn.Dropout(0.5)
        self.out_layer = nn.Linear(5 * g1, 2)

    def _branch(self, hs_a, hs_b, pool_s, pool_t, t, tm, s, sm, master):
        t1, s1, m1 = hs_a(t, tm, s, sm, master)
        s1, sm = pool_s(s1, sm)
        t1, tm = pool_t(t1, tm)
        t2, s2, m2 = hs_b(t1, tm, s1, sm, m1)
        return self.drop_way(t1 + t2), self.drop_way(s1 + s2), self.drop_way(m1 + m2), tm, sm

    fast_inference = True  # see _use_fast_path: the graph ops then run on one intra-op thread

    def forward(self, e_S: torch.Tensor, e_T: torch.Tensor, t_mask: torch.Tensor) -> torch.Tensor:
        threads = torch.get_num_threads()
        if threads == 1 or not _use_fast_path(self):
            return self._forward(e_S, e_T, t_mask)
        # ~150 small ops on (B, <= 31 nodes, <= 64): splitting them over threads costs more than it
        # saves (4-7x slower on 2 threads than on 1 on a busy 2-core machine, batch 1 and 16)
        torch.set_num_threads(1)
        try:
            return self._forward(e_S, e_T, t_mask)
        finally:
            torch.set_num_threads(threads)

    def _forward(self, e_S: torch.Tensor, e_T: torch.Tensor, t_mask: torch.Tensor) -> torch.Tensor:
        s_mask = torch.ones(e_S.shape[:2], dtype=torch.bool, device=e_S.device)
        s, s_mask = self.pool_S(self.gat_S(e_S + self.pos_S, s_mask), s_mask)
        t, t_mask = self.pool_T(self.gat_T(e_T, t_mask), t_mask)
        t1, s1, m1, tm, sm = self._branch(
            self.hs11, self.hs12, self.pool_hS1, self.pool_hT1, t, t_mask, s, s_mask, self.master1
        )
        t2, s2, m2, _, _ = self._branch(
            self.hs21, self.hs22, self.pool_hS2, self.pool_hT2, t, t_mask, s, s_mask, self.master2
        )
        t, s, m = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
        n_t, n_s = tm.sum(1), sm.sum(1)
        hidden = torch.cat(
            [
                (t.abs() * tm.unsqueeze(-1)).amax(1),  # |.| >= 0, so zeroed padded nodes never win
                masked_mean(t, n_t, dim=1),
                (s.abs() * sm.unsqueeze(-1)).amax(1),
                masked_mean(s, n_s, dim=1),
                m.squeeze(1),
            ],
            dim=1,
        )
        return self.out_layer(self.drop(hidden))


class AASIST(Detector):
    """AASIST / AASIST-L: wave (B, T) + lengths (B,) -> logits (B, 2).

    Sinc filters (``filts[0]`` bands, ``first_conv`` taps) -> |.| -> 3x3 max-pool -> 6 residual
    blocks (each max-pools time by 3) -> spectral nodes (max over time) and temporal nodes (max over
    frequency) -> :class:`GraphBackend`.

    ``block_preact``: see :class:`ResBlock2d`; False (the configs) computes what the reference code
    does. The default True is the block of this package before the published weights were supported:
    checkpoints trained then hold configs without the key and rebuild unchanged.
    ``pretrained``: a published AASIST / AASIST-L state dict (``AASIST.pth``, ``AASIST-L.pth`` of
    clovaai/aasist) loaded through the key map of aasist_weights.py (weights only, strict), the
    start of fine-tuning (``rcb train ... model.pretrained=PATH``). Only the initial weights depend
    on it, never the architecture, so scoring rebuilds a trained checkpoint without reading it.
    """

    # ``pretrained`` only initialises weights: scoring a checkpoint rebuilds with pretrained=None
    # (inference/scoring.py), as the checkpoint holds every weight.
    pretrained_sets_weights_only = True
    # inference fast path (eval mode + autograd off only; see _use_fast_path): folded BN, in-place
    # ops, the unused sinc filters skipped, the graph back-end on one intra-op thread. Equal to the plain path to float rounding (1e-6 on the
    # published weights' logits, benchmarks/aasist_speed.py); set False on a model to disable.
    fast_inference = True

    def __init__(
        self,
        first_conv: int = 128,
        filts: Sequence = (70, (1, 32), (32, 32), (32, 64), (64, 64)),
        gat_dims: Sequence[int] = (64, 32),
        pool_ratios: Sequence[float] = (0.5, 0.7, 0.5, 0.5),
        temperatures: Sequence[float] = (2.0, 2.0, 100.0, 100.0),
        freq_aug: bool = False,
        block_preact: bool = True,
        pretrained: str | None = None,
    ) -> None:
        super().__init__()
        self.sinc = SincConv(int(filts[0]), first_conv, self.sample_rate, freq_mask=freq_aug)
        self.first_bn = nn.BatchNorm2d(1)
        specs = [filts[1], filts[2], filts[3], filts[4], filts[4], filts[4]]
        self.block_preact = bool(block_preact)
        self.encoder = nn.ModuleList(
            ResBlock2d(int(a), int(b), first=i == 0, pool=3, preact=self.block_preact)
            for i, (a, b) in enumerate(specs)
        )
        # channels-last conv weights + activations: ~1.5x faster 2-D convs / pools on CPU (oneDNN)
        self.encoder.to(memory_format=torch.channels_last)
        self.backend = GraphBackend(int(filts[0]) // 3, int(filts[4][1]), gat_dims, pool_ratios, temperatures)
        # shortest input giving one frame after the sinc conv, the stem pool and six pools by 3
        self.min_samples = self.sinc.kernel_size - 1 + 3**7
        if pretrained:
            from .aasist_weights import load_published

            load_published(self, pretrained)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if wave.shape[-1] < self.min_samples:
            wave = F.pad(wave, (0, self.min_samples - wave.shape[-1]))
        n = conv_lengths(self.sinc.output_lengths(lengths), 3, 3)
        compiled = self.__dict__.get("_compiled_encoder")
        if compiled is not None and _use_fast_path(self) and bool((lengths >= wave.shape[-1]).all()):
            x = compiled(wave)  # opt-in (compile_encoder): unpadded batches only
            for _ in self.encoder:
                n = conv_lengths(n, 3, 3)
        else:
            if _use_fast_path(self):
                x = self._stem_fast(wave, n)
            else:
                x = F.max_pool2d(self.sinc(wave).abs().unsqueeze(1), (3, 3))  # (B, 1, S // 3, T' // 3)
                x = mask_time(F.selu(self.first_bn(x)), n).contiguous(memory_format=torch.channels_last)
            for block in self.encoder:
                x, n = block(x, n)
        e = x.abs()  # (B, C, F, T); padded frames are 0, below every |valid| value
        e_S = e.amax(-1).transpose(1, 2)  # (B, F, C): spectral nodes
        e_T = e.amax(2).transpose(1, 2)  # (B, T, C): temporal nodes
        return self.backend(e_S, e_T, length_mask(n, e_T.shape[1]))

    def set_fast_inference(self, on: bool = True) -> AASIST:
        """Switch the inference fast path (:func:`_use_fast_path`) of the model and its blocks."""
        for m in self.modules():
            if hasattr(type(m), "fast_inference"):
                m.fast_inference = bool(on)
        return self

    def _stem_fast(self, wave: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        """Sinc conv -> |.| -> 3x3 max-pool -> BN + SELU for inference (see :func:`_use_fast_path`).

        The pool drops the last ``S % 3`` filters, so they are not computed; the 1-channel BN is an
        affine map applied in place, as are |.| and SELU.
        """
        s = self.sinc.out_channels // 3 * 3
        x = F.conv1d(wave.unsqueeze(1), self.sinc.filters[:s]).abs_()  # (B, S', T')
        x = F.max_pool2d(x.unsqueeze(1), (3, 3))  # (B, 1, S // 3, T' // 3)
        bn = self.first_bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        x = x.mul_(scale).add_(bn.bias - bn.running_mean * scale)
        return mask_time(F.selu(x, inplace=True), n).contiguous(memory_format=torch.channels_last)

    def compile_encoder(self, **compile_kwargs) -> AASIST:
        """Opt-in: ``torch.compile`` the encoder (sinc conv .. residual blocks) of the fast path.

        The compiled function (:meth:`_encode_dense`) has no masks, so it serves only batches without
        padding (every item as long as the batch: scoring fixed-length crops); others, training and
        ``set_fast_inference(False)`` run eagerly. The graph back-end stays eager (data-dependent
        top-k sizes). Compilation happens at the first call of each input shape (minutes on a small
        CPU) and needs a C++ compiler; nothing else requires it. Not saved with the model (a model
        holding it does not pickle: ``del model._compiled_encoder`` first).
        """
        self.__dict__["_compiled_encoder"] = torch.compile(self._encode_dense, **compile_kwargs)
        return self

    def _encode_dense(self, wave: torch.Tensor) -> torch.Tensor:
        """Stem + encoder for an unpadded batch (B, T) -> (B, C, F, T''), eval mode, plain ops."""
        s = self.sinc.out_channels // 3 * 3  # the stem pool drops the last S % 3 filters
        x = F.max_pool2d(F.conv1d(wave.unsqueeze(1), self.sinc.filters[:s]).abs().unsqueeze(1), (3, 3))
        x = F.selu(self.first_bn(x)).contiguous(memory_format=torch.channels_last)
        for b in self.encoder:
            out = x if b.bn1 is None or not b.preact else F.selu(b.bn1(x))
            out = b.conv2(F.selu(b.bn2(b.conv1(out)))) + (x if b.down is None else b.down(x))
            x = F.max_pool2d(out, (1, b.pool)) if b.pool > 1 else out
        return x
