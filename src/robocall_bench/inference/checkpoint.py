"""Checkpoint files: atomic writes, reading, and checks that a checkpoint fits a model config.

Lightning writes through fsspec; its local "transaction" renames but never fsyncs, so a power
loss or a kill at the wrong moment can still leave a truncated ``last.ckpt``. Here a checkpoint is
serialised in memory, written to a temp file in the same folder, fsynced, and renamed over the old
one (``os.replace`` is atomic on POSIX): at any instant ``last.ckpt`` is the old or the new file.

A checkpoint is a file someone hands us: :func:`read_checkpoint` loads it with ``weights_only``
(no pickled code) and refuses a model config whose ``_target_`` (at any depth) is not an allowed
detector before anything is built (see ``models.check_model_config``).

Lightning is imported only by :class:`AtomicCheckpointIO` (lazily): ``rcb score`` never needs it,
and importing it costs ~300 MB of resident memory and seconds of start-up.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import RcbError


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` to ``path`` through temp file + fsync + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(obj, buf)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # some filesystems refuse fsync on directories; the rename is still atomic
        pass


def _atomic_checkpoint_io() -> type:
    from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

    class AtomicCheckpointIO(TorchCheckpointIO):
        """Lightning CheckpointIO plugin: local saves via :func:`atomic_torch_save`."""

        def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
            if storage_options is not None:
                raise TypeError(f"{type(self).__name__} takes no storage_options")
            atomic_torch_save(checkpoint, path)

    AtomicCheckpointIO.__module__ = __name__
    return AtomicCheckpointIO


def __getattr__(name: str) -> Any:  # PEP 562: ``from .checkpoint import AtomicCheckpointIO`` builds it lazily
    if name == "AtomicCheckpointIO":
        cls = _atomic_checkpoint_io()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a robocall-bench checkpoint on CPU; RcbError when missing, corrupt or not ours."""
    p = Path(path).expanduser()
    return check_checkpoint(load_torch_file(p), p)


def load_torch_file(p: Path) -> Any:
    """``torch.load(p, weights_only=True)`` on CPU; RcbError when missing or unreadable."""
    if not p.is_file():
        raise RcbError(
            f"checkpoint {p} not found; pass ckpt=RUN_DIR (from `rcb train`) or a .ckpt file inside its checkpoints/"
        )
    try:
        # weights_only: a checkpoint from elsewhere cannot run code when it is loaded
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise RcbError(
            f"{p}: not a readable checkpoint ({type(e).__name__}: {e}); was the copy complete?"
        ) from e


def check_checkpoint(ck: Any, p: Path) -> dict[str, Any]:
    """``ck`` (loaded from ``p``) if it is a robocall-bench checkpoint with an allowed model config."""
    if not isinstance(ck, dict) or "rcb" not in ck:
        raise RcbError(
            f"{p}: not a robocall-bench checkpoint (no 'rcb' metadata); only checkpoints written by "
            "`rcb train` can be scored, and the published AASIST / AASIST-L weights (AASIST.pth, AASIST-L.pth)"
        )
    from ..models import check_model_config

    meta = ck["rcb"]
    if not isinstance(meta, dict):
        raise RcbError(f"{p}: damaged robocall-bench checkpoint ('rcb' metadata is not a mapping)")
    check_model_config(meta.get("model"), where=f"checkpoint {p}")
    return ck


def model_signature(model_cfg: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of a model config that define the architecture (``_target_`` and its arguments)."""
    return {k: v for k, v in (model_cfg or {}).items() if k not in ("name", "description")}


def model_name(model_cfg: dict[str, Any] | None) -> str:
    """'AASIST' or 'name (Class)' for messages, from a model config's ``_target_`` (and ``name``)."""
    m = model_cfg or {}
    cls = str(m.get("_target_", "?")).rsplit(".", 1)[-1]
    return f"{m['name']} ({cls})" if m.get("name") and m["name"] != cls else cls


def check_same_model(
    ckpt_path: Path, ck_model: dict[str, Any], cfg_model: dict[str, Any], where: str
) -> None:
    """RcbError naming both models when a checkpoint was trained with another model config."""
    a, b = model_signature(ck_model), model_signature(cfg_model)
    if a == b:
        return
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    name_a, name_b = model_name(ck_model), model_name(cfg_model)
    raise RcbError(
        f"checkpoint {ckpt_path} was trained with model {name_a!r} but {where} configures model {name_b!r} "
        f"(differing keys: {', '.join(diff[:8])}). Use the checkpoint with the run that made it, or start a "
        "new run_dir for this model."
    )
