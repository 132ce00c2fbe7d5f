"""The published AASIST / AASIST-L weights: key map, strict loading, sizes, scores, errors, rcb score.

Tests with the real files skip when ../shared/models/aasist-asvspoof2019la is absent (conftest
``aasist_weights``); the key-map and error tests build their own "published" files from a randomly
initialised model, so they always run. Agreement with the authors' code itself is checked by
benchmarks/aasist_reference.py (needs their checkout); the expected scores below are what their
code gives for the same input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from robocall_bench.errors import RcbError
from robocall_bench.inference.preprocess import first_samples_tiled
from robocall_bench.inference.scoring import load_scorer, without_pretrained
from robocall_bench.models import build_model, count_parameters, score_from_logits
from robocall_bench.models.aasist_weights import (
    PUBLISHED_SAMPLES,
    _published_name,
    is_published_state,
    our_key,
)

FILES = {"aasist": "AASIST.pth", "aasist_l": "AASIST-L.pth"}
PUBLISHED_PARAMS = {"aasist": 297_866, "aasist_l": 85_306}
# spoof - bona fide logit of the authors' code (clovaai/aasist a04c986, CPU) on _fixed_input()
REFERENCE_SCORES = {"aasist": 5.593184, "aasist_l": 8.231815}


def _fixed_input() -> np.ndarray:
    """1.5 s at 16 kHz: a modulated tone + noise (shorter than 64,600 samples, so it is tiled)."""
    rng = np.random.default_rng(1234)
    t = np.arange(24_000) / 16000
    tone = 0.2 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    x = tone + 0.02 * rng.standard_normal(t.size)
    return x.astype(np.float32)


def _published_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state of one of our AASISTs under the published names and class order (inverse key map)."""
    out = {}
    for k, v in model.state_dict().items():
        if k.startswith("backend.out_layer."):
            v = v.flip(0)
        out[_published_name(k)] = v.clone()
    return out


@pytest.fixture(scope="module")
def fake_published(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """A random AASIST-L saved under the published names: (file, the model it came from)."""
    torch.manual_seed(3)
    model = build_model("aasist_l").eval()
    f = tmp_path_factory.mktemp("published") / "AASIST-L.pth"
    torch.save(_published_state(model), f)
    return f, model


# --------------------------------------------------------------------------- key map (no files)


def test_key_map_covers_every_key_both_ways():
    model = build_model("aasist")
    ours = list(model.state_dict())
    assert len(ours) == 229
    published = [_published_name(k) for k in ours]
    assert len(set(published)) == 229 and all(our_key(p) == k for p, k in zip(published, ours, strict=True))
    assert {"first_bn.weight", "encoder.0.0.conv1.weight", "encoder.2.0.conv_downsample.weight", "pos_S",
            "master1", "GAT_layer_S.att_weight", "HtrgGAT_layer_ST22.bn.running_var",
            "pool_hT2.proj.bias", "out_layer.weight"} <= set(published)  # fmt: skip
    assert our_key("conv_time.band_pass") is None and our_key("encoder.0.conv1.weight") is None


def test_published_file_round_trips_with_class_order_swapped(fake_published):
    f, src = fake_published
    model = build_model("aasist_l", pretrained=str(f)).eval()
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    raw = torch.load(f, weights_only=True)
    assert torch.equal(raw["out_layer.weight"][0], model.backend.out_layer.weight[1])  # spoof row -> robocall


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda s: s.pop("pos_S"), r"missing 1 key\(s\): pos_S \(ours backend\.pos_S\)"),
        (lambda s: s.update({"conv_time.band_pass": torch.zeros(70, 129)}), r"unexpected 1 key\(s\): conv_time"),
        (lambda s: s.update({"master1": torch.zeros(1, 1, 64)}), r"wrong shape .*master1 \(1, 1, 64\), ours \(1, 1, 24\)"),
        (lambda s: s.update({"encoder.1.0.bnX.weight": s.pop("encoder.1.0.bn1.weight")}),
         r"missing 1 key\(s\): encoder\.1\.0\.bn1\.weight.*unexpected 1 key\(s\): encoder\.1\.0\.bnX\.weight"),
    ],
)  # fmt: skip
def test_a_wrong_key_names_the_file_and_the_key(fake_published, tmp_path, edit, expect):
    state = torch.load(fake_published[0], weights_only=True)
    edit(state)
    f = tmp_path / "edited.pth"
    torch.save(state, f)
    with pytest.raises(RcbError, match=expect) as e:
        build_model("aasist_l", pretrained=str(f))
    assert str(f) in str(e.value) and "model.pretrained" in str(e.value)


