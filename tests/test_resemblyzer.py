"""Resemblyzer front-end: the GE2E encoder (offline, Resemblyzer's numbers), its feature cache, the fitted head,
and an end-to-end ``rcb train`` + ``rcb score`` on a tiny corpus."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from robocall_bench.contract import read_protocol
from robocall_bench.inference.checkpoint import read_checkpoint
from robocall_bench.inference.score_cli import score
from robocall_bench.models import build_model, ge2e, score_from_logits
from robocall_bench.models.embcache import FeatureCache
from robocall_bench.models.ge2e import EMBED_DIM, GE2EEncoder, partial_starts, utterance_embedding
from robocall_bench.models.resemblyzer import ResemblyzerDetector
from test_train_support import tiny_corpus, train_cfg

SR = 16000


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("RCB_CACHE", str(d))
    return d


@pytest.fixture(scope="module")
def encoder() -> GE2EEncoder:
    return GE2EEncoder.pretrained()


def _voice(seconds: float, f0: float, seed: int) -> np.ndarray:
    """A vibrato tone + noise, like the reference wave the golden numbers below were computed on."""
    g = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.1 * np.sin(2 * np.pi * (f0 + 20 * np.sin(2 * np.pi * 3 * t)) * t)
            + 0.02 * g.standard_normal(t.size)).astype(np.float32)  # fmt: skip


# ----------------------------------------------------------------------------------- encoder


def test_encoder_loads_the_pinned_weights_offline(monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("the encoder must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    ge2e._load_state.cache_clear()
    enc = GE2EEncoder.pretrained()
    assert enc.weights_sha256 == ge2e.WEIGHTS_SHA256 and ge2e.weights_file().name == "pretrained.pt"
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    assert sum(p.numel() for p in enc.parameters()) == 1_423_616  # LSTM(40, 256, 3) + Linear(256, 256)


def test_missing_wheel_says_how_to_install(monkeypatch):
    import importlib.metadata as md

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "distribution", missing)
    with pytest.raises(ge2e.EncoderUnavailableError, match=r"pip install --no-deps resemblyzer==0\.1\.4"):
        ge2e.weights_file()


def test_partial_slicing_is_resemblyzers():
    # VoiceEncoder.compute_partial_slices(n, rate=1.3, min_coverage=0.75), mel slice starts
    expected = {0: [0], 100: [0], 16000: [0], 25600: [0], 32000: [0, 77], 40000: [0, 77],
                48000: [0, 77, 154], 100000: [0, 77, 154, 231, 308, 385, 462]}  # fmt: skip
    assert {n: partial_starts(n) for n in expected} == expected
    with pytest.raises(ValueError, match="rate"):
        partial_starts(16000, rate=0.5)


def test_embedding_matches_resemblyzer(encoder):
    # VoiceEncoder().embed_utterance(_voice(2.5, 150, 123)) with Resemblyzer 0.1.4 / librosa 0.11:
    # its 8 largest dimensions and their values, and the sum of all 256
    idx = [15, 136, 120, 35, 121, 238, 20, 168]
    ref = [0.21817, 0.21525, 0.21114, 0.20434, 0.20204, 0.18359, 0.17929, 0.16481]
    emb = utterance_embedding(encoder.partial_embeddings([_voice(2.5, 150, 123)])[0])
    np.testing.assert_allclose(emb[idx], ref, atol=5e-5)
    assert abs(float(emb.sum()) - 9.110048) < 1e-3


def test_embeddings_shape_finite_deterministic_and_batch_invariant(encoder):
    waves = [_voice(0.3, 120, 0), _voice(2.2, 200, 1), _voice(1.7, 160, 2)]
    parts = encoder.partial_embeddings(waves)
    assert [p.shape for p in parts] == [(encoder.n_partials(w.size), EMBED_DIM) for w in waves]
    emb = np.stack([utterance_embedding(p) for p in parts])
    assert emb.shape == (3, EMBED_DIM) and np.isfinite(emb).all()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    again = encoder.partial_embeddings(waves)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    alone = encoder.partial_embeddings(waves[1:2])[0]  # in a batch of one: same numbers
    np.testing.assert_allclose(alone, parts[1], atol=1e-6)


# ------------------------------------------------------------------------------------- cache


def _counting(model: ResemblyzerDetector, monkeypatch) -> list[int]:
    """Counts the waves the encoder is run on."""
    calls: list[int] = []
    real = model.encoder.partial_embeddings

    def counted(waves):
        calls.append(len(waves))
        return real(waves)

    monkeypatch.setattr(model.encoder, "partial_embeddings", counted)
    return calls


def test_cache_hit_skips_the_encoder(cache_dir, monkeypatch):
    model = ResemblyzerDetector()
    calls = _counting(model, monkeypatch)
    waves = [_voice(1.5, 150, 3), _voice(2.0, 180, 4)]
    first = model.partials(waves)
    assert sum(calls) == 2 and len(list(cache_dir.rglob("*.npz"))) == 2
    second = ResemblyzerDetector().partials(waves)  # a new model object: only the disk is shared
    third = model.partials(waves)
    assert sum(calls) == 2 and model.cache.stats() == {"hits": 2, "misses": 2, "rejected": 0}
    assert all(
        np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(first, second, third, strict=True)
    )
    model.partials([waves[0][:16000]])  # another cut of the same call is other audio: computed
    assert sum(calls) == 3
    assert not list(cache_dir.rglob("*.tmp"))


def _write(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "shape", "nan", "foreign", "garbage"])
def test_damaged_cache_entries_are_recomputed_not_trusted(cache_dir, monkeypatch, damage):
    model = ResemblyzerDetector()
    w, other = _voice(1.6, 150, 5), _voice(1.6, 210, 6)
    good = model.partials([w, other])
    key = model.cache.key(w)
    path = model.cache.path(key)
    blob = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flipped":  # one byte of the stored floats: the zip CRC no longer matches
        b = bytearray(blob)
        b[len(b) // 2] ^= 0x40
        path.write_bytes(bytes(b))
    elif damage == "shape":
        _write(path, key=np.array(key), features=good[0][:, :128])
    elif damage == "nan":
        _write(path, key=np.array(key), features=np.full_like(good[0], np.nan))
    elif damage == "foreign":  # another utterance's entry under this key
        shutil.copy(model.cache.path(model.cache.key(other)), path)
    else:
        path.write_bytes(b"not an npz")
    calls = _counting(model, monkeypatch)
    again = model.partials([w])[0]
    assert calls == [1] and model.cache.rejected == 1
    np.testing.assert_allclose(again, good[0], atol=1e-6)  # (another LSTM batch: float rounding differs)
    assert np.array_equal(np.load(path)["features"], again)  # rewritten with the recomputed entry


def test_cache_off_and_unwritable_cache_still_score(tmp_path, monkeypatch):
    monkeypatch.setenv("RCB_CACHE", "off")
    w = _voice(1.0, 150, 7)
    off = ResemblyzerDetector()
    assert off.cache.root is None and off.partials([w])[0].shape == (1, EMBED_DIM)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    cache = FeatureCache("ge2e", "ns", root=blocker)  # cannot make folders under a file
    with pytest.warns(RuntimeWarning, match="RCB_CACHE"):
        cache.put(cache.key(w), np.zeros((1, EMBED_DIM), np.float32))
    assert cache.get(cache.key(w)) is None


# -------------------------------------------------------------------------------------- head


def _two_classes(n: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """'robocall' = steady low vibrato tones, 'human' = noisy higher ones (the encoder tells them apart)."""
    rng = np.random.default_rng(seed)
    waves, labels = [], []
    for i in range(n):
        sec = float(rng.uniform(0.8, 1.6))  # one partial each: fast
        waves.append(_voice(sec, float(rng.uniform(110, 140)), seed * 100 + 2 * i))
        labels.append(1)
        noisy = _voice(sec, float(rng.uniform(220, 260)), seed * 100 + 2 * i + 1)
        waves.append(noisy + 0.05 * rng.standard_normal(noisy.size).astype(np.float32))
        labels.append(0)
    return waves, labels


def _pad(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    wave = torch.zeros(len(waves), max(map(len, waves)))
    for i, w in enumerate(waves):
        wave[i, : len(w)] = torch.from_numpy(w)
    return wave, torch.tensor([len(w) for w in waves])


@pytest.mark.parametrize("kw", [{}, {"hidden": 8, "pool": "mean_std"}], ids=["logreg", "mlp_mean_std"])
def test_fit_score_save_load(tmp_path, kw):
    train_w, train_y = _two_classes(5, 0)
    test_w, test_y = _two_classes(3, 1)
    model = ResemblyzerDetector(**kw)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.score_batch(torch.zeros(1, 8000), torch.tensor([8000]))
    assert model.fit(train_w, train_y) is model
    assert model.fit_info["feature_dim"] == (512 if kw else 256) and model.fit_info["cache_misses"] == 10
    wave, lengths = _pad(test_w)
    s = model.score_batch(wave, lengths)
    assert s.shape == (len(test_w),) and np.isfinite(s).all() and roc_auc_score(test_y, s) > 0.9
    np.testing.assert_allclose(score_from_logits(model(wave, lengths)).numpy(), s, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.score_batch(wave[:1, : lengths[0]], lengths[:1]), s[:1], atol=1e-9)
    path = model.save(tmp_path / "head.npz")
    assert not list(tmp_path.glob("*.tmp"))
    loaded = ResemblyzerDetector.load(path)
    assert loaded.kwargs == model.kwargs
    np.testing.assert_allclose(loaded.score_batch(wave, lengths), s, rtol=1e-12)
    refit = ResemblyzerDetector(**kw).fit(train_w, train_y)  # from the cache this time: same head
    assert refit.fit_info["cache_hits"] == 10 and refit.fit_info["cache_misses"] == 0
    np.testing.assert_allclose(refit.score_batch(wave, lengths), s, rtol=1e-9)


def test_config_builds_and_rejects_bad_settings():
    model = build_model("resemblyzer")
    assert isinstance(model, ResemblyzerDetector) and model.kwargs["pool"] == "mean"
    with pytest.raises(ValueError, match="pool"):
        ResemblyzerDetector(pool="max")
    with pytest.raises(ValueError, match="min_coverage"):
        ResemblyzerDetector(min_coverage=0)


# ------------------------------------------------------------------------------- end to end


def _read(path: Path) -> dict[str, float]:
    rows = (
        line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("utt_id")
    )
    return {u: float(v) for u, v in rows}


def test_rcb_train_fits_scores_and_rcb_score_repeats_it(corpora_root, tmp_path_factory, tmp_path):
    corpus = tiny_corpus(corpora_root, tmp_path_factory)
    from robocall_bench.training.run import train

    run = tmp_path / "run"
    cfg = train_cfg(corpus, run, "data.train_crop_s=null", "data.preprocess.target_dbfs=-30.0",
                    "score.early_seconds=[2]", model={"_target_": "robocall_bench.models.resemblyzer.ResemblyzerDetector"})  # fmt: skip
    out = train(cfg, run)
    fit = out["fit"]
    assert fit["steps"] == 0 and 0 <= fit["best_dev_eer"] <= 1 and fit["fit_info"]["cache_misses"] > 0
    ck = read_checkpoint(run / "checkpoints" / "best.ckpt")
    assert ck["rcb"]["kind"] == "sklearn" and ck["blob"][:2] == b"PK"  # the head's .npz (a zip), no pickle
    for track in ("dev", "eval", "early-2s"):
        assert (run / "scores" / f"{track}.tsv").is_file(), track
    assert "eval" in out["metrics"]["tracks"]
    ids = [r["utt_id"] for r in read_protocol(corpus).rows() if r["split"] == "eval" and r["track"] == "eval"]
    got = tmp_path / "eval.tsv"
    score(str(run), str(corpus / "protocol.tsv"), str(got), split="eval", track="eval", batch_size=3)
    a, b = _read(got), _read(run / "scores" / "eval.tsv")
    np.testing.assert_allclose([a[u] for u in ids], [b[u] for u in ids], atol=1e-6)
