"""``rcb train experiment=NAME corpus=DIR [key=value ...]`` (Hydra overrides; ``-m`` for sweeps)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console

from ..errors import RcbError

_ERR = Console(stderr=True)

HELP = """usage: rcb train experiment=NAME corpus=DIR [key=value ...]

  experiment=   a recipe under configs/experiment/ (lfcc_gmm_mini, aasist_mini, ..., *_full)
  corpus=       a corpus folder built by `rcb corpus`
  run_dir=DIR   where the run goes (default experiments/runs/<name>/<timestamp>); an existing run_dir
                with checkpoints/last.ckpt is resumed (resume=auto|false|PATH)
  debug=default a few steps end to end (smoke test)
  trainer=cpu|gpu|ddp  logger=csv|json|local|wandb|none  data.batch_size=.. trainer.max_steps=.. optim.lr=..
  DDP: torchrun --nproc_per_node=N -m robocall_bench.cli train trainer=ddp run_dir=DIR ...
"""


def main(argv: Sequence[str]) -> int:
    """Compose configs/train.yaml with the overrides (Hydra) and run :func:`training.run.train`."""
    import hydra

    from ..config import config_dir

    argv = list(argv)
    if any(a in ("-h", "--help", "help") for a in argv):
        print(HELP)
        print((config_dir() / "train.yaml").read_text(encoding="utf-8"))
        return 0
    status = {"rc": 0}

    @hydra.main(config_path=str(config_dir()), config_name="train", version_base="1.3")
    def _run(cfg) -> float | None:
        """One training job; returns its best dev EER: the objective of sweepers (hydra/sweeper=optuna_lr)."""
        from hydra.core.hydra_config import HydraConfig

        from .run import train

        hc = HydraConfig.get()
        command = "rcb train " + " ".join(hc.overrides.task)
        try:
            out = train(cfg, hc.runtime.output_dir, command=command)
        except RcbError as e:
            _ERR.print(f"[red]error:[/] {e}", markup=True, highlight=False)
            status["rc"] = 2
            return None  # a sweeper records the trial as failed
        except KeyboardInterrupt:
            # Not the generic "rerun the same command": that would start a new timestamped run_dir.
            again = " ".join(o for o in hc.overrides.task if not o.startswith("run_dir="))
            resume = f"rcb train {again} run_dir={hc.runtime.output_dir}"
            _ERR.print(f"interrupted; resume with: {resume}", highlight=False, markup=False)
            status["rc"] = 130
            return None
        eer = out.get("fit", out).get("best_dev_eer")  # DDP ranks > 0 return the fit summary itself
        return None if eer is None else float(eer)

    saved = sys.argv
    sys.argv = ["rcb-train", *argv]
    try:
        _run()
    finally:
        sys.argv = saved
    return status["rc"]
