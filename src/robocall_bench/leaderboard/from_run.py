"""``rcb leaderboard entry run=DIR``: a leaderboard entry (entry.yaml + scores/) from a training run directory.

Everything comes from what the run recorded: its config.yaml (experiment, seed), model card (the
exact ``rcb train`` command), best checkpoint (model config, parameter count), metrics.json (reported
metrics, dev EER, corpus identity, training throughput), metrics/eval/metrics.json (code commit) and
scores/. MACs per second of audio and the CPU real-time factor are measured on the run's trained model
when the entry is written (``speed=false`` skips them), with the setup recorded in ``compute``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from ..audio import atomic_write_text
from ..config import config_dir
from ..contract import LEADERBOARD_TRACK_RE, MAIN_TRACK, early_key, parse_early, read_protocol, track_order
from ..errors import RcbError
from .registry import REGISTRY, install_protocol, load_registry, register_protocol
from .schema import ENTRY_ID_RE, SCHEMA_VERSION
from .validate import LeaderboardConfig, validate_entry

REPORTED = ("eer", "min_dcf")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RcbError(f"{path}: {e}; is {path.parent} a finished `rcb train` run directory?") from e


def default_entry_id(name: str, seed: int | None) -> str:
    """A safe entry id from the run's experiment name and seed, e.g. ``lfcc_lcnn_mini-seed0``."""
    base = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-._") or "run"
    eid = f"{base[:55]}-seed{seed}" if seed is not None else base[:64]
    return re.sub(r"\.\.+", ".", eid)


def run_command(run_dir: Path, cfg: dict[str, Any]) -> str:
    """The ``rcb train ...`` command recorded in the run's model card (else rebuilt from the config)."""
    card = run_dir / "README.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    m = re.search(r"## Reproduce\s*```bash\n(.+?)\n```", text, re.S)
    if m:
        return " ".join(m.group(1).split())
    return f"rcb train experiment={cfg.get('name')} seed={cfg.get('seed')}"


def count_params(model: Any) -> int:
    """Parameters of a torch detector; for a fitted GMM pair, its mixture weights, means and variances."""
    gmms = getattr(model, "gmms", None)
    if gmms:
        return int(sum(g.weights_.size + g.means_.size + g.covariances_.size for g in gmms.values()))
    from ..models import count_parameters

    return count_parameters(model)


def measure_speed(model: Any, threads: int = 2) -> tuple[int | None, float | None, str | None]:
    """(MACs per second of audio, CPU RTF, how it was measured) of the run's trained model.

    Measured here and now (batch 1, 4 s input, eval mode, ``threads`` CPU threads, median of 5
    timed forwards) rather than taken from a benchmark file, so every entry carries them.
    """
    from ..models.profile import cpu_profile

    if not callable(model):
        return None, None, None
    p = cpu_profile(model, threads=threads)
    how = (f"CPU RTF: median of 5 batch-1 forwards on {p['seconds']:g} s of audio, {threads} threads, "
           f"{p['machine']}, torch {p['torch']}"
           + (f", load average {p['load_average']:.2f}" if p["load_average"] is not None else ""))  # fmt: skip
    return round(p["macs_per_s"]), float(f"{p['cpu_rtf']:.3g}"), how


def train_rate(summary: dict[str, Any]) -> tuple[float | None, str | None]:
    """(training samples/s, how) from the run's recorded fit summary (None for runs without one)."""
    t = (summary.get("fit") or {}).get("throughput") or {}
    rate = t.get("samples_per_s")
    if not rate:
        return None, None
    unit = "samples/s of train steps" if "loop_seconds" in t else "files/s of fitting"
    parts = [str(t.get("device", "?")), f"{t.get('threads')} threads"]
    if (t.get("world_size") or 1) > 1:
        parts.append(f"{t['world_size']} processes, rate per process")
    if t.get("batch_size"):
        parts.append(f"batch {t['batch_size']}")
    if t.get("train_crop_s"):
        parts.append(f"{t['train_crop_s']:g} s crops")
    return float(f"{rate:.3g}"), f"training: {rate:.3g} {unit} ({', '.join(parts)})"


