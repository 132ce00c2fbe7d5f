"""Text-only shortcut audit with and without the copy-synthesis (vocoded) systems, from the plan alone.

The vocoders speak held-aside human recordings, so robocall rows carry human-side texts; this
measures how much that weakens the text shortcut (a bag of words telling robocall from human).
Plans only (no audio is rendered): a few seconds per preset.

    python benchmarks/text_audit_vocoded.py [--preset mini] [--seed 0]

Prints the eval text-only AUC (train -> eval, as ``rcb corpus audit`` computes it) for the corpus
without the vocoded systems (reference) and with them, and the share of eval robocalls that speak
a human-side text.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from robocall_bench.config import compose
from robocall_bench.contract import CAMPAIGN_TRACK
from robocall_bench.corpus.audit import text_audit
from robocall_bench.corpus.prepare import prepare, tts_system_names


def audit(preset: str, seed: int, systems: list[str], root: str) -> tuple[float, float, int]:
    cfg = compose("corpus", [f"preset={preset}", f"seed={seed}", f"corpora_root={root}",
                             f"tts.systems=[{','.join(systems)}]",
                             "protocol.eval_only_systems=[festival-slt-hts,flite-awb,espeak-cmn-f2]",
                             "campaigns.enabled=false"])  # fmt: skip
    if "world-copy" in systems:
        cfg.protocol.eval_only_systems = [*cfg.protocol.eval_only_systems, "world-copy"]
    plan = [u for u in prepare(cfg).plan if u.track != CAMPAIGN_TRACK]
    rows = [{"utt_id": u.utt_id, "split": u.split, "label": u.label} for u in plan]
    texts = {u.utt_id: u.text for u in plan if u.text}
    ev = [u for u in plan if u.split == "eval" and u.label == "robocall"]
    human_side = sum(u.family.startswith("text:") for u in ev) / max(1, len(ev))
    return text_audit(rows, texts, seed)["text_auc"], human_side, len(ev)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="mini")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpora", default=os.environ.get("RCB_CORPORA", "corpora"))
    a = ap.parse_args()
    root = str(Path(a.corpora).resolve())
    every = tts_system_names(compose("corpus", [f"corpora_root={root}"]))
    base = [s for s in every if not s.endswith("-copy")]
    print(f"{'corpus':32s} {'text AUC':>9s} {'human-side texts':>17s} {'eval robocalls':>15s}")
    ref = audit(a.preset, a.seed, base, root)
    new = audit(a.preset, a.seed, every, root)
    for name, (auc, share, n) in (
        ("without vocoded systems (reference)", ref),
        ("with world-copy, griffinlim-copy", new),
    ):
        print(f"{name:32s} {auc:9.4f} {100 * share:16.1f}% {n:15d}")
    print(f"text-AUC change: {new[0] - ref[0]:+.4f} (0.5 = no text shortcut)")


if __name__ == "__main__":
    main()
