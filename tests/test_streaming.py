"""Streaming decisions equal the offline score of the same prefix (tiny synthetic audio, tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robocall_bench.fingerprint.index import NumpyIndex
from robocall_bench.fingerprint.landmarks import fingerprint
from robocall_bench.inference.preprocess import Preprocess
from robocall_bench.inference.streaming import FingerprintStream, GMMStream, RescoreStream
from robocall_bench.models.lfcc_gmm import LFCCGMM

SR = 8000


def _speechlike(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """8 kHz noise bursts through random resonances, with pauses and a level ramp: peaks, silences,
    and a prefix RMS that keeps changing."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = np.zeros(n)
    for _ in range(12):
        f0, a = rng.uniform(300, 3300), rng.uniform(0.05, 0.5)
        x += a * np.sin(2 * np.pi * (f0 + 200 * np.sin(2 * np.pi * rng.uniform(0.2, 2) * t)) * t)
    gate = (np.sin(2 * np.pi * 1.3 * t) > -0.3).astype(float)
    x = x * gate * np.linspace(0.3, 1.5, n) + 0.003 * rng.standard_normal(n)
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def gmm() -> LFCCGMM:
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(16000)).astype(np.float32) for _ in range(6)]
    waves = [np.cumsum(w) / 50 if i % 2 else w for i, w in enumerate(waves)]
    return LFCCGMM(n_components=4, max_iter=5).fit(waves, [i % 2 for i in range(6)])


def _offline(model: LFCCGMM, wave16: np.ndarray) -> float:
    return float(model.score_batch(torch.from_numpy(wave16)[None], torch.tensor([wave16.size]))[0])


@pytest.mark.parametrize("normalize", ["rms", "none", "peak"])
def test_gmm_stream_equals_offline_prefix(gmm: LFCCGMM, normalize: str) -> None:
    pre = Preprocess(normalize=normalize)
    x = _speechlike(np.random.default_rng(1), 3.3)
    stream = GMMStream(gmm, pre, SR)
    hop = 3201  # odd chunk sizes: resampler and frame grids never line up with the chunks
    for end in range(hop, x.size + hop, hop):
        got = stream.push(x[end - hop : end])
        want = _offline(gmm, pre(x[:end], SR))
        assert got == pytest.approx(want, rel=1e-6, abs=1e-6), end
    if normalize == "none":  # constant gain: frame LLRs are cached, only the last frames recomputed
        assert stream.n_llr > 0.8 * (2 * x.size - gmm.frontend.n_fft) / gmm.frontend.hop_length


def test_gmm_stream_frozen_gain(gmm: LFCCGMM) -> None:
    pre = Preprocess()
    x = _speechlike(np.random.default_rng(2), 3.0)
    stream = GMMStream(gmm, pre, SR, freeze_gain_s=1.0)
    g0 = None
    for end in range(4000, x.size + 1, 4000):
        got = stream.push(x[end - 4000 : end])
        y = pre.resample(x[:end], SR)
        if end < SR:
            want = _offline(gmm, pre(x[:end], SR))
        else:
            if g0 is None:
                g0 = np.float32(
                    10 ** (pre.target_dbfs / 20) / np.sqrt(np.mean(np.square(y, dtype=np.float64)))
                )
            want = _offline(gmm, y * g0)
        assert got == pytest.approx(want, rel=1e-6, abs=1e-6), end
    assert stream.frozen and stream.n_llr > 0


def test_rescore_stream_is_offline_prefix(gmm: LFCCGMM) -> None:
    class Scorer:
        pre = Preprocess()

        def score(self, waves):
            return np.array([_offline(gmm, w) for w in waves])

    x = _speechlike(np.random.default_rng(3), 1.5)
    s = RescoreStream(Scorer(), SR)
    s.push(x[:4000])
    assert s.push(x[4000:]) == pytest.approx(_offline(gmm, Preprocess()(x, SR)), rel=1e-9)


def test_fingerprint_stream_equals_offline_prefix() -> None:
    rng = np.random.default_rng(4)
    calls = [_speechlike(rng, 4.0) for _ in range(6)]
    index = NumpyIndex()
    for k, c in enumerate(calls):
        index.add(k, fingerprint(c, SR))
    # a live call: 0.7 s of its own audio, then call 2 from its 0.5th second (a replayed message)
    x = np.concatenate([_speechlike(rng, 0.7), calls[2][4000:]])
    stream = FingerprintStream(index, top=5, exclude=5)
    hop = 4000
    best = None
    for end in range(hop, x.size + hop, hop):
        got = stream.push(x[end - hop : end])
        fp = fingerprint(x[:end], SR)
        np.testing.assert_array_equal(stream.fp.hashes, fp.hashes)
        np.testing.assert_array_equal(stream.fp.frames, fp.frames)
        assert got == index.query(fp, exclude=5, top=5), end
        best = got[0] if got else None
    assert best is not None and best.key == 2 and best.votes > 20
    assert 0 < stream.n_new < 0.5 * stream.codes.size  # most landmarks' postings came from the cache
