"""Writing an evaluation: metrics.json, report.md (+ PNG figures) and a self-contained report.html."""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..audio import atomic_write_bytes, atomic_write_text
from . import plots
from .run import AT_THRESHOLD, HEADLINE, EvalResult

PERCENT = {"eer", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct", "accuracy", "precision", "recall", "f1"}
NAMES = {
    "eer": "EER",
    "min_dcf": "minDCF",
    "act_dcf": "actDCF",
    "cllr": "Cllr",
    "min_cllr": "minCllr",
    "auc": "ROC AUC",
    "fpr_at_fnr_1pct": "FPR @ FNR=1%",
    "fnr_at_fpr_1pct": "FNR @ FPR=1%",
}
BREAKDOWN_COLS = ("eer", "min_dcf", "act_dcf", "cllr", "auc")
CLUSTER_NAMES = {
    "bcubed_precision": "B-cubed precision",
    "bcubed_recall": "B-cubed recall",
    "bcubed_f1": "B-cubed F1",
    "ari": "ARI",
}
BREAKDOWN_NOTES = {
    "role": "Each robocall role (tts: synthetic speech; recorded: a human recording played by a dialer) "
    "scored against every live call of its track.",
}


def fmt(key: str, m: dict | None) -> str:
    """'12.34% [10.1, 14.2]' style cell for a packed metric ``{"value", "ci"}``."""
    if m is None:
        return "-"
    scale, unit, nd = (100.0, "%", 2) if key in PERCENT else (1.0, "", 4)
    s = f"{scale * m['value']:.{nd}f}{unit}"
    if m.get("ci"):
        lo, hi = m["ci"]
        s += f" [{scale * lo:.{nd}f}, {scale * hi:.{nd}f}]"
    return s


@dataclass
class Table:
    """A titled table of strings; ``note`` is a paragraph shown before it."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def tables(m: dict) -> list[Table]:
    """The report's tables, shared by the Markdown and HTML renderers."""
    out = []
    pooled = m["pooled"]
    out.append(
        Table(
            "Pooled metrics", ["metric", "value [95% CI]"], [[NAMES[k], fmt(k, pooled[k])] for k in HEADLINE]
        )
    )
    thr = m["thresholds"]
    rows = [
        ["EER (oracle on this split)", f"{thr['eer']:.6g}"]
        + [fmt(x, pooled["at_eer_threshold"][x]) for x in AT_THRESHOLD]
    ]
    if pooled["at_fixed_threshold"] is not None:
        src = thr["fixed"]["source"]
        rows.append(
            [f"fixed ({src})", f"{thr['fixed']['value']:.6g}"]
            + [fmt(x, pooled["at_fixed_threshold"][x]) for x in AT_THRESHOLD]
        )
    out.append(
        Table(
            "Decisions at a threshold",
            ["threshold", "value", "accuracy", "precision", "recall", "F1"],
            rows,
            "A trial is flagged robocall when its score is above the threshold. actDCF uses the Bayes "
            f"threshold {thr['act_dcf']:.4g} on calibrated LLRs. Pass dev_scores=FILE to fix a threshold on dev.",
        )
    )
    w = m["worst_condition"]
    if w:
        out.append(
            Table(
                "Worst condition",
                ["column", "condition", "EER [95% CI]"],
                [[w["column"], w["condition"], fmt("eer", w)]],
            )
        )
    for col, conds in m["breakdowns"].items():
        rows = [
            [c["value"], c["pairing"], str(c["n_robocall"]), str(c["n_human"])]
            + [fmt(k, c[k]) for k in BREAKDOWN_COLS]
            for c in conds
        ]
        out.append(
            Table(
                f"By {col}",
                ["value", "pairing", "robocall", "human"] + [NAMES[k] for k in BREAKDOWN_COLS],
                rows,
                BREAKDOWN_NOTES.get(col, ""),
            )
        )
    cl = m.get("clustering")
    if cl:
        parts = [("all calls", cl["all"]), ("campaign calls only", cl["campaign_calls"])]
        rows = [
            [name, str(q["n_calls"]), str(q["n_true_clusters"]), str(q["n_pred_clusters"])]
            + [f"{q[k]:.4f}" for k in CLUSTER_NAMES]
            for name, q in parts
            if q is not None
        ]
        out.append(
            Table(
                "Clustering",
                ["calls", "n", "true clusters", "predicted clusters", *CLUSTER_NAMES.values()],
                rows,
                f"Cluster file against the protocol's campaign column on {cl['rows']}; each live call is its "
                "own true cluster. B-cubed is averaged per call; ARI is the adjusted Rand index.",
            )
        )
    if m["early_detection"]:
        rows = [
            [f"{e['seconds']:g}", fmt("eer", e["eer"]), fmt("min_dcf", e["min_dcf"])]
            for e in m["early_detection"]
        ]
        rows.append(["full", fmt("eer", pooled["eer"]), fmt("min_dcf", pooled["min_dcf"])])
        out.append(Table("Early detection", ["seconds heard", "EER [95% CI]", "minDCF [95% CI]"], rows))
    return out


def summary_line(m: dict) -> str:
    """One paragraph naming what was evaluated."""
    p, c = m["provenance"], m["config"]
    corpus = p["corpus"]
    b = c["bootstrap"]
    ci = (
        f"95% CIs: two-stage cluster bootstrap, {b['n']} replicates, seed {b['seed']}, clusters "
        f"human={b['human_cluster']}, robocall={b['robocall_cluster']}."
        if b["n"]
        else "No confidence intervals (bootstrap.n=0)."
    )
    return (
        f"Scores `{p['scores']}` (sha256 {p['scores_sha256'][:12]}) on split={c['split']}"
        + (f" track={c['track']}" if c["track"] else "")
        + f" of `{p['protocol']}` (sha256 {p['protocol_sha256'][:12]}; corpus {corpus['name']} {corpus['version']}); "
        f"{m['pooled']['n_robocall']} robocall and {m['pooled']['n_human']} human trials. {ci} "
        f"robocall-bench {p['package_version']}, git {str(p['git_sha'])[:12]}."
        + "".join(
            f" Breakdown by {b['column']} skipped: {b['reason']}." for b in m.get("breakdowns_skipped") or []
        )
    )


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(m: dict, figures: list[tuple[str, str]]) -> str:
    """report.md text; ``figures`` are (title, relative png path)."""
    lines = ["# robocall-bench evaluation report", "", summary_line(m), ""]
    for t in tables(m):
        lines += [f"## {t.title}", ""]
        if t.note:
            lines += [t.note, ""]
        lines.append("| " + " | ".join(map(_md_cell, t.header)) + " |")
        lines.append("|" + "---|" * len(t.header))
        lines += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in t.rows]
        lines.append("")
    if figures:
        lines += ["## Figures", ""] + [f"![{title}]({path})" for title, path in figures] + [""]
    return "\n".join(lines)


