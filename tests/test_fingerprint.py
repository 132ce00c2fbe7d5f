"""Landmark fingerprints and the index: replays through the real channel match, re-spoken words do not."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.channel.codecs import codec_available, roundtrip
from robocall_bench.fingerprint import simulate as sim
from robocall_bench.fingerprint.campaign import UnionFind, score_set
from robocall_bench.fingerprint.index import NumpyIndex, top_matches
from robocall_bench.fingerprint.landmarks import (
    HASH_BITS,
    SAMPLE_RATE,
    Fingerprint,
    LandmarkConfig,
    fingerprint,
)
from robocall_bench.fingerprint.verify import MIN_PEAKS, overlap_z

CORPORA = Path(os.environ.get("RCB_CORPORA", "corpora"))
needs_corpora = pytest.mark.skipif(
    not (CORPORA / "fsdd").is_dir() or not (CORPORA / "librispeech-sample").is_dir(),
    reason="RCB_CORPORA with fsdd/ and librispeech-sample/ needed",
)
MIN_Z = 10.0  # configs/campaign.yaml


def _match(a: np.ndarray, b: np.ndarray, cfg: LandmarkConfig | None = None) -> tuple[int, float]:
    """(votes, verified z) of call ``a`` against call ``b`` (8 kHz audio)."""
    fa, fb = fingerprint(a, SAMPLE_RATE, cfg), fingerprint(b, SAMPLE_RATE, cfg)
    idx = NumpyIndex()
    idx.add(7, fb)
    m = idx.query(fa)
    return (m[0].votes, overlap_z(fa, fb, m[0].offset)) if m else (0, 0.0)


def _peaks(rng: np.random.Generator, n: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.sort(rng.integers(0, frames, n)).astype(np.int32)
    return t, rng.integers(0, 200, n).astype(np.int32)


def test_top_matches_counts_offsets_within_one_frame() -> None:
    keys = np.array([1, 1, 1, 1, 2, 2, 2, 3])
    delta = np.array([5, 6, 4, 40, -3, -3, 100, 0])
    m = top_matches(keys, delta, top=3)
    assert [(x.key, x.votes, x.hits) for x in m] == [(1, 3, 4), (2, 2, 3), (3, 1, 1)]
    assert m[0].offset in (4, 5, 6) and m[1].offset == -3


def test_index_excludes_self_and_finds_a_shifted_copy() -> None:
    rng = np.random.default_rng(0)
    h = rng.integers(0, 1 << HASH_BITS, size=500).astype(np.uint32)
    t = np.sort(rng.integers(0, 600, size=500)).astype(np.int32)
    idx = NumpyIndex()
    idx.add(0, Fingerprint(h, t, 10.0))
    idx.add(1, Fingerprint(h[100:], t[100:] - 37, 8.0))  # picked up later: frames shift by 37
    idx.add(2, Fingerprint(rng.integers(0, 1 << HASH_BITS, 500).astype(np.uint32), t, 10.0))
    m = idx.query(Fingerprint(h, t, 10.0), exclude=0, top=3)
    assert m[0].key == 1 and m[0].votes == 400 and m[0].offset == 37
    assert all(x.key != 0 for x in m) and len(idx) == 3 and idx.n_postings == 1400


def test_overlap_z_finds_a_shifted_copy_and_not_chance() -> None:
    rng = np.random.default_rng(0)
    t, f = _peaks(rng, 400, 600)
    empty = np.zeros(0, np.uint32)
    a = Fingerprint(empty, np.zeros(0, np.int32), 9.6, t, f, 600)
    keep = rng.random(t.size) < 0.6  # a copy through a channel keeps some of the peaks
    b = Fingerprint(empty, np.zeros(0, np.int32), 9.0, t[keep] - 40, f[keep], 560)
    z = overlap_z(a, b, 40)
    assert z > 15
    assert overlap_z(a, b, 40 + 200) < 3  # wrong offset: chance level
    t2, f2 = _peaks(rng, 400, 600)
    c = Fingerprint(empty, np.zeros(0, np.int32), 9.6, t2, f2, 600)
    assert abs(overlap_z(a, c, 0)) < 3
    # a longer overlap of the same copy is more evidence (z grows like sqrt(overlap))
    half = t < 300
    a_half = Fingerprint(empty, np.zeros(0, np.int32), 4.8, t[half], f[half], 300)
    assert overlap_z(a_half, b, 40) < z
    # too few peaks in the overlap, or no peaks at all: no evidence
    few = Fingerprint(empty, np.zeros(0, np.int32), 0.1, t[: MIN_PEAKS - 1], f[: MIN_PEAKS - 1], 8)
    assert overlap_z(few, b, 40) == 0.0 and overlap_z(Fingerprint(empty, np.zeros(0, np.int32), 0.0), b, 0) == 0.0


@pytest.mark.skipif(not codec_available("amr-nb"), reason="sox with AMR-NB needed")
def test_amr_comfort_noise_is_not_a_replay() -> None:
    """AMR-NB's DTX comfort noise is one pseudo-random sequence in every call: the pauses of two
    unrelated calls coincide. Peaks of quiet frames are dropped, so they do not match."""

    def call(seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        x = 1e-3 * r.standard_normal(6 * SAMPLE_RATE)
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        for k in range(3):  # 1-s voiced bursts at call-specific pitches, 1-s pauses between
            f0 = r.uniform(100, 250)
            x[2 * k * SAMPLE_RATE : (2 * k + 1) * SAMPLE_RATE] += 0.1 * sum(
                np.sin(2 * np.pi * f0 * h * t + r.uniform(0, 6)) / h for h in range(1, 15)
            )
        return roundtrip(x.astype(np.float32), SAMPLE_RATE, "amr-nb", {"mode": 7})[0]

    a, b = call(1), call(2)
    votes, z = _match(a, b, LandmarkConfig(min_db_over_floor=-np.inf))  # no gate: pauses match
    assert votes >= 25 and z >= MIN_Z
    votes, z = _match(a, b)
    assert votes < 10 and z < 3


def test_union_find_labels_components() -> None:
    uf = UnionFind(5)
    uf.union(3, 1)
    uf.union(4, 3)
    assert uf.labels().tolist() == [0, 1, 2, 1, 1]


def test_score_set_of_one_and_of_empty_fingerprints() -> None:
    x = (0.1 * np.random.default_rng(1).standard_normal(3 * SAMPLE_RATE)).astype(np.float32)
    res = score_set([fingerprint(x, SAMPLE_RATE)])
    assert res.scores.tolist() == [0.0] and res.best.tolist() == [-1] and res.clusters.tolist() == [0]
    res = score_set([fingerprint(np.zeros(100, np.float32), SAMPLE_RATE)] * 2)
    assert res.votes.tolist() == [0, 0]


@needs_corpora
def test_replay_through_two_channels_matches_respoken_and_same_speaker_do_not() -> None:
    rng = np.random.default_rng(11)
    ch = sim.narrowband_channel(CORPORA)
    libri = sorted((CORPORA / "librispeech-sample" / "train-clean-100").glob("*.flac"))
    replays = []
    for f, (ca, cb) in zip(
        libri[20:23], [("pcmu", "amr-nb"), ("gsm610", "opus"), ("g721", "mp3")], strict=True
    ):
        msg = sim.read_8k(f)
        a = sim.campaign_call(msg, ch, rng, ca, pickup_s=(0.0, 2.0), call_s=(9.0, 12.0))
        b = sim.campaign_call(msg, ch, rng, cb, pickup_s=(0.0, 2.0), call_s=(9.0, 12.0))
        replays.append(_match(a, b)[1])
    takes = sim.fsdd_takes(CORPORA / "fsdd")
    respoken = [
        _match(p.a, p.b)[1] for p in (sim.respoken_pair(takes, s, 12, ch, rng) for s in ("george", "nicolas"))
    ]
    utts = sorted((CORPORA / "librispeech-sample" / "test-other").rglob("*.flac"))
    spk = [u for u in utts if u.parts[-3] == utts[0].parts[-3]]
    p = sim.speaker_pair(sim.read_8k(spk[0]), sim.read_8k(spk[1]), ch, rng)
    negatives = [*respoken, _match(p.a, p.b)[1]]
    assert min(replays) >= MIN_Z, replays
    assert max(negatives) < MIN_Z, negatives
