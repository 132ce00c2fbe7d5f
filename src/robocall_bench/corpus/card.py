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
                "data_files": [{"split": s, "path": f"parquet/{s}-*.parquet"} for s in SPLITS],
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

Robocall (text-to-speech, vocoded or pre-recorded telemarketing speech a dialer plays) versus live
human speech, after one simulated telephone channel that both classes share. protocol sha256
`{manifest["protocol_sha256"]}`.

| split | human | robocall | hours | human speakers | robocall systems |
|---|---|---|---|---|---|
{rows}

Total: {c["total"]["utterances"]} utterances, {c["total"]["hours"]:.2f} hours. Eval tracks:
`eval` (seen systems and codecs), `unseen-systems` ({", ".join(manifest["eval_only_systems"])}),
`unseen-channel` ({", ".join(manifest["eval_only_codecs"])}){campaign_line(manifest)}.

## How it was made
- Human speech: real read speech from the sources below, speakers disjoint across splits; long
  recordings are cut into windows.
- Robocalls: real FTC robocall transcripts (near-duplicates grouped into families) and generated
  telemarketing templates (one family per template), families disjoint across splits; plus TTS
  renditions of human-side texts so that content alone does not separate the classes. Rendered
  by offline TTS engines with per-utterance rate/pitch/noise variation (`manifest.json` lists
  engines and versions; `metadata.jsonl` has every utterance's TTS parameters and channel chain).
- Campaigns: one message (joined IVR voice-talent prompts, a held-aside human recording, one TTS
  rendition or one vocoded copy) played in many calls, each call with its own channel, pick-up
  offset, hang-up and optional spoken-digit insert, and each paired with a unique live call (some
  re-speak another live call's digits: a re-spoken take is not a replay). Columns `call_id`,
  `campaign`, `message`, `role` (live / tts / recorded); `manifest.json` has the campaign plan.
- Both classes: trimmed, cut at a pause to a drawn length, padded with drawn silence, then one
  telephone channel (noise at a drawn SNR, optional room response, 8 kHz band limit, codec round
  trip, frame loss, level normalisation and gain). `audit.json` reports how well simple
  classifiers on duration, level, silence and spectral shortcuts do (0.5 = not at all).

## Licenses
{lic}

## Known limits
- Human speech is read speech (audiobooks, digits, Mandarin commands), not conversational calls.
- Robocalls come from offline TTS engines, two vocoders and recordings of read speech (no
  commercial neural voices); one US English voice talent (eval only); recorded and vocoded
  messages are English only; Mandarin robocalls use espeak-ng only, so report Mandarin results
  separately.
- Few Mandarin human speakers in the development sample (two AISHELL speakers: train and eval).
- The channel is a simulation; real networks add effects (echo, jitter buffers, transcoding chains)
  that are not modelled.
"""


def campaign_line(manifest: dict) -> str:
    """``, `campaign` (N campaigns, M calls)`` for the eval split's campaigns, or ""."""
    ev = (manifest.get("campaign_plan") or {}).get("splits", {}).get("eval")
    if not ev:
        return ""
    return f", `campaign` ({ev['campaigns']} campaigns, {ev['calls']} calls, each paired with a live call)"


def write_card(out: Path, manifest: dict, prep) -> None:
    """Write ``out/README.md`` from the manifest and the sources' licenses."""
    licenses = {name: f"{src.license} <{src.url}>".strip() for name, src in prep.sources.items()}
    if prep.cfg.scripts.ftc.enabled:
        licenses["robocall-transcripts"] = FTC_LICENSE
    licenses["templates, audio renditions and channel"] = "Apache-2.0 (robocall-bench)"
    atomic_write_text(Path(out) / "README.md", card_text(manifest, licenses))
