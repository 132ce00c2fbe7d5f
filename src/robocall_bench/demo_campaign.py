"""The demo's campaign-track stage: the fingerprint, each per-call run, and their fusion, on one table.

The fingerprint (``rcb campaign``) scores the campaign track and the dev split; the per-call runs
already scored both when they were trained (``scores/campaign.tsv``, ``scores/dev.tsv``); the
fusion of the fingerprint with the per-call run best on the main track is fitted on dev
(``rcb fuse``). Every row is evaluated by the evaluation library: campaign-track EER with its 95%
CI, EER of each robocall role against all live calls, and the fingerprint's clustering quality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from .contract import CAMPAIGN_TRACK, read_protocol
from .errors import RcbError


def _eval(protocol: Path, scores: Path, clusters: Path | None, n_boot: int) -> dict[str, Any]:
    from .evaluation.bootstrap import BootstrapConfig
    from .evaluation.run import EvalSpec, evaluate

    spec = EvalSpec(protocol=protocol, scores=scores, split="eval", track=CAMPAIGN_TRACK,
                    bootstrap=BootstrapConfig(n_boot, 0), bootstrap_breakdowns=0, breakdown=["role"],
                    clusters=clusters)  # fmt: skip
    return evaluate(spec).metrics


def _row(name: str, m: dict[str, Any]) -> list[str]:
    e = m["pooled"]["eer"] if "pooled" in m else m["eer"]
    cell = f"{100 * e['value']:.2f}" + (
        f" [{100 * e['ci'][0]:.2f}, {100 * e['ci'][1]:.2f}]" if e.get("ci") else ""
    )
    roles = {r["value"]: r for r in m.get("breakdowns", {}).get("role", [])}

    def role(v: str) -> str:
        r = roles.get(v)
        return (
            "-"
            if r is None
            else f"{100 * (r['eer']['value'] if isinstance(r['eer'], dict) else r['eer']):.2f}"
        )

    cl = (m.get("clustering") or {}).get("campaign_calls") or {}
    f1 = f"{cl['bcubed_f1']:.3f} / {cl['ari']:.3f}" if cl else "-"
    return [name, cell, role("tts"), role("recorded"), f1]


HEAD = ["system", "campaign EER % [95% CI]", "tts vs live", "recorded vs live", "B-cubed F1 / ARI"]


def campaign_stage(corpus: Path, out: Path, runs: list, best: str | None, n_boot: int,
                   console: Console) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """(header, rows) of the campaign table; files under ``out`` (fingerprint, fusion scores)."""
    from .fingerprint.cli import campaign
    from .fusion.fuse import main as fuse_main

    proto = read_protocol(corpus)
    if CAMPAIGN_TRACK not in set(proto.cols["track"].tolist()):
        raise RcbError(
            f"{corpus} has no campaign track (corpus version < 2.0.0?): rebuild it with `rcb corpus`"
        )
    out.mkdir(parents=True, exist_ok=True)
    fp_eval, fp_dev, fp_cl = (
        out / "fingerprint_campaign.tsv",
        out / "fingerprint_dev.tsv",
        out / "clusters.tsv",
    )
    campaign(str(corpus), str(fp_eval), str(fp_cl), "eval", CAMPAIGN_TRACK, console=console)
    # the fingerprint sees one pool at a time, as on eval: the per-call rows of a split reuse the
    # source recordings of its campaign pool's live calls, so a set spanning both finds those
    pool = proto.cols["track"] == "dev-campaign"
    has_pool = len(set(proto.cols["label"][pool].tolist())) == 2
    campaign(str(corpus), str(fp_dev), None, "dev", "dev-campaign" if has_pool else None, console=console)
    rows = [_row("fingerprint (rcb campaign)", _eval(proto.path, fp_eval, fp_cl, n_boot))]
    for r in runs:
        s = r.run_dir / "scores" / f"{CAMPAIGN_TRACK}.tsv"
        if s.is_file():
            rows.append(_row(r.entry_id, _eval(proto.path, s, None, n_boot)))
    chosen = next((r for r in runs if r.entry_id == best), None)
    if chosen is not None and (chosen.run_dir / "scores" / "dev.tsv").is_file():
        fused = out / f"fusion_{chosen.entry_id}_fingerprint.tsv"
        # fitted on the dev campaign pool; a corpus without one (both classes) fits on the whole dev split
        fit_on = "dev-campaign" if has_pool else None
        fuse_main([f"scores=[{chosen.run_dir / 'scores' / f'{CAMPAIGN_TRACK}.tsv'},{fp_eval}]",
                   f"dev_scores=[{chosen.run_dir / 'scores' / 'dev.tsv'},{fp_dev}]", f"protocol={proto.path}",
                   f"out={fused}", f"track={CAMPAIGN_TRACK}", f"dev_track={fit_on or 'null'}"])  # fmt: skip
        name = f"fusion: {chosen.entry_id} + fingerprint" + ("" if fit_on else " (fitted on all of dev)")
        rows.append(_row(name, _eval(proto.path, fused, None, n_boot)))
    return HEAD, rows