def to_html(m: dict, svgs: list[tuple[str, str]]) -> str:
    """report.html text with inline SVG figures, viewable offline."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>robocall-bench evaluation report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:left}th{background:#f3f3f3}figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>",
        "<h1>robocall-bench evaluation report</h1>",
        f"<p>{e(summary_line(m))}</p>",
    ]
    for t in tables(m):
        parts.append(f"<h2>{e(t.title)}</h2>")
        if t.note:
            parts.append(f"<p>{e(t.note)}</p>")
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in t.header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in t.rows]
        parts.append("</table>")
    if svgs:
        parts.append("<h2>Figures</h2>")
        for title, svg in svgs:
            body = svg[svg.find("<svg") :]  # drop the XML prolog: it is invalid inside HTML
            parts.append(f"<figure>{body}<figcaption>{e(title)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_outputs(res: EvalResult, out: str | os.PathLike, figures: bool = True) -> Path:
    """Write metrics.json, report.md, report.html (and det/roc/hist/early PNGs) into ``out``; returns it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m = res.metrics
    atomic_write_text(out / "metrics.json", json.dumps(m, indent=2, allow_nan=False) + "\n")
    pngs, svgs = [], []
    if figures:
        curves = {"pooled": plots.curve(res.scores, res.labels)}
        for sec, s in res.early_scores.items():
            curves[f"first {sec:g} s"] = plots.curve(s, res.labels)
        thr = {"EER threshold": m["thresholds"]["eer"], "actDCF threshold": m["thresholds"]["act_dcf"]}
        figs = {
            "det": ("DET curve", lambda: plots.det_figure(curves)),
            "roc": ("ROC curve", lambda: plots.roc_figure(curves)),
            "hist": ("Score histograms", lambda: plots.histogram_figure(res.scores, res.labels, thr)),
        }
        if m["early_detection"]:
            ed = m["early_detection"]
            figs["early"] = (
                "EER against seconds heard",
                lambda: plots.early_figure(
                    [e["seconds"] for e in ed], [e["eer"]["value"] for e in ed], [e["eer"]["ci"] for e in ed]
                ),
            )
        for name, (title, make) in figs.items():
            img = plots.render(make())
            atomic_write_bytes(out / f"{name}.png", img["png"])
            pngs.append((title, f"{name}.png"))
            svgs.append((title, img["svg"].decode("utf-8")))
    atomic_write_text(out / "report.md", to_markdown(m, pngs))
    atomic_write_text(out / "report.html", to_html(m, svgs))
    return out