def test_files_that_are_not_published_weights_are_refused(fake_published, tmp_path):
    with pytest.raises(RcbError, match="file not found"):
        build_model("aasist_l", pretrained=str(tmp_path / "nope.pth"))
    torch.save({"rcb": {}, "state_dict": {}}, tmp_path / "ours.ckpt")
    with pytest.raises(RcbError, match="is a robocall-bench checkpoint"):
        build_model("aasist_l", pretrained=str(tmp_path / "ours.ckpt"))
    torch.save({"a.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(RcbError, match=r"missing 229 key\(s\).*unexpected 1 key\(s\): a\.weight"):
        build_model("aasist_l", pretrained=str(tmp_path / "other.pth"))
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    with pytest.raises(RcbError, match="not a state dict"):
        build_model("aasist_l", pretrained=str(tmp_path / "list.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(RcbError, match="not a readable PyTorch weights file"):
        build_model("aasist_l", pretrained=str(tmp_path / "junk.pth"))
    with pytest.raises(RcbError, match="block_preact"):  # the pre-activation block computes something else
        build_model("aasist_l", block_preact=True, pretrained=str(fake_published[0]))
    with pytest.raises(RcbError, match="wrong shape"):  # AASIST-L weights into AASIST
        build_model("aasist", pretrained=str(fake_published[0]))


def test_dataparallel_prefix_is_accepted(fake_published, tmp_path):
    state = {f"module.{k}": v for k, v in torch.load(fake_published[0], weights_only=True).items()}
    assert is_published_state(state) and not is_published_state({"rcb": {}, **state})
    torch.save(state, tmp_path / "dp.pth")
    model = build_model("aasist_l", pretrained=str(tmp_path / "dp.pth"))
    assert torch.equal(model.backend.pos_S, fake_published[1].backend.pos_S)


def test_first_samples_tiled_is_the_authors_eval_pad():
    def authors_pad(x: np.ndarray, n: int) -> np.ndarray:  # data_utils.pad of clovaai/aasist
        if x.shape[0] >= n:
            return x[:n]
        return np.tile(x, (1, int(n / x.shape[0]) + 1))[:, :n][0]

    rng = np.random.default_rng(0)
    for size in (1, 7, 24_000, 64_599, 64_600, 64_601, 100_000):
        x = rng.standard_normal(size).astype(np.float32)
        assert np.array_equal(first_samples_tiled(x, PUBLISHED_SAMPLES), authors_pad(x, PUBLISHED_SAMPLES))


def test_a_checkpoint_fine_tuned_from_published_weights_rebuilds_without_reading_them():
    cfg = {
        "_target_": "robocall_bench.models.aasist.AASIST",
        "pretrained": "/gone/AASIST.pth",
        "block_preact": False,
    }
    assert without_pretrained(cfg, {}, Path("x.ckpt"))["pretrained"] is None


# ------------------------------------------------------------------------ the published files


@pytest.mark.parametrize("name", ["aasist", "aasist_l"])
def test_published_weights_load_strict_with_the_published_sizes(aasist_weights, name):
    raw = torch.load(aasist_weights / FILES[name], map_location="cpu", weights_only=True)
    assert len(raw) == 229 and is_published_state(raw)
    model = build_model(name, pretrained=str(aasist_weights / FILES[name]))
    assert count_parameters(model) == PUBLISHED_PARAMS[name] == sum(v.numel() for k, v in raw.items()
                                                                    if "running_" not in k and "num_batches" not in k)  # fmt: skip
    assert len(model.state_dict()) == 229
    # BN1 of blocks 2-6 is in the files but unused by the reference: frozen, the rest trains
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert frozen == 2 * sum(b.bn1.num_features for b in model.encoder[1:])


@pytest.mark.parametrize("name", ["aasist", "aasist_l"])
def test_published_weights_score_as_the_reference_finite_and_deterministic(aasist_weights, name):
    x = torch.from_numpy(first_samples_tiled(_fixed_input(), PUBLISHED_SAMPLES))[None]
    n = torch.tensor([PUBLISHED_SAMPLES])
    scores = []
    for _ in range(2):  # two independently built models
        model = build_model(name, pretrained=str(aasist_weights / FILES[name])).eval()
        with torch.no_grad():
            scores.append(float(score_from_logits(model(x, n))[0]))
    assert np.isfinite(scores[0]) and scores[0] == scores[1]
    assert scores[0] == pytest.approx(REFERENCE_SCORES[name], abs=1e-3)


def test_rcb_score_takes_published_weights_as_ckpt(aasist_weights, tmp_path):
    d = tmp_path / "calls"
    d.mkdir()
    x16 = _fixed_input()
    sf.write(d / "short16k.wav", x16, 16000)  # tiled to 64,600
    rng = np.random.default_rng(5)
    sf.write(d / "long8k.flac", (0.1 * rng.standard_normal(8000 * 7)).astype(np.float32), 8000)  # cut
    scorer = load_scorer(aasist_weights / "AASIST-L.pth", device="cpu")
    assert scorer.meta["model"]["name"] == "aasist_l" and scorer.fixed_samples == PUBLISHED_SAMPLES
    assert scorer.pre.normalize == "none"
    from robocall_bench.inference.score_cli import score

    out = tmp_path / "scores.tsv"
    r = score(str(aasist_weights / "AASIST-L.pth"), str(d), str(out), device="cpu")
    got = dict(ln.split("\t") for ln in out.read_text().splitlines()[1:])
    assert r.n_scored == 2 and set(got) == {"short16k.wav", "long8k.flac"}
    assert float(got["short16k.wav"]) == pytest.approx(REFERENCE_SCORES["aasist_l"], abs=1e-3)
    assert r.result.audio_s < 1.5 + 6  # the 7 s file was read only up to 64,600 samples + 1 s margin


def test_leaderboard_names_the_weights_a_run_started_from(fake_published, aasist_weights):
    from robocall_bench.leaderboard.from_run import pretrained_of

    own = pretrained_of({"pretrained": str(fake_published[0])})
    assert own is not None and own["id"] == "AASIST-L.pth" and own["revision"].startswith("sha256:")
    assert pretrained_of({"pretrained": str(aasist_weights / "AASIST-L.pth")}) == {
        "id": "clovaai/aasist/models/weights/AASIST-L.pth",
        "revision": "a04c9863f63d44471dde8a6abcb3b082b07cd1d1",
        "license": "MIT",
        "url": "https://github.com/clovaai/aasist/tree/a04c9863f63d44471dde8a6abcb3b082b07cd1d1/models/weights",
    }
