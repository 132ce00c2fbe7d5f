"""Detectors: configs instantiate, forward/backward, padding invariance, sizes, GMM, wav2vec2 options."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from robocall_bench.config import config_dir
from robocall_bench.models import (
    Detector,
    PretrainedUnavailableError,
    build_model,
    count_parameters,
    score_from_logits,
)
from robocall_bench.models.lfcc_gmm import LFCCGMM

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CONFIGS = sorted(p.stem for p in (config_dir() / "model").glob("*.yaml"))
TORCH_MODELS = ["lfcc_lcnn", "rawnet2", "aasist", "aasist_l", "wav2vec2", "wav2vec2_aasist"]
SR = 16000

# a tiny wav2vec 2.0 (hidden 32, 2 layers, 80-sample hop) for the backbone option tests
TINY_W2V = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [32, 32, 32],
    "conv_kernel": [10, 3, 3],
    "conv_stride": [5, 4, 4],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
    "feat_extract_norm": "layer",
}


def _speechlike(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    f0 = rng.uniform(100, 220) * (1 + 0.05 * np.sin(2 * np.pi * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 10)) * np.clip(np.sin(2 * np.pi * 4 * t) + 0.3, 0, None)
    return (0.3 * x / np.abs(x).max() + 0.01 * rng.standard_normal(n)).astype(np.float32)


def _batch(lengths: list[int], total: int | None = None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded (B, total) batch of speech-like signals with the given valid lengths."""
    rng = np.random.default_rng(seed)
    wave = torch.zeros(len(lengths), total or max(lengths))
    for i, n in enumerate(lengths):
        wave[i, :n] = torch.from_numpy(_speechlike(n, rng))
    return wave, torch.tensor(lengths, dtype=torch.long)


def _build(name: str, **kw) -> Detector:
    if name.startswith("wav2vec2"):  # the `train` extra
        pytest.importorskip("transformers")
    torch.manual_seed(0)
    return build_model(name, **kw)


# ------------------------------------------------------------------------------------- configs


@pytest.mark.parametrize("name", CONFIGS)
def test_every_model_config_instantiates(name: str):
    try:
        model = _build(name)
    except PretrainedUnavailableError as e:  # a hub id, offline: must say what to do instead
        assert "local directory" in str(e) and "network" in str(e)
        pytest.skip(f"{name}: pretrained weights unavailable offline")
    assert isinstance(model, Detector)
    assert count_parameters(model) >= 0


def test_build_model_overrides_and_unknown_name():
    assert _build("lfcc_gmm", n_components=4).kwargs["n_components"] == 4
    with pytest.raises(ValueError, match="available"):
        build_model("no_such_model")


@pytest.mark.parametrize(("name", "published"), [("aasist", 297_866), ("aasist_l", 85_306)])
def test_aasist_parameter_counts(name: str, published: int):
    assert abs(count_parameters(_build(name)) - published) <= 0.02 * published


# --------------------------------------------------------------------- forward / backward / padding


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_forward_backward_finite(name: str):
    model = _build(name).train()
    wave, lengths = _batch([16000, 11000])
    logits = model(wave, lengths)
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    bad = [
        k
        for k, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())
    ]
    assert not bad, f"missing / non-finite grads: {bad[:5]}"


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_padding_invariance(name: str):
    model = _build(name).eval()
    wave, lengths = _batch([6000, 9000])
    with torch.no_grad():
        alone = model(wave[:1, :6000], lengths[:1])
        padded = model(wave, lengths)[:1]  # same item, zero-padded by 3000 samples in a batch
    torch.testing.assert_close(padded, alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_short_inputs_give_finite_logits(name: str):
    model = _build(name).eval()
    wave, lengths = _batch([1200, 600])  # shorter than several receptive fields
    with torch.no_grad():
        assert torch.isfinite(model(wave, lengths)).all()


# ------------------------------------------------------------------------------------- LFCC-GMM


def _tones_and_noise(n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[int]]:
    waves, labels = [], []
    for _ in range(n):
        size = int(rng.integers(6000, 12000))
        t = np.arange(size) / SR
        f = rng.uniform(200, 600)
        tone = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 6)) + 0.01 * rng.standard_normal(size)
        noise = rng.standard_normal(size)
        waves += [(0.2 * tone).astype(np.float32), (0.05 * noise).astype(np.float32)]
        labels += [1, 0]  # "robocall" = tones, "human" = noise
    return waves, labels