# A Hugging Face model id (org/name): the weights have a page at huggingface.co/<id>.
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def pretrained_of(model_cfg: dict[str, Any]) -> dict[str, str] | None:
    """``{id, revision}`` of the weights the model started from (None when trained from scratch),
    with ``license`` when known and ``url`` for a hub id or a published weights file.

    A weights file (AASIST's ``pretrained=PATH``): the published file it is (repository, path and
    commit; MIT) when its sha256 is one of the published ones, else its name and sha256.

    The revision is the model config's ``revision`` or the commit of the locally cached snapshot;
    the card is that snapshot's README.md (or the README.md of a local ``pretrained`` directory).
    """
    pid = model_cfg.get("pretrained")
    if not pid:
        return None
    if Path(str(pid)).expanduser().is_file():
        from ..contract import sha256_file
        from ..models.aasist_weights import PUBLISHED_SHA256, REFERENCE

        f = Path(str(pid)).expanduser()
        sha = sha256_file(f)
        repo, commit = REFERENCE.split("@")
        if sha in PUBLISHED_SHA256:
            return {"id": f"{repo}/models/weights/{PUBLISHED_SHA256[sha]}"[:200], "revision": commit,
                    "license": "MIT", "url": f"https://github.com/{repo}/tree/{commit}/models/weights"}
        return {"id": f.name[:200], "revision": f"sha256:{sha}"}
    hub = (
        Path(
            os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub"
        ).expanduser()
        / f"models--{str(pid).replace('/', '--')}"
    )
    rev = model_cfg.get("revision")
    if not rev:
        ref = hub / "refs" / "main"
        rev = ref.read_text().strip() if ref.is_file() else "unknown"
    out = {"id": str(pid), "revision": str(rev)}
    local = Path(str(pid)).expanduser()
    lic = card_license((local if local.is_dir() else hub / "snapshots" / str(rev)) / "README.md")
    if lic:
        out["license"] = lic
    if not local.exists() and HUB_ID_RE.match(str(pid)):
        out["url"] = f"https://huggingface.co/{pid}"
    return out


def card_license(readme: Path) -> str | None:
    """The ``license`` of a model card's YAML front matter (a list joined by ", "), else None."""
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    m = re.match(r"---\r?\n(.*?)\r?\n---", text, re.S)
    try:
        meta = yaml.safe_load(m.group(1)) if m else None
    except yaml.YAMLError:
        return None
    lic = meta.get("license") if isinstance(meta, dict) else None
    if isinstance(lic, list):
        lic = ", ".join(map(str, lic))
    return str(lic)[:100] if lic else None  # the entry schema's limit


def _check_protocol(corpus: Path, root: Path, scored_on: str | None, register: bool) -> None:
    """RcbError when the corpus changed since the run, the leaderboard holds another protocol of it,
    or (without ``register``) the leaderboard does not rank it."""
    proto = read_protocol(corpus)
    if scored_on and scored_on != proto.sha256:
        raise RcbError(
            f"{corpus}/protocol.tsv (sha256 {proto.sha256[:12]}) is not the protocol the run was scored on "
            f"({scored_on[:12]}); pass corpus= the run's corpus"
        )
    have = (
        root / "protocols" / f"{proto.manifest.get('name')}-{proto.manifest.get('version')}" / "protocol.tsv"
    )
    if have.is_file() and read_protocol(have).sha256 != proto.sha256:
        # Replacing it would silently invalidate every entry already scored against it.
        raise RcbError(
            f"{have} is another protocol of corpus {proto.manifest.get('name')} {proto.manifest.get('version')}; "
            "score the corpus the leaderboard uses, or bump the corpus version"
        )
    reg = load_registry(root)
    row = reg.get(str(proto.manifest.get("name")), str(proto.manifest.get("version")))
    if not register and (row is None or row.sha256 != proto.sha256):
        names = ", ".join(f"{c.name} {c.version}" for c in reg.corpora) or "none"
        raise RcbError(
            f"corpus {proto.manifest.get('name')} {proto.manifest.get('version')} ({proto.sha256[:12]}) is not "
            f"registered in {root / REGISTRY} (registered: {names}): train and score on a registered corpus, "
            "or pass register=true for a private leaderboard of your own"
        )


