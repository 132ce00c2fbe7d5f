"""Landmark fingerprints and the index: replays through the real channel match, re-spoken words do not."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.fingerprint import simulate as sim
from robocall_bench.fingerprint.campaign import UnionFind, evidence, score_set
from robocall_bench.fingerprint.index import NumpyIndex, top_matches
from robocall_bench.fingerprint.landmarks import HASH_BITS, SAMPLE_RATE, Fingerprint, fingerprint

CORPORA = Path(os.environ.get("RCB_CORPORA", "corpora"))
needs_corpora = pytest.mark.skipif(
    not (CORPORA / "fsdd").is_dir() or not (CORPORA / "librispeech-sample").is_dir(),
    reason="RCB_CORPORA with fsdd/ and librispeech-sample/ needed",
)
MIN_VOTES = 15  # configs/campaign.yaml


def _votes(a: np.ndarray, b: np.ndarray) -> int:
    idx = NumpyIndex()
    idx.add(7, fingerprint(b, SAMPLE_RATE))
    m = idx.query(fingerprint(a, SAMPLE_RATE))
    return m[0].votes if m else 0


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


def test_evidence_is_monotone_and_zero_without_matches() -> None:
    assert evidence(0, 0, 100) == 0.0
    assert evidence(3, 99, 100) < evidence(4, 0, 100)  # the tie-break never reorders votes
    assert evidence(3, 10, 100) < evidence(3, 50, 100)


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
        replays.append(_votes(a, b))
    takes = sim.fsdd_takes(CORPORA / "fsdd")
    respoken = [
        _votes(p.a, p.b) for p in (sim.respoken_pair(takes, s, 12, ch, rng) for s in ("george", "nicolas"))
    ]
    utts = sorted((CORPORA / "librispeech-sample" / "test-other").rglob("*.flac"))
    spk = [u for u in utts if u.parts[-3] == utts[0].parts[-3]]
    p = sim.speaker_pair(sim.read_8k(spk[0]), sim.read_8k(spk[1]), ch, rng)
    negatives = [*respoken, _votes(p.a, p.b)]
    assert min(replays) >= MIN_VOTES, replays
    assert max(negatives) < MIN_VOTES, negatives