def test_lfcc_gmm_fit_score_save_load(tmp_path):
    rng = np.random.default_rng(0)
    train_w, train_y = _tones_and_noise(6, rng)
    test_w, test_y = _tones_and_noise(5, rng)
    model = LFCCGMM(n_components=4, max_frames_per_class=300, random_state=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.score_batch(torch.zeros(1, 8000), torch.tensor([8000]))
    assert model.fit(train_w, train_y) is model
    wave = torch.zeros(len(test_w), max(map(len, test_w)))
    for i, w in enumerate(test_w):
        wave[i, : len(w)] = torch.from_numpy(w)
    lengths = torch.tensor([len(w) for w in test_w])
    scores = model.score_batch(wave, lengths)
    assert scores.shape == (len(test_w),) and roc_auc_score(test_y, scores) > 0.9
    # padding invariance, forward = [0, llr], determinism, round trip
    np.testing.assert_allclose(model.score_batch(wave[:1, : lengths[0]], lengths[:1]), scores[:1], rtol=1e-6)
    np.testing.assert_allclose(score_from_logits(model(wave, lengths)).numpy(), scores, rtol=1e-5)
    again = LFCCGMM(n_components=4, max_frames_per_class=300, random_state=0).fit(train_w, train_y)
    np.testing.assert_allclose(again.score_batch(wave, lengths), scores)
    path = model.save(tmp_path / "gmm.npz")
    assert path.is_file() and not list(tmp_path.glob("*.tmp"))
    loaded = LFCCGMM.load(path)
    assert loaded.kwargs == model.kwargs
    np.testing.assert_allclose(loaded.score_batch(wave, lengths), scores, rtol=1e-10)


# -------------------------------------------------------------------------------------- wav2vec2


def test_wav2vec2_from_local_dir_and_config(tmp_path):
    from robocall_bench.models.wav2vec2 import Wav2Vec2Detector

    transformers = pytest.importorskip("transformers")
    Wav2Vec2Config, Wav2Vec2Model = transformers.Wav2Vec2Config, transformers.Wav2Vec2Model

    torch.manual_seed(0)
    Wav2Vec2Model(Wav2Vec2Config(**TINY_W2V)).save_pretrained(tmp_path / "tiny")
    saved = Wav2Vec2Model.from_pretrained(tmp_path / "tiny").state_dict()
    model = Wav2Vec2Detector(pretrained=str(tmp_path / "tiny"), config={"mask_time_prob": 0.0})
    backbone = model.backbone.model
    assert backbone.config.mask_time_prob == 0.0  # config overrides the pretrained config
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(v, saved[k])
    scratch = Wav2Vec2Detector(config=TINY_W2V)
    assert scratch.backbone.hidden_size == 32 and len(scratch.backbone.model.encoder.layers) == 2
    wave, lengths = _batch([8000, 6000])
    assert model.eval()(wave, lengths).shape == (2, 2)
    with pytest.raises(PretrainedUnavailableError, match="local directory"):
        Wav2Vec2Detector(pretrained=str(tmp_path / "missing"))


def test_wav2vec2_freeze_options(tmp_path):
    pytest.importorskip("transformers")
    from robocall_bench.models.wav2vec2 import Wav2Vec2Detector

    enc = Wav2Vec2Detector(config=TINY_W2V, freeze_feature_encoder=True)
    fe = enc.backbone.model.feature_extractor
    assert not any(p.requires_grad for p in fe.parameters())
    assert all(p.requires_grad for n, p in enc.named_parameters() if ".feature_extractor." not in f".{n}")

    frozen = Wav2Vec2Detector(config=TINY_W2V, freeze_backbone=True).train()
    assert not any(p.requires_grad for p in frozen.backbone.model.parameters())
    assert all(p.requires_grad for p in frozen.head.parameters())
    assert not frozen.backbone.model.training and frozen.head.training  # frozen = fixed extractor
    wave, lengths = _batch([8000, 6000])
    frozen(wave, lengths).sum().backward()
    assert all(p.grad is None for p in frozen.backbone.model.parameters())
    assert frozen.head.weight.grad is not None

    free = Wav2Vec2Detector(config=TINY_W2V, freeze_feature_encoder=False)
    assert all(p.requires_grad for p in free.parameters())
    # default (None): a from-scratch encoder trains (frozen random convs would be fixed random
    # features); one loaded from pretrained weights is frozen, the usual fine-tuning recipe
    assert all(p.requires_grad for p in Wav2Vec2Detector(config=TINY_W2V).parameters())
    free.backbone.model.save_pretrained(tmp_path / "w2v")
    tuned = Wav2Vec2Detector(pretrained=str(tmp_path / "w2v"))
    assert not any(p.requires_grad for p in tuned.backbone.model.feature_extractor.parameters())
    assert tuned.head.weight.requires_grad


def test_wav2vec2_layer_weighting():
    pytest.importorskip("transformers")
    from robocall_bench.models.wav2vec2 import Wav2Vec2Detector

    torch.manual_seed(0)
    model = Wav2Vec2Detector(config=TINY_W2V, layer_weighting=True, freeze_backbone=True).train()
    probs = model.backbone.layer_weight_probs()
    assert probs.shape == (TINY_W2V["num_hidden_layers"] + 1,)
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    wave, lengths = _batch([8000, 6000])
    model(wave, lengths).sum().backward()
    assert model.backbone.layer_weights.grad is not None and model.backbone.layer_weights.grad.abs().sum() > 0
    # all the weight on the last state = the plain last-layer model
    plain = Wav2Vec2Detector(config=TINY_W2V, layer_weighting=False).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if "layer_weights" not in k})
    with torch.no_grad():
        model.backbone.layer_weights.copy_(torch.tensor([-1e4, -1e4, 0.0]))
        torch.testing.assert_close(model.eval()(wave, lengths), plain(wave, lengths))