def reported_metrics(summary: dict[str, Any], tracks: list[str]) -> dict[str, dict[str, float]]:
    """EER and minDCF per leaderboard track from the run's metrics.json (validate recomputes them)."""
    out: dict[str, dict[str, float]] = {}
    for t in tracks:
        sec = parse_early(t)
        if sec is not None:
            m = (summary.get("early") or {}).get(early_key(sec))
        else:
            m = summary.get("tracks", {}).get(t)
        if m:
            out[t] = {k: round(float(m[k]["value"]), 6) for k in REPORTED if k in m}
    return out


def entry_from_run(
    run_dir: str | os.PathLike,
    lb: LeaderboardConfig,
    entry_id: str | None = None,
    out: str | os.PathLike | None = None,
    corpus: str | os.PathLike | None = None,
    model: str | None = None,
    description: str | None = None,
    speed: bool = True,
    register: bool = False,
    reproduce: dict[str, Any] | None = None,
) -> Path:
    """Write ``<out>/<entry_id>/`` (default ``<lb.root>/entries``) from a finished run and validate it.

    Installs the corpus protocol under ``<root>/protocols/`` (root = the parent of ``out``) when it is
    not there yet; ``register`` also lists it in that root's registry (kind local: a private
    leaderboard such as ``rcb demo``'s; the committed registry is the maintainers'). ``reproduce``: the
    entry's re-run recipe (``{command: [...], timeout_s}``), when there is one. RcbError when the
    run is unfinished, its corpus changed since, or the corpus is not registered.
    """
    from ..inference.scoring import load_scorer

    run = Path(run_dir).expanduser().resolve()
    if not (run / "metrics.json").is_file() or not (run / "scores").is_dir():
        raise RcbError(
            f"{run} has no metrics.json or scores/: pass run= a finished `rcb train` run directory"
        )
    if entry_id is not None and not ENTRY_ID_RE.match(entry_id):
        raise RcbError(
            f"entry_id={entry_id!r}: use 1-64 chars of a-z 0-9 . _ -, starting and ending alphanumeric"
        )
    cfg_file = run / "config.yaml"
    cfg = OmegaConf.to_container(OmegaConf.load(cfg_file)) if cfg_file.is_file() else {}
    summary = _read_json(run / "metrics.json")
    entries = Path(out).expanduser() if out else lb.root / "entries"
    root = entries.parent
    cdir = Path(corpus or summary.get("corpus", {}).get("path") or cfg.get("corpus", "")).expanduser()
    if not (cdir / "protocol.tsv").is_file():
        raise RcbError(
            f"the run's corpus {cdir} is not there; pass corpus=DIR (the corpus the run was trained on)"
        )
    if register and root.resolve() == (config_dir().parent / "leaderboard").resolve():
        raise RcbError(
            f"register=true is for a private leaderboard; {root} is the committed one, whose registry "
            "maintainers keep with `rcb leaderboard register`"
        )
    _check_protocol(cdir, root, summary.get("corpus", {}).get("protocol_sha256"), register)
    tracks = track_order(
        {p.stem for p in (run / "scores").glob("*.tsv") if LEADERBOARD_TRACK_RE.match(p.stem)}
    )
    if MAIN_TRACK not in tracks:
        raise RcbError(
            f"{run}/scores/{MAIN_TRACK}.tsv is missing: the corpus has no main eval track to submit"
        )
    scorer = load_scorer(run, "cpu", "best")
    params = count_params(scorer.model)
    model_cfg = dict(scorer.meta.get("model") or {})
    cfg.setdefault("name", scorer.meta.get("experiment") or run.name)  # type: ignore[union-attr]
    cfg.setdefault("seed", scorer.meta.get("seed"))  # type: ignore[union-attr]
    eid = entry_id or default_entry_id(str(cfg["name"]), cfg["seed"])  # type: ignore[index]
    macs, rtf, how = measure_speed(scorer.model) if speed else (None, None, None)
    rate, how_train = train_rate(summary)
    # only now: a refused run leaves the leaderboard untouched
    if register:
        register_protocol(cdir, root, kind="local")
    proto = read_protocol(cdir) if register else install_protocol(cdir, root)
    edir = entries / eid
    if (edir / "scores").is_dir():
        shutil.rmtree(edir / "scores")  # a track missing from this run must not survive from an older entry
    (edir / "scores").mkdir(parents=True)
    for t in tracks:
        shutil.copyfile(run / "scores" / f"{t}.tsv", edir / "scores" / f"{t}.tsv")
    entry = _entry_yaml(eid, run, cfg, summary, model_cfg, params, macs, rtf, proto, tracks)
    entry["train_samples_per_s"] = rate
    entry["compute"] = "; ".join(x for x in (how, how_train) if x)[:500] or None
    entry["model"] = (model or entry["model"])[:200]
    entry["description"] = (description or entry["description"])[:2000]
    entry["reproduce"] = reproduce
    atomic_write_text(edir / "entry.yaml", yaml.safe_dump(entry, sort_keys=False, allow_unicode=True))
    check = validate_entry(edir, dataclasses.replace(lb, root=root))
    if not check.ok:
        shutil.rmtree(edir)  # an invalid entry left in entries/ would break `rcb leaderboard build`
        raise RcbError(
            f"the entry for {run} does not validate (not written):\n  - " + "\n  - ".join(check.errors)
        )
    return edir


