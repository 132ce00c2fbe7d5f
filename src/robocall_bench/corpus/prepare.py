"""From a composed config to a plan: scan sources, load scripts, set up engines and the channel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ..config import config_dir
from ..errors import RcbError
from ..paths import corpora_root
from ..scripts.base import Script
from ..scripts.families import assign_families
from ..scripts.ftc import load_ftc
from ..sources.base import Skipped, SourceItem
from .campaigns import CampaignConfig, MessagePlan, make_campaigns
from .plan import PlanConfig, UttPlan, family_splits, make_plan


@dataclass
class Prepared:
    """Everything the renderer and the assembler need, derived deterministically from the config."""

    cfg: DictConfig
    root: Path
    sources: dict[str, Any]
    items: list[SourceItem]
    scripts: list[Script]
    engines: dict[str, Any]
    channel: Any
    plan: list[UttPlan]
    skipped: list[Skipped] = field(default_factory=list)
    messages: list[MessagePlan] = field(default_factory=list)


# A config name is a file stem in its group folder: no path separators, no "..".
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def _targets(node: object) -> set[str]:
    """Every ``_target_`` value anywhere in a (nested) config node."""
    if isinstance(node, dict):
        own = {str(node["_target_"])} if "_target_" in node else set()
        return own.union(*(_targets(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_targets(v) for v in node))
    return set()


def _check_channel_targets(channel: DictConfig) -> None:
    """config.yaml of a shard folder (``rcb corpus merge``) is a file someone handed us: its channel
    may only instantiate classes that a channel config of this checkout names."""
    allowed: set[str] = set()
    for p in (config_dir() / "channel").glob("*.yaml"):
        allowed |= _targets(OmegaConf.to_container(OmegaConf.load(p)))
    bad = _targets(OmegaConf.to_container(channel)) - allowed
    if bad or "_target_" not in channel:
        raise RcbError(
            f"channel config names class(es) {sorted(bad) or ['(none)']} that no configs/channel/*.yaml names; "
            "use channel=narrowband or channel=wideband"
        )


def _group_cfg(group: str, name: str) -> DictConfig:
    """Load ``configs/<group>/<name>.yaml`` (plus any ``extra_config_dirs``), erroring with the choices."""
    path = config_dir() / group / f"{name}.yaml"
    if not _NAME.fullmatch(str(name)) or not path.is_file():
        have = sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))
        raise RcbError(f"unknown {group} {name!r}: no {path}. Choose from {have} or add a YAML file there.")
    return OmegaConf.load(path)


def tts_system_names(cfg: DictConfig) -> list[str]:
    """The TTS systems the config selects (``tts.systems``: a list, or ``all`` = every file in configs/tts)."""
    sel = cfg.tts.systems
    if isinstance(sel, str):
        if sel != "all":
            raise RcbError(f"tts.systems={sel!r}: give a list of system ids or 'all'")
        return sorted(p.stem for p in (config_dir() / "tts").glob("*.yaml"))
    return list(sel)


def load_engines(cfg: DictConfig) -> dict[str, Any]:
    """Instantiate (not load) every selected TTS system and check it is installed."""
    engines = {}
    for name in tts_system_names(cfg):
        eng = instantiate(_group_cfg("tts", name))
        eng.check()
        engines[eng.system] = eng
    unknown = set(cfg.protocol.eval_only_systems) - set(engines)
    if unknown:
        raise RcbError(
            f"protocol.eval_only_systems names systems not selected in tts.systems: {sorted(unknown)}"
        )
    return engines


def load_scripts(cfg: DictConfig, root: Path) -> tuple[list[Script], list[Skipped]]:
    """Real FTC transcripts (near-duplicate families) plus generated templates (one family per template)."""
    from ..scripts.templates import generate_templates

    scripts: list[Script] = []
    skipped: list[Skipped] = []
    sc = cfg.scripts
    if sc.ftc.enabled:
        ftc, bad = load_ftc(root, sc.ftc.subdir, encoding=str(sc.ftc.get("encoding") or "utf-8"))
        scripts += assign_families(ftc, "ftc", float(sc.ftc.family_threshold))
        skipped += [Skipped(w, r) for w, r in bad]
    for lang in sc.templates.languages:
        scripts += generate_templates(lang, int(sc.templates.n_per_domain), int(cfg.seed))
    return scripts, skipped


def plan_config(cfg: DictConfig) -> PlanConfig:
    """The ``plan:`` node as a PlanConfig (validated)."""
    p = OmegaConf.to_container(cfg.plan, resolve=True)
    assert isinstance(p, dict)
    for key in ("split_fractions", "track_fractions"):
        v = p[key]
        if len(v) != 3 or min(v) < 0 or abs(sum(v) - 1) > 1e-6:
            raise RcbError(f"plan.{key}={v}: need three non-negative fractions that sum to 1")
    lo, hi = p["target_s"]
    if not 0.5 <= lo <= hi:
        raise RcbError(f"plan.target_s={p['target_s']}: need 0.5 <= min <= max seconds")
    return PlanConfig(
        split_fractions=tuple(p["split_fractions"]),
        track_fractions=tuple(p["track_fractions"]),
        target_s=(float(lo), float(hi)),
        pad_s=tuple(p["pad_s"]),
        window_margin_s=float(p["window_margin_s"]),
        human_per_source=dict(p.get("human_per_source") or {}),
        max_rendition_fraction=float(p["max_rendition_fraction"]),
        script_origin_weights=dict(p["script_origin_weights"]),
        voice_fraction=float(p.get("voice_fraction", 0.0)),
        voice_min_speakers=int(p.get("voice_min_speakers", 20)),
    )


def campaign_config(cfg: DictConfig) -> CampaignConfig:
    """The ``campaigns:`` node as a CampaignConfig (validated; absent = no campaigns)."""
    node = cfg.get("campaigns")
    if node is None or not node.get("enabled", False):
        return CampaignConfig(enabled=False)
    c = OmegaConf.to_container(node, resolve=True)
    assert isinstance(c, dict)
    calls = {str(k): int(v) for k, v in (c.get("calls") or {}).items()}
    bad = sorted(set(calls) - {"train", "dev", "eval"})
    if bad or any(v < 0 for v in calls.values()):
        raise RcbError(f"campaigns.calls={calls}: give non-negative call counts for train, dev and eval")
    for key in ("message_s", "call_s", "pickup_s", "gap_s"):
        lo, hi = c[key]
        if not 0 <= lo <= hi:
            raise RcbError(f"campaigns.{key}={c[key]}: need 0 <= min <= max seconds")
    if not 2 <= int(c["size_min"]) <= int(c["size_max"]):
        raise RcbError(f"campaigns.size_min/size_max={c['size_min']}/{c['size_max']}: need 2 <= min <= max")
    return CampaignConfig(
        enabled=True, calls=calls, size_alpha=float(c["size_alpha"]), size_min=int(c["size_min"]),
        size_max=int(c["size_max"]), message_s=tuple(c["message_s"]), call_s=tuple(c["call_s"]),
        pickup_s=tuple(c["pickup_s"]), kinds={k: dict(v) for k, v in (c.get("kinds") or {}).items()},
        voice_talent_sources=tuple(c.get("voice_talent") or ()), insert_p=float(c["insert_p"]),
        insert_digits=tuple(int(v) for v in c["insert_digits"]), respoken_fraction=float(c["respoken_fraction"]),
        gap_s=tuple(c["gap_s"]),
    )  # fmt: skip


def prepare(cfg: DictConfig) -> Prepared:
    """Scan, load and plan. Raises RcbError/SourceMissingError with the fix on bad input."""
    from ..scripts.templates import split_sentences

    root = corpora_root(cfg.corpora_root)
    pcfg = plan_config(cfg)
    sources, items, skipped = {}, [], []
    for name in cfg.sources:
        src = instantiate(_group_cfg("source", name), config_file=f"configs/source/{name}.yaml")
        its, sk = src.scan(root, int(cfg.seed))
        if not its:
            raise RcbError(f"source {name!r} under {root} has no usable audio ({len(sk)} skipped)")
        sources[src.name] = src
        items += its
        skipped += sk
    unknown = set(pcfg.human_per_source) - set(sources)
    if unknown:
        raise RcbError(f"plan.human_per_source names sources not in sources=: {sorted(unknown)}")
    scripts, sk = load_scripts(cfg, root)
    skipped += sk
    engines = load_engines(cfg)
    noise_dir = root / cfg.noise_subdir if cfg.noise_subdir and (root / cfg.noise_subdir).is_dir() else None
    _check_channel_targets(cfg.channel)
    channel = instantiate(cfg.channel, noise_dir=str(noise_dir) if noise_dir else None)
    # Codec weights come from the channel config; codecs this machine lacks (e.g. AMR-NB) drop out.
    available = set(channel.codec_names())
    codecs = {c: float(w) for c, w in cfg.channel.codecs.items() if w > 0 and c in available}
    missing = set(cfg.protocol.eval_only_codecs) - available
    if missing:
        raise RcbError(
            f"protocol.eval_only_codecs {sorted(missing)} are not available here (have {sorted(available)})"
        )
    systems: dict[str, list[str]] = {}
    for sid, eng in sorted(engines.items()):
        for lang in eng.languages:
            systems.setdefault(lang, []).append(sid)
    copy = frozenset(sid for sid, eng in engines.items() if getattr(eng, "copy", False))
    eval_only = set(cfg.protocol.eval_only_systems)
    plan = make_plan(
        int(cfg.seed), pcfg, items, scripts, systems, eval_only, codecs,
        set(cfg.protocol.eval_only_codecs), split_sentences, copy_systems=copy,
    )  # fmt: skip
    ccfg = campaign_config(cfg)
    talent: list[SourceItem] = []
    for name in ccfg.voice_talent_sources:
        src = instantiate(_group_cfg("source", name), config_file=f"configs/source/{name}.yaml")
        its, sk = src.scan(root, int(cfg.seed))
        talent += its
        skipped += sk
        sources[src.name] = src
    messages, calls = make_campaigns(
        int(cfg.seed), ccfg, pcfg, items, talent, scripts, family_splits(scripts, pcfg, int(cfg.seed))[0], systems,
        copy, eval_only, codecs, set(cfg.protocol.eval_only_codecs), split_sentences,
    )  # fmt: skip
    if calls:
        from ..contract import SPLITS

        plan = sorted(plan + calls, key=lambda u: (SPLITS.index(u.split), u.utt_id))
        if len({u.utt_id for u in plan}) != len(plan):
            raise RcbError("internal: utterance id collision between per-call and campaign rows; change the seed")
    return Prepared(cfg, root, sources, items, scripts, engines, channel, plan, skipped, messages)
