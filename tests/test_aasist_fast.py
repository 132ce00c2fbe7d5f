"""The AASIST inference fast path (eval + autograd off): same logits as the plain path, safe to train.

Randomly initialised models with perturbed BN statistics (so the folded weights differ from the
raw ones), short inputs; the published weights are compared against the authors' code by
benchmarks/aasist_speed.py.
"""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F

from robocall_bench.models import build_model


def _model(name: str = "aasist_l", seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(name)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def _batch(n: int = 3, samples: int = 12_000) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    wave = 0.1 * torch.randn(n, samples, generator=g)
    lengths = torch.tensor([samples, samples * 2 // 3, samples // 3])[:n]
    for i in range(1, n):
        wave[i, lengths[i] :] = 0
    return wave, lengths


@pytest.mark.parametrize("name", ["aasist", "aasist_l"])
def test_fast_path_gives_the_plain_logits(name):
    model = _model(name)
    wave, lengths = _batch()
    with torch.inference_mode():
        fast = model.set_fast_inference(True)(wave, lengths)
        plain = model.set_fast_inference(False)(wave, lengths)
    with torch.no_grad():
        fast_no_grad = model.set_fast_inference(True)(wave, lengths)
    assert torch.allclose(fast, plain, rtol=0, atol=1e-4)
    assert torch.equal(fast, fast_no_grad)
    # a padded item scores as it does alone (the fast path keeps the masks)
    with torch.inference_mode():
        alone = model(wave[2:, : lengths[2]], lengths[2:])
    assert torch.allclose(alone, fast[2:], rtol=0, atol=1e-4)


def test_folded_weights_follow_parameter_and_statistics_changes():
    model = _model()
    wave, lengths = _batch(1)
    with torch.inference_mode():
        model(wave, lengths)  # fills the caches
    with torch.no_grad():
        model.encoder[2].bn2.running_mean.add_(0.3)
        model.encoder[4].conv1.weight.mul_(1.1)
    model.load_state_dict(model.state_dict())
    with torch.inference_mode():
        fast = model.set_fast_inference(True)(wave, lengths)
        plain = model.set_fast_inference(False)(wave, lengths)
    assert torch.allclose(fast, plain, rtol=0, atol=1e-4)


def test_training_and_autograd_use_the_plain_path():
    model = _model()
    wave, lengths = _batch(2)
    model.train()
    model(wave, lengths).sum().backward()
    assert model.encoder[1].bn2.weight.grad is not None  # BN2 is not folded away while training
    assert "_fused_conv1" not in model.encoder[1].__dict__
    model.zero_grad()
    model.eval()  # eval with autograd on (e.g. input gradients): plain path, gradients reach params
    model(wave, lengths).sum().backward()
    assert model.encoder[1].conv1.weight.grad is not None
    assert model.encoder[1].bn2.weight.grad is not None


def test_fast_path_caches_stay_out_of_the_state_dict_and_pickle():
    model = _model()
    keys = set(model.state_dict())
    wave, lengths = _batch(1)
    with torch.inference_mode():
        before = model(wave, lengths)
    assert set(model.state_dict()) == keys
    again = pickle.loads(pickle.dumps(model))
    with torch.inference_mode():
        assert torch.equal(again(wave, lengths), before)


def test_backend_restores_the_thread_count():
    model = _model()
    wave, lengths = _batch(1)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            model(wave, lengths)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("shape", [(1, 32, 23, 301), (2, 64, 5, 10), (3, 1, 2, 4), (1, 4, 3, 5)])
def test_time_pool_equals_max_pool2d(shape):
    """The fast path's time pool (strided maxima) gives max_pool2d's values, NaN included, in the
    channels-last layout the next conv reads."""
    from robocall_bench.models.aasist import _max_pool_time

    x = torch.randn(*shape).contiguous(memory_format=torch.channels_last)
    x[0, 0, 0, 1] = float("nan")
    got, ref = _max_pool_time(x, 3), F.max_pool2d(x, (1, 3))
    assert got.shape == ref.shape
    assert torch.equal(got.nan_to_num(-9.0), ref.nan_to_num(-9.0))
    assert torch.equal(got.isnan(), ref.isnan())
    assert got.is_contiguous(memory_format=torch.channels_last)
