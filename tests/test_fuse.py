"""rcb fuse: a logistic-regression fusion fitted on dev labels only, applied to eval score files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robocall_bench.contract import read_protocol, read_scores, write_protocol, write_scores
from robocall_bench.errors import RcbError
from robocall_bench.fusion.fuse import apply_fusion, fit_fusion, main


def _corpus(tmp_path: Path, n: int = 200) -> Path:
    rows = []
    for split in ("train", "dev", "eval"):
        for i in range(n):
            lab = "robocall" if i % 2 else "human"
            track = "campaign" if split == "eval" else split if i % 4 < 2 else f"{split}-campaign"
            rows.append({"utt_id": f"{split}{i:03d}", "label": lab, "split": split, "track": track,
                         "role": "recorded" if lab == "robocall" else "live",
                         "campaign": f"c{i % 7}" if lab == "robocall" else "-",
                         "message": f"m{i % 7}" if lab == "robocall" else "-"})  # fmt: skip
    write_protocol(tmp_path / "protocol.tsv", rows)
    return tmp_path / "protocol.tsv"


def _systems(proto_path: Path, split: str, seed: int) -> list[np.ndarray]:
    """Two systems: a weak per-call one, and a strong fingerprint-like one that sees half the robocalls."""
    sel = read_protocol(proto_path).select(split)
    y = sel.is_robocall.astype(float)
    rng = np.random.default_rng(seed)
    weak = y * 1.0 + rng.normal(0, 1, y.size)
    strong = y * (np.arange(y.size) % 4 == 1) * 5 + rng.normal(0, 0.1, y.size)
    return [sel.cols["utt_id"], weak, strong]


def test_fusion_is_fitted_on_dev_and_beats_either_system_on_eval(tmp_path: Path) -> None:
    proto = _corpus(tmp_path)
    files = {}
    for split, seed in (("dev", 0), ("eval", 1)):
        ids, weak, strong = _systems(proto, split, seed)
        for name, s in (("weak", weak), ("strong", strong)):
            files[(split, name)] = write_scores(tmp_path / f"{name}_{split}.tsv", ids, s)
    out = tmp_path / "fused.tsv"
    argv = [f"scores=[{files[('eval', 'weak')]},{files[('eval', 'strong')]}]",
            f"dev_scores=[{files[('dev', 'weak')]},{files[('dev', 'strong')]}]", f"protocol={proto}", f"out={out}"]  # fmt: skip
    assert main(argv) == 0
    sel = read_protocol(proto).select("eval", "campaign")
    fused = read_scores(out, sel).scores
    y = sel.is_robocall
    from sklearn.metrics import roc_auc_score

    aucs = {n: roc_auc_score(y, read_scores(files[("eval", n)], sel).scores) for n in ("weak", "strong")}
    assert roc_auc_score(y, fused) > max(aucs.values())
    assert (out.parent / "fused.tsv.fusion.json").is_file()


def test_fit_and_apply_are_a_monotone_map_for_one_informative_column() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    X = np.stack([y + rng.normal(0, 0.5, 100), rng.normal(0, 1, 100)], axis=1)
    p = fit_fusion(X, y)
    assert p["coef"][0] > 0 and abs(p["coef"][1]) < p["coef"][0]
    z = apply_fusion(X, p)
    assert np.isfinite(z).all() and z.shape == (100,)
    with pytest.raises(RcbError, match="both classes"):
        fit_fusion(X[:50], y[:50])


def test_refuses_one_system_or_mismatched_lists(tmp_path: Path) -> None:
    proto = _corpus(tmp_path, 10)
    with pytest.raises(RcbError, match="same >= 2 systems"):
        main(["scores=[a.tsv]", "dev_scores=[b.tsv]", f"protocol={proto}", f"out={tmp_path / 'o.tsv'}"])
    with pytest.raises(RcbError, match="not found"):
        main(
            [
                "scores=[a.tsv,b.tsv]",
                "dev_scores=[c.tsv,d.tsv]",
                f"protocol={proto}",
                f"out={tmp_path / 'o.tsv'}",
            ]
        )


def test_dev_track_fits_on_that_track_only(tmp_path: Path) -> None:
    import json

    proto = _corpus(tmp_path)
    files = []
    for split, seed in (("dev", 0), ("eval", 1)):
        ids, weak, strong = _systems(proto, split, seed)
        files += [
            write_scores(tmp_path / f"w_{split}.tsv", ids, weak),
            write_scores(tmp_path / f"s_{split}.tsv", ids, strong),
        ]
    out = tmp_path / "f.tsv"
    base = [
        f"scores=[{files[2]},{files[3]}]",
        f"dev_scores=[{files[0]},{files[1]}]",
        f"protocol={proto}",
        f"out={out}",
    ]
    assert main([*base, "dev_track=dev-campaign"]) == 0
    info = json.loads((tmp_path / "f.tsv.fusion.json").read_text())
    assert info["n_dev"] == 100  # half of the 200 dev rows are dev-campaign
    with pytest.raises(RcbError, match="dev_track=nope: no dev rows"):
        main([*base, "dev_track=nope"])
    # a set-level system scored on the dev campaign pool only: its dev file covers just those rows
    sel = read_protocol(proto).select("dev", "dev-campaign")
    full = dict(zip(*_systems(proto, "dev", 0)[::2], strict=True))
    part = write_scores(tmp_path / "s_devpool.tsv", sel.cols["utt_id"], [full[u] for u in sel.cols["utt_id"]])
    again = tmp_path / "g.tsv"
    assert main([f"scores=[{files[2]},{files[3]}]", f"dev_scores=[{files[0]},{part}]", f"protocol={proto}",
                 f"out={again}", "dev_track=dev-campaign"]) == 0  # fmt: skip
    assert again.read_bytes() == out.read_bytes()  # the same rows, so the same fit
    with pytest.raises(RcbError, match="missing|not in|no score"):
        main(
            [
                f"scores=[{files[2]},{files[3]}]",
                f"dev_scores=[{files[0]},{part}]",
                f"protocol={proto}",
                f"out={again}",
            ]
        )  # fmt: skip  (the whole dev split is needed without dev_track)
