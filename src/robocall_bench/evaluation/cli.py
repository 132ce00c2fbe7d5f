"""``rcb eval scores=FILE protocol=FILE split=eval out=DIR [key=value ...]`` (Hydra overrides)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from ..config import load_config, print_help_if_asked
from ..errors import RcbError
from .bootstrap import BootstrapConfig
from .core import CostModel
from .run import EvalSpec, evaluate

_OUT = Console()
_ERR = Console(stderr=True)


def spec_from_config(cfg: DictConfig) -> EvalSpec:
    """An :class:`EvalSpec` from a composed ``eval`` config."""
    b = cfg.bootstrap
    early = OmegaConf.to_container(cfg.early) if cfg.early else {}
    if not isinstance(early, dict):
        raise RcbError(f"early= must be a mapping seconds->file, e.g. early={{1:a.tsv,2:b.tsv}}; got {early}")
    try:
        early = {float(k): str(v) for k, v in early.items()}
    except ValueError as e:
        raise RcbError(f"early= keys must be seconds (numbers), e.g. early={{1:a.tsv}}: {e}") from e
    return EvalSpec(
        protocol=str(cfg.protocol),
        scores=str(cfg.scores),
        split=str(cfg.split),
        track=None if cfg.track in (None, "") else str(cfg.track),
        dev_scores=None if cfg.dev_scores in (None, "") else str(cfg.dev_scores),
        threshold=None if cfg.threshold is None else float(cfg.threshold),
        early=early,
        breakdown=[str(c) for c in cfg.breakdown or []],
        snr_edges=[float(x) for x in cfg.snr_edges],
        duration_edges=[float(x) for x in cfg.duration_edges],
        cost=CostModel(float(cfg.cost.p_spoof), float(cfg.cost.c_miss), float(cfg.cost.c_fa)),
        bootstrap=BootstrapConfig(int(b.n), int(b.seed), float(b.alpha), bool(b.within)),
        # true = as many replicates as the pooled numbers, false = none, or a number
        bootstrap_breakdowns=int(b.n) if b.breakdowns is True else int(b.breakdowns or 0),
        human_cluster=str(b.human_cluster),
        robocall_cluster=str(b.robocall_cluster),
        max_score_bytes=None if cfg.max_score_bytes is None else int(cfg.max_score_bytes),
        worst_min_trials=int(cfg.worst_min_trials),
    )


def main(argv: Sequence[str]) -> int:
    """Run one evaluation and print the headline metrics."""
    from .report import write_outputs  # matplotlib import deferred: --help stays fast

    argv = list(argv)
    if print_help_if_asked(argv, __doc__, "eval"):
        return 0
    cfg = load_config("eval", argv)
    spec = spec_from_config(cfg)
    c = spec.cost
    if not (0.0 < c.p_spoof < 1.0 and c.c_miss > 0 and c.c_fa > 0):
        raise RcbError(f"cost: need 0 < p_spoof < 1 and positive costs; got {c}")
    res = evaluate(spec)
    prov = res.metrics["provenance"]
    if prov["manifest_protocol_sha256"] and prov["manifest_protocol_sha256"] != prov["protocol_sha256"]:
        _ERR.print(
            f"warning: {prov['protocol']} sha256 differs from its manifest's protocol_sha256: the protocol was "
            "edited after the corpus was built; results are not comparable with published ones."
        )
    out = write_outputs(res, Path(str(cfg.out)), figures=bool(cfg.figures))
    m = res.metrics
    line = "  ".join(
        f"{k}={m[k]['value']:.4f}" + (f" [{m[k]['ci'][0]:.4f},{m[k]['ci'][1]:.4f}]" if m[k]["ci"] else "")
        for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc")
    )
    _OUT.print(line, highlight=False, soft_wrap=True)
    _OUT.print(
        f"wrote {out / 'metrics.json'}, {out / 'report.md'}, {out / 'report.html'}",
        highlight=False,
        soft_wrap=True,
    )
    return 0
