"""``rcb eval scores=FILE protocol=FILE split=eval out=DIR [key=value ...]`` (Hydra overrides).

``rcb eval compare scores=[a.tsv,b.tsv] protocol=FILE [track=eval] [out=compare.json]``: paired bootstrap
of the metric differences of two systems on the same trials (see ``rcb eval compare --help``).
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from ..config import load_config, print_help_if_asked
from ..contract import MAX_BAD_LINES
from ..corpus.options import (
    bool_option,
    float_option,
    int_option,
    number_list_option,
    out_dir_option,
    path_option,
    seed_option,
    str_list_option,
)
from ..errors import RcbError
from .bootstrap import BootstrapConfig
from .core import CostModel
from .run import EvalSpec, evaluate

_OUT = Console()
_ERR = Console(stderr=True)


def spec_from_config(cfg: DictConfig) -> EvalSpec:
    """An :class:`EvalSpec` from a composed ``eval`` config; RcbError naming the key for a bad value."""
    b = cfg.bootstrap
    early = OmegaConf.to_container(cfg.early) if cfg.early else {}
    if not isinstance(early, dict):
        raise RcbError(f"early= must be a mapping seconds->file, e.g. early={{1:a.tsv,2:b.tsv}}; got {early}")
    try:
        early = {float(k): path_option(v, f"early.{k}") for k, v in early.items()}
    except ValueError as e:
        raise RcbError(f"early= keys must be seconds (numbers), e.g. early={{1:a.tsv}}: {e}") from e
    breakdowns = b.breakdowns
    # true = as many replicates as the pooled numbers, false = none, or a number
    n = int_option(b.n, "bootstrap.n", hint="0 = no confidence intervals")
    sub_n = n if breakdowns is True else 0 if breakdowns is False or breakdowns is None else breakdowns
    return EvalSpec(
        protocol=path_option(cfg.protocol, "protocol"),
        scores=path_option(cfg.scores, "scores"),
        split=str(cfg.split),
        track=None if cfg.track in (None, "") else str(cfg.track),
        dev_scores=None if cfg.dev_scores in (None, "") else path_option(cfg.dev_scores, "dev_scores"),
        threshold=None if cfg.threshold is None else float_option(cfg.threshold, "threshold"),
        early=early,
        breakdown=None if cfg.breakdown is None else str_list_option(cfg.breakdown, "breakdown"),
        snr_edges=number_list_option(cfg.snr_edges, "snr_edges"),
        duration_edges=number_list_option(cfg.duration_edges, "duration_edges"),
        cost=CostModel(
            float_option(cfg.cost.p_spoof, "cost.p_spoof", 0.0, 1.0, open_interval=True),
            float_option(cfg.cost.c_miss, "cost.c_miss", 0.0, open_interval=True),
            float_option(cfg.cost.c_fa, "cost.c_fa", 0.0, open_interval=True),
        ),
        bootstrap=BootstrapConfig(
            n,
            seed_option(b.seed, "bootstrap.seed"),
            float_option(b.alpha, "bootstrap.alpha", 0.0, 1.0, open_interval=True),
            bool_option(b.within, "bootstrap.within"),
        ),
        bootstrap_breakdowns=int_option(
            sub_n, "bootstrap.breakdowns", hint="true = bootstrap.n, false = none"
        ),
        human_cluster=str(b.human_cluster),
        robocall_cluster=str(b.robocall_cluster),
        max_score_bytes=None
        if cfg.max_score_bytes is None
        else int_option(cfg.max_score_bytes, "max_score_bytes", 1, hint="null = no limit"),
        max_bad_score_lines=int_option(
            cfg.get("max_bad_score_lines", MAX_BAD_LINES), "max_bad_score_lines", 1
        ),
        worst_min_trials=int_option(cfg.worst_min_trials, "worst_min_trials", 1),
        clusters=None if cfg.get("clusters") in (None, "") else path_option(cfg.clusters, "clusters"),
    )


def extra_lines(m: dict) -> list[str]:
    """Console lines for the role split (EER/minDCF of each robocall role against live calls) and
    the clustering quality, when metrics.json ``m`` has them."""
    out = []
    for c in m["breakdowns"].get("role", []):
        out.append(
            f"role {c['value']} vs live: eer={c['eer']['value']:.4f} min_dcf={c['min_dcf']['value']:.4f} "
            f"({c['n_robocall']} robocall, {c['n_human']} live)"
        )
    cl = m.get("clustering")
    for part in ("all", "campaign_calls") if cl else ():
        q = cl[part]
        if q is not None:
            out.append(
                f"clusters ({part.replace('_', ' ')}, {q['n_calls']} calls): "
                + "  ".join(
                    f"{k}={q[k]:.4f}" for k in ("bcubed_precision", "bcubed_recall", "bcubed_f1", "ari")
                )
            )
    return out


def main(argv: Sequence[str]) -> int:
    """Run one evaluation and print the headline metrics."""
    argv = list(argv)
    if argv and argv[0] == "compare":
        from .compare import main as compare_main

        return compare_main(argv[1:])
    from .report import write_outputs  # matplotlib import deferred: --help stays fast

    if print_help_if_asked(argv, __doc__, "eval"):
        return 0
    cfg = load_config("eval", argv)
    spec = spec_from_config(cfg)
    out_dir = out_dir_option(cfg.out)  # before the work: a file named as out= is found now
    figures = bool_option(cfg.figures, "figures")
    res = evaluate(spec)
    for s in res.metrics["breakdowns_skipped"]:
        _ERR.print(f"note: breakdown by {s['column']} skipped: {s['reason']}", highlight=False)
    prov = res.metrics["provenance"]
    if prov["manifest_protocol_sha256"] and prov["manifest_protocol_sha256"] != prov["protocol_sha256"]:
        _ERR.print(
            f"warning: {prov['protocol']} sha256 differs from its manifest's protocol_sha256: the protocol was "
            "edited after the corpus was built; results are not comparable with published ones."
        )
    out = write_outputs(res, out_dir, figures=figures)
    m = res.metrics
    line = "  ".join(
        f"{k}={m[k]['value']:.4f}" + (f" [{m[k]['ci'][0]:.4f},{m[k]['ci'][1]:.4f}]" if m[k]["ci"] else "")
        for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc")
    )
    _OUT.print(line, highlight=False, soft_wrap=True)
    for text in extra_lines(m):
        _OUT.print(text, highlight=False, soft_wrap=True)
    _OUT.print(
        f"wrote {out / 'metrics.json'}, {out / 'report.md'}, {out / 'report.html'}",
        highlight=False,
        soft_wrap=True,
    )
    return 0
