"""Loggers: building Lightning loggers from ``configs/logger/`` and a dependency-free JSON-lines logger."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.utilities import rank_zero_only


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv; a resumed run must append to it."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = next(csv.reader(f), [])


class ResumableCSVLogger(CSVLogger):
    """CSVLogger that appends to ``metrics.csv`` when a run is resumed (rows after the resumed
    checkpoint's step appear twice: once from before the kill, once from the resumed run)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


class JSONLLogger(Logger):
    """Appends one JSON object per logging call to ``<save_dir>/<name>/metrics.jsonl`` (rank 0 only)."""

    def __init__(self, save_dir: str, name: str = "logs") -> None:
        super().__init__()
        self._dir = Path(save_dir) / name
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self._dir.parent)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass  # the resolved config.yaml of the run directory is the record of hyperparameters

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        row = {
            "step": step,
            **{k: (None if not math.isfinite(float(v)) else float(v)) for k, v in metrics.items()},
        }
        with (self._dir / "metrics.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def build_loggers(cfg: Any, run_dir: Path) -> list[Logger]:
    """Instantiate every logger under ``cfg`` (the ``logger`` group node) with ``save_dir=run_dir``."""
    from hydra.utils import instantiate

    out = []
    for _, node in (cfg or {}).items():
        if node is not None and "_target_" in node:
            out.append(instantiate(node, save_dir=str(run_dir)))
    return out
