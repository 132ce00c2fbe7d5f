"""The run's model card: a Hugging Face Hub-style README.md (YAML front matter + sections)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..audio import atomic_write_text
from ..evaluation.report import fmt

TRACK_NOTES = {
    "dev": "development split (model selection, threshold)",
    "eval": "seen TTS systems and codecs",
    "unseen-systems": "robocalls from TTS systems absent from train/dev",
    "unseen-channel": "both classes through a codec absent from train/dev",
}


def pct(x: float | None) -> str:
    """0.0123 -> '1.23%' (None -> 'n/a')."""
    return "n/a" if x is None else f"{100 * float(x):.2f}%"


def _front_matter(name: str, summary: dict[str, Any], corpus: dict[str, Any]) -> str:
    results = []
    for track, m in summary.get("tracks", {}).items():
        if track == "dev":
            continue
        results.append({
            "task": {"type": "audio-classification", "name": "Robocall (TTS) vs live human detection"},
            "dataset": {"name": f"{corpus.get('name')} {corpus.get('version')} ({track})", "type": "robocall-bench",
                        "split": "eval", "config": track},
            "metrics": [{"type": k, "name": f"{k} ({track})", "value": round(float(m[k]["value"]), 6)}
                        for k in ("eer", "min_dcf", "auc")],
        })  # fmt: skip
    fm = {
        "library_name": "robocall-bench",
        "license": "apache-2.0",
        "tags": ["audio-classification", "anti-spoofing", "robocall-detection", "tts-detection", "telephony"],
        "datasets": [str(corpus.get("name") or "robocall-bench")],
        "metrics": ["eer", "min_dcf", "auc"],
        "pipeline_tag": "audio-classification",
        "model-index": [{"name": name, "results": results}],
    }
    return "---\n" + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True) + "---\n"


def _table(summary: dict[str, Any]) -> list[str]:
    lines = ["| track | what | robocall | human | EER [95% CI] | minDCF [95% CI] | actDCF | AUC [95% CI] |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for track, m in summary.get("tracks", {}).items():
        lines.append(
            f"| `{track}` | {TRACK_NOTES.get(track, '')} | {m['n_robocall']} | {m['n_human']} | {fmt('eer', m['eer'])} "
            f"| {fmt('min_dcf', m['min_dcf'])} | {fmt('act_dcf', m['act_dcf'])} | {fmt('auc', m['auc'])} |"
        )
    for track, why in summary.get("skipped", {}).items():
        lines.append(f"| `{track}` | not evaluated: {why.splitlines()[0][:120]} | | | | | | |")
    return lines


def write_card(
    run_dir: Path, cfg: dict[str, Any], fit: dict[str, Any], summary: dict[str, Any], command: str
) -> Path:
    """Write ``run_dir/README.md`` from the resolved config, the fit summary and the metrics summary."""
    corpus = summary.get("corpus", {})
    name = str(cfg.get("name"))
    model = cfg.get("model") or {}
    lines = [_front_matter(name, summary, corpus), f"# {name}", ""]
    lines += [
        f"A robocall-vs-human detector (`{model.get('_target_', model.get('name', '?'))}`) trained with "
        f"robocall-bench. Input: one telephone call's audio (any rate; resampled to "
        f"{cfg.get('data', {}).get('preprocess', {}).get('sample_rate', 16000)} Hz and level-normalised). Output: a "
        "score, higher = more likely a robocall (TTS); logit difference robocall - human, not calibrated.",
        "",
        "## Training data",
        "",
        f"- corpus `{corpus.get('name')}` version `{corpus.get('version')}` (preset `{corpus.get('preset')}`), "
        f"protocol sha256 `{corpus.get('protocol_sha256')}`, {corpus.get('sample_rate')} Hz audio",
        f"- train split for fitting; dev split for model selection (best dev EER "
        f"{pct(fit.get('best_dev_eer'))} at step {fit.get('best_step')} of {fit.get('steps')}) and for the decision threshold",
        f"- parameters: {fit.get('params', 'n/a')}; seed {cfg.get('seed')}",
        "",
        "## Evaluation",
        "",
        "Metrics from `rcb eval` (95% two-stage cluster-bootstrap CIs: human speakers, robocall systems). "
        "Eval tracks are scored at the dev EER threshold for decisions; EER/minDCF are threshold-free.",
        "",
        *_table(summary),
        "",
    ]
    if summary.get("early"):
        lines += ["Early detection (main `eval` track, first N seconds of each call):", "",
                  "| seconds | EER [95% CI] | minDCF [95% CI] |", "|---|---|---|"]  # fmt: skip
        lines += [
            f"| {s} | {fmt('eer', v['eer'])} | {fmt('min_dcf', v['min_dcf'])} |"
            for s, v in summary["early"].items()
        ]
        lines.append("")
    lines += [
        "## Intended use",
        "",
        "Research on telling machine-generated telemarketing speech from live callers, and a baseline "
        "for the robocall-bench leaderboard. A score can inform call screening together with other "
        "signals (caller reputation, STIR/SHAKEN attestation, user reports).",
        "",
        "## Limitations",
        "",
        "- Trained on a synthetic corpus: offline TTS engines and a simulated telephone channel. Commercial "
        "neural TTS, voice cloning, real carrier networks and replayed recordings are not covered; expect "
        "worse results on them (see the unseen-systems and unseen-channel tracks).",
        "- Mandarin robocalls come from espeak-ng only: report `language=zh` results separately.",
        "- Scores are not calibrated log-likelihood ratios (see Cllr/actDCF); fix a threshold on your own data.",
        "- Do not block calls on this score alone: false positives hit real people.",
        "",
        "## How to use",
        "",
        "```bash",
        f"rcb score ckpt={run_dir} input=CALLS_FOLDER out=scores.tsv            # any audio files",
        f"rcb score ckpt={run_dir} input=CALLS_FOLDER out=scores.tsv window=2   # decide after 2 s",
        "```",
        "",
        "## Reproduce",
        "",
        "```bash",
        command,
        "```",
        "",
        "Files: `config.yaml` (resolved config), `checkpoints/{best,last}.ckpt`, `scores/*.tsv`, "
        "`metrics/<track>/` (metrics.json, report.md, report.html), `metrics.json` (summary), `logs/`.",
        "",
    ]
    path = run_dir / "README.md"
    atomic_write_text(path, "\n".join(lines))
    return path