def _entry_yaml(eid: str, run: Path, cfg: dict, summary: dict, model_cfg: dict, params: int, macs: int | None,
                rtf: float | None, proto: Any, tracks: list[str]) -> dict[str, Any]:  # fmt: skip
    sha = (_read_json(run / "metrics" / MAIN_TRACK / "metrics.json").get("provenance") or {}).get("git_sha")
    target = str(model_cfg.get("_target_", "?")).rsplit(".", 1)[-1]
    dev = summary.get("tracks", {}).get("dev", {}).get("eer", {}).get("value")
    init = model_cfg.get("pretrained")
    how = f"fine-tuned from {Path(str(init)).name}" if init else "trained"  # published weights: say so
    what = f"{target} {how} with `rcb train` ({cfg.get('name')}, seed {cfg.get('seed')}"
    what += f"; dev EER {100 * dev:.2f}%)" if dev is not None else ")"
    m, c = proto.manifest, {"name": proto.manifest["name"], "version": proto.manifest["version"]}
    return {
        "schema_version": SCHEMA_VERSION,
        "entry_id": eid,
        "model": str(cfg.get("name") or target)[:200],
        "description": what,
        "code": {"repository": None, "commit": sha if sha and re.fullmatch(r"[0-9a-f]{7,40}", sha) else None},
        "experiment": run_command(run, cfg)[:1000],
        "pretrained": pretrained_of(model_cfg),
        "training_data": f"{m['name']} {m['version']} train split, dev for model selection "
        f"(protocol sha256 {proto.sha256})",
        "params": int(params),
        "macs": macs,
        "cpu_rtf": rtf,
        "corpus": {**c, "protocol_sha256": proto.sha256},
        "reported": reported_metrics(summary, tracks),
        "reproduce": None,
    }