def test_wav2vec2_group_norm_backbone_is_padding_invariant():
    pytest.importorskip("transformers")
    from robocall_bench.models.wav2vec2 import Wav2Vec2Detector

    torch.manual_seed(0)
    model = Wav2Vec2Detector(config={**TINY_W2V, "feat_extract_norm": "group"}).eval()
    wave, lengths = _batch([7000, 10000])
    with torch.no_grad():
        torch.testing.assert_close(
            model(wave, lengths)[:1], model(wave[:1, :7000], lengths[:1]), atol=1e-5, rtol=1e-5
        )


def test_mfm_gradient_is_bit_identical_to_torch_maximum():
    """The LCNN's max-feature-map backward (models/lfcc_lcnn.py) repeats maximum's, ties included."""
    from robocall_bench.models.lfcc_lcnn import _MaxFeatureMap

    torch.manual_seed(0)
    y = torch.randn(3, 8, 6, 20)
    y[:, 4:, 0, :5] = y[:, :4, 0, :5]  # equal pairs: maximum gives each half dy / 2
    y[:, :4, 1, :3], y[:, 4:, 1, :3] = -0.0, 0.0  # signed zeros compare equal
    g = torch.randn(3, 4, 6, 20)
    ref, ours = y.clone().requires_grad_(), y.clone().requires_grad_()
    out_ref = torch.maximum(*ref.chunk(2, dim=1))
    out_ref.backward(g)
    out = _MaxFeatureMap.apply(ours)
    out.backward(g)
    assert torch.equal(out, out_ref) and torch.equal(ours.grad, ref.grad)
    assert (ours.grad[:, :4, 0, :5] == g[:, :, 0, :5] / 2).all()
