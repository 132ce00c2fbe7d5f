"""The training engine: a composed ``train`` config + run directory -> trained checkpoints.

One path for every torch detector (Lightning, see module.py for why), one for fitted models
(lfcc_gmm, see gmm.py); both leave ``checkpoints/best.ckpt`` and ``checkpoints/last.ckpt``.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from .. import __version__
from ..errors import RcbError
from ..inference.checkpoint import AtomicCheckpointIO, check_same_model, read_checkpoint
from ..inference.preprocess import Preprocess
from ..inference.scoring import build_model, check_max_batch_s, is_torch_model
from .callbacks import RunCheckpoints, Throughput
from .data import Corpus, Item
from .datamodule import RcbDataModule, steps_for_epochs
from .gmm import fit_fitted_model
from .loggers import build_loggers
from .module import DetectorModule, NonFiniteLossError

# trainer config keys passed straight to lightning.Trainer
TRAINER_KEYS = ("accelerator", "devices", "num_nodes", "strategy", "precision", "accumulate_grad_batches",
                "gradient_clip_val", "gradient_clip_algorithm", "deterministic", "benchmark",
                "log_every_n_steps", "enable_progress_bar", "sync_batchnorm")  # fmt: skip


def trainer_kwargs(t: DictConfig, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``trainer`` config keys that go straight to ``lightning.Trainer`` (set ones only).

    Under torchrun (``env``, default ``os.environ``, has ``LOCAL_WORLD_SIZE``) ``devices: auto`` becomes
    this node's process count and an unset ``num_nodes`` the node count: Lightning's own ``auto``
    counts visible devices (1 on CPU, every GPU of the machine), which fails its check against
    torchrun's ``WORLD_SIZE`` whenever the two differ (e.g. CPU/gloo DDP, or 2 of 4 GPUs).
    """
    kw = {k: plain(t[k]) for k in TRAINER_KEYS if t.get(k) is not None}
    env = os.environ if env is None else env
    local = int(env.get("LOCAL_WORLD_SIZE", 0) or 0)
    if local > 0:
        if kw.get("devices", "auto") == "auto":
            kw["devices"] = local
        kw.setdefault("num_nodes", max(1, int(env.get("WORLD_SIZE", local)) // local))
    if kw.get("sync_batchnorm") and kw.get("accelerator") == "cpu":
        # torch's SyncBatchNorm has no CPU kernel (DDP refuses it): each process keeps its own BN statistics
        warnings.warn("trainer.sync_batchnorm is ignored on CPU (gloo DDP): BatchNorm statistics stay per process",
                      stacklevel=2)  # fmt: skip
        kw["sync_batchnorm"] = False
    return kw


def plain(node: Any) -> Any:
    """A resolved plain container of an OmegaConf node (dicts/lists pass through)."""
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def check_classes(items: list[Item], what: str) -> None:
    """RcbError unless ``items`` hold both labels."""
    labels = {i.label for i in items}
    if labels != {0, 1}:
        raise RcbError(
            f"the {what} split has {len(items)} rows but not both labels (human and robocall); rebuild the corpus"
        )


def total_steps(cfg: DictConfig, train: list[Item], world: int = 1) -> int:
    """Optimizer steps of the run: ``trainer.max_steps`` or ``trainer.max_epochs`` data epochs."""
    t = cfg.trainer
    if t.get("max_steps") not in (None, -1):
        return int(t.max_steps)
    if t.get("max_epochs") in (None, -1):
        raise RcbError("set trainer.max_steps=N or trainer.max_epochs=N")
    return steps_for_epochs(len(train), [i.label for i in train], int(cfg.data.batch_size), world,
                            int(t.get("accumulate_grad_batches", 1)), float(t.max_epochs),
                            cfg.data.balance == "sampler")  # fmt: skip


def max_batch_seconds(cfg: DictConfig) -> float | None:
    """``score.max_batch_seconds`` (padded seconds per scoring batch, dev scoring included), or None."""
    return check_max_batch_s((cfg.get("score") or {}).get("max_batch_seconds"), "score.max_batch_seconds")


def resume_path(cfg: DictConfig, ckpt_dir: Path) -> Path | None:
    """The checkpoint to continue from (``resume=auto|false|PATH``), or None."""
    r = cfg.get("resume", "auto")
    if r in (False, None, "false", "no", ""):
        return None
    if r in (True, "auto", "true"):
        p = ckpt_dir / "last.ckpt"
        return p if p.is_file() else None
    p = Path(str(r)).expanduser()
    if not p.is_file():
        raise RcbError(f"resume={p}: no such checkpoint; pass resume=auto, resume=false or an existing .ckpt")
    return p


def build_augment(cfg: DictConfig) -> tuple[Any, float]:
    """(TelephoneChannel or None, probability) from ``data.augment``."""
    a = cfg.data.get("augment") or {}
    p = float(a.get("p", 0.0) or 0.0)
    if p <= 0:
        return None, 0.0
    from ..channel import TelephoneChannel

    return TelephoneChannel(**plain(a.get("channel") or {})), p


def make_meta(cfg: DictConfig, corpus: Corpus, pre: Preprocess) -> dict[str, Any]:
    """The metadata stored in every checkpoint (what ``rcb score`` needs to rebuild and preprocess)."""
    return {
        "model": plain(cfg.model),
        "preprocess": pre.to_dict(),
        "corpus": corpus.info,
        "experiment": str(cfg.get("name")),
        "seed": int(cfg.seed),
        "train_crop_s": cfg.data.get("train_crop_s"),
        "package_version": __version__,
    }


class _NoTips(logging.Filter):
    """Drops Lightning's advertising tips from the console (they are not about this run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet_lightning() -> None:
    """Silence Lightning's tips and a deprecation warning of its own internals (not actionable here)."""
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoTips) for f in log.filters):
        log.addFilter(_NoTips())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=Warning)


