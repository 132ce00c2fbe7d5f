"""The dataset card (``README.md`` with Hugging Face Hub front matter) written into every corpus."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..audio import atomic_write_text
from ..contract import SPLITS
from ..scripts.ftc import LICENSE as FTC_LICENSE


def card_text(manifest: dict, licenses: dict[str, str]) -> str:
    """Markdown card: front matter (license per source, splits), counts, how it was made, limits."""
    c = manifest["counts"]
    front = {
        "license": "other",
        "license_details": licenses,
        "language": ["en", "zh"],
        "task_categories": ["audio-classification"],
        "tags": ["robocall", "anti-spoofing", "telephony", "synthetic-speech-detection"],
        "pretty_name": f"robocall-bench {manifest['preset']} {manifest['version']}",
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"parquet/{s}.parquet"} for s in SPLITS],
            }
        ],
    }
    rows = "\n".join(
        f"| {s} | {c['split/label'].get(f'{s}/human', 0)} | {c['split/label'].get(f'{s}/robocall', 0)} | "
        f"{c['hours'].get(f'{s}/human', 0) + c['hours'].get(f'{s}/robocall', 0):.2f} | "
        f"{c['human_speakers'].get(s, 0)} | {', '.join(c['systems'].get(s, []))} |"
        for s in SPLITS
    )
    lic = "\n".join(f"- **{k}**: {v}" for k, v in licenses.items())
    return f"""---
{yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip()}
---

# robocall-bench corpus ({manifest["preset"]}, version {manifest["version"]}, seed {manifest["seed"]})

Robocall (text-to-speech telemarketing) versus live human speech, after one simulated telephone
channel that both classes share. protocol sha256 `{manifest["protocol_sha256"]}`.

| split | human | robocall | hours | human speakers | TTS systems |
|---|---|---|---|---|---|
{rows}

Total: {c["total"]["utterances"]} utterances, {c["total"]["hours"]:.2f} hours. Eval tracks:
`eval` (seen systems and codecs), `unseen-systems` ({", ".join(manifest["eval_only_systems"])}),
`unseen-channel` ({", ".join(manifest["eval_only_codecs"])}).

## How it was made
- Human speech: real read speech from the sources below, speakers disjoint across splits; long
  recordings are cut into windows.
- Robocalls: real FTC robocall transcripts (near-duplicates grouped into families) and generated
  telemarketing templates (one family per template), families disjoint across splits; plus TTS
  renditions of human-side texts so that content alone does not separate the classes. Rendered
  by offline TTS engines with per-utterance rate/pitch/noise variation (`manifest.json` lists
  engines and versions; `metadata.jsonl` has every utterance's TTS parameters and channel chain).
- Both classes: trimmed, cut at a pause to a drawn length, padded with drawn silence, then one
  telephone channel (noise at a drawn SNR, optional room response, 8 kHz band limit, codec round
  trip, frame loss, level normalisation and gain). `audit.json` reports how well simple
  classifiers on duration, level, silence and spectral shortcuts do (0.5 = not at all).

## Licenses
{lic}

## Known limits
- Human speech is read speech (audiobooks, digits, Mandarin commands), not conversational calls.
- Robocalls come from offline TTS engines only (no commercial neural voices, no recorded human
  robocall voices); Mandarin robocalls use espeak-ng only, so report Mandarin results separately.
- Few Mandarin human speakers in the development sample (two AISHELL speakers: train and eval).
- The channel is a simulation; real networks add effects (echo, jitter buffers, transcoding chains)
  that are not modelled.
"""


def write_card(out: Path, manifest: dict, prep) -> None:
    """Write ``out/README.md`` from the manifest and the sources' licenses."""
    licenses = {name: f"{src.license} <{src.url}>".strip() for name, src in prep.sources.items()}
    if prep.cfg.scripts.ftc.enabled:
        licenses["robocall-transcripts"] = FTC_LICENSE
    licenses["templates, audio renditions and channel"] = "Apache-2.0 (robocall-bench)"
    atomic_write_text(Path(out) / "README.md", card_text(manifest, licenses))