def fit(
    cfg: DictConfig, run_dir: Path, corpus: Corpus, console: Console, callbacks: Sequence[pl.Callback] = ()
) -> dict[str, Any]:
    """Train (or fit) the configured model; returns a summary (best dev EER, steps, history)."""
    if cfg.get("model") is None:
        raise RcbError("no model configured: pass experiment=NAME (see configs/experiment/) or model=NAME")
    quiet_lightning()
    max_batch_s = max_batch_seconds(cfg)  # a bad value fails now, not after training
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    pre = Preprocess.from_dict(plain(cfg.data.preprocess))
    # Per-call detectors learn and are selected on the per-call pool (track == split); the
    # train-/dev-campaign pools hold recorded human voices labelled robocall, which no per-call
    # acoustic model can learn: data.campaign_pool=true adds them (for systems that can).
    pool = bool(cfg.data.get("campaign_pool", False))
    train = corpus.select("train") if pool else corpus.select("train", "train")
    dev = corpus.select("dev") if pool else corpus.select("dev", "dev")
    check_classes(train, "train")
    check_classes(dev, "dev")
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    model = build_model(plain(cfg.model), "this run's model config", trusted=True)  # the user's own config
    meta = make_meta(cfg, corpus, pre)
    d = cfg.data
    if not is_torch_model(model):
        out = fit_fitted_model(model, train, dev, pre, ckpt_dir, meta, d.get("train_crop_s"), int(cfg.seed),
                                corpus.sample_rate, console, int(d.eval_batch_size))  # fmt: skip
        for lg in build_loggers(cfg.get("logger"), run_dir):  # same logs/ as a trained run
            lg.log_metrics({"dev/eer": out["best_dev_eer"]}, step=0)
            lg.finalize("success")
        return out
    resume = resume_path(cfg, ckpt_dir)
    if resume is not None:
        check_same_model(resume, read_checkpoint(resume)["rcb"].get("model") or {}, meta["model"], "this run")
    t = cfg.trainer
    trainer = pl.Trainer(
        **trainer_kwargs(t),
        max_steps=total_steps(cfg, train),
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_checkpointing=False,  # RunCheckpoints writes best/last itself
        enable_model_summary=False,
        use_distributed_sampler=False,  # the batch sampler shards by rank itself
        logger=build_loggers(cfg.get("logger"), run_dir),
        callbacks=[*rich_progress(t), *callbacks],
        plugins=[AtomicCheckpointIO()],
        default_root_dir=str(run_dir),
    )
    steps = trainer.max_steps
    world = trainer.world_size
    if world > 1:  # re-size by epochs with the real world size (known only once the Trainer exists)
        steps = total_steps(cfg, train, world)
        trainer.fit_loop.epoch_loop.max_steps = steps  # FitLoop.max_steps is a read-only view of this
    accum = int(t.get("accumulate_grad_batches", 1))
    run_ckpt = RunCheckpoints(ckpt_dir, [i.path for i in dev], [i.label for i in dev], pre,
                              int(t.eval_every_n_steps), int(t.ckpt_every_n_steps), int(d.eval_batch_size),
                              d.get("eval_window_s"), d.get("eval_max_s"), max_batch_s)  # fmt: skip
    meter = Throughput(run_ckpt)
    trainer.callbacks[0:0] = [meter, run_ckpt]  # meter first: its step time ends before dev scoring
    counts = [sum(i.label == c for i in train) for c in (0, 1)]
    weights = [len(train) / (2.0 * c) for c in counts] if d.balance == "loss" else None
    augment, augment_p = build_augment(cfg)
    dm = RcbDataModule(train, pre, int(d.batch_size), steps * accum, int(cfg.seed), d.get("train_crop_s"),
                       str(d.get("pad", "zero")), d.balance == "sampler", int(d.num_workers),
                       corpus.sample_rate, augment, augment_p)  # fmt: skip
    module = DetectorModule(model, plain(cfg.optim), steps, int(cfg.seed), weights, meta)
    if resume is not None:
        console.print(f"resuming from {resume}", highlight=False)
    try:
        trainer.fit(module, datamodule=dm, ckpt_path=str(resume) if resume else None)
    except NonFiniteLossError as e:
        last = run_ckpt.last_path
        kept = (f"the last good checkpoint {last} (step {read_checkpoint(last)['rcb'].get('global_step')}) is kept"
                if last.is_file() else "no checkpoint was written before it")  # fmt: skip
        raise RcbError(
            f"training stopped: {e} (non-finite loss). {kept}. Fix: lower optim.lr, set "
            "trainer.gradient_clip_val=1.0, use trainer.precision=32-true, or check the data; then rerun with "
            f"run_dir={run_dir} to resume from last.ckpt."
        ) from e
    except SystemExit as e:  # Lightning turns Ctrl+C into sys.exit(1) after a graceful shutdown
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt(f"interrupted; resume with the same command and run_dir={run_dir}") from e
    return {
        "best_dev_eer": run_ckpt.best_eer,
        "best_step": run_ckpt.best_step,
        "steps": int(trainer.global_step),
        "history": run_ckpt.history,
        "params": sum(p.numel() for p in model.parameters()),
        "throughput": {
            **meter.summary(),
            "device": str(module.device).split(":")[0],
            "world_size": world,
            "threads": torch.get_num_threads(),
            "batch_size": int(d.batch_size),
            "train_crop_s": d.get("train_crop_s"),
            "num_workers": int(d.num_workers),
        },
    }


def rich_progress(t: DictConfig) -> list[pl.Callback]:
    """A rich progress bar when progress bars are on (Lightning's default is tqdm)."""
    if not t.get("enable_progress_bar", True):
        return []
    from lightning.pytorch.callbacks import RichProgressBar

    return [RichProgressBar(leave=True)]
