"""Checking command-line values (seed, worker counts, output and corpus folders) before any work.

Each check returns the value in its proper type or raises one RcbError that names the key, the
value given and the fix, so a typo never ends in a traceback an hour into a build.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import RcbError

# numpy, sklearn and torch all take seeds in [0, 2**32): one rule for every verb.
MAX_SEED = 2**32 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_option(value: Any, key: str, minimum: int = 0, maximum: int | None = None, hint: str = "") -> int:
    """``value`` as an int in [minimum, maximum]; RcbError naming ``key`` otherwise.

    Integral floats (``4.0``) are accepted; strings, booleans and fractions are not.
    """
    v = value
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not _is_int(v) or v < minimum or (maximum is not None and v > maximum):
        rng = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise RcbError(
            f"{key}={value!r}: need an integer {rng}, e.g. {key}={minimum}" + (f" ({hint})" if hint else "")
        )
    return int(v)


def seed_option(value: Any, key: str = "seed") -> int:
    """A seed: an integer in [0, 2**32 - 1]."""
    return int_option(value, key, 0, MAX_SEED, "seeds are non-negative integers below 2**32")


def workers_option(value: Any, key: str = "num_workers") -> int:
    """A worker count >= 0; 0 and 1 both mean "in this process" (no worker pool)."""
    return int_option(value, key, 0, None, "0 or 1 = in this process, N = a pool of N worker processes")


def float_option(
    value: Any, key: str, low: float | None = None, high: float | None = None, open_interval: bool = False
) -> float:
    """``value`` as a finite float within [low, high] (or (low, high) with ``open_interval``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
    v = float(value) if ok else float("nan")
    if ok and abs(v) != float("inf"):
        below = low is not None and (v <= low if open_interval else v < low)
        above = high is not None and (v >= high if open_interval else v > high)
        if not (below or above):
            return v
    if low is not None and high is not None:
        need = f"a number {'strictly ' if open_interval else ''}between {low:g} and {high:g}"
    elif low is not None:
        need = f"a number {'>' if open_interval else '>='} {low:g}"
    else:
        need = "a finite number"
    raise RcbError(f"{key}={value!r}: need {need}")


def bool_option(value: Any, key: str) -> bool:
    """``value`` as a bool: YAML true/false only (a string such as 'no' is refused, not read as True)."""
    if isinstance(value, bool):
        return value
    raise RcbError(f"{key}={value!r}: need true or false")


def number_list_option(value: Any, key: str) -> list[float]:
    """A list of finite numbers (``[0,10,20]``); a single number is a one-element list."""
    items = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    try:
        return [float_option(v, key) for v in items]
    except RcbError:
        raise RcbError(f"{key}={value!r}: need a list of numbers, e.g. {key}=[0,10,20]") from None


def str_list_option(value: Any, key: str) -> list[str]:
    """A list of non-empty names (``[a,b]``); a single name is a one-element list."""
    items = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    if not items or not all(isinstance(v, str | int) and not isinstance(v, bool) and str(v) for v in items):
        raise RcbError(f"{key}={value!r}: need a list of names, e.g. {key}=[a,b]")
    return [str(v) for v in items]


def path_option(value: Any, key: str) -> str:
    """A non-empty path string (numbers are taken as names: ``corpus=2024`` is the folder ``2024``)."""
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value)
    raise RcbError(f"{key}={value!r}: need a path, e.g. {key}=data/mini-seed0")


def out_dir_option(value: Any, key: str = "out") -> Path:
    """An output folder that exists or can be created: not a file, and not under a file."""
    p = Path(path_option(value, key)).expanduser()
    if p.exists() and not p.is_dir():
        raise RcbError(f"{key}={p}: is a file, not a folder; pass a folder (existing or new) for {key}=")
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise RcbError(
                    f"{key}={p}: {parent} is a file, so the folder cannot be made; pick another {key}="
                )
            break
    return p


def corpus_dir_option(value: Any, key: str = "corpus") -> Path:
    """An existing corpus folder (the one ``rcb corpus out=DIR`` wrote)."""
    p = Path(path_option(value, key)).expanduser()
    if not p.is_dir():
        what = "a file" if p.exists() else "not found"
        raise RcbError(f"{key}={p}: {what}; pass the corpus folder that `rcb corpus out=DIR` wrote")
    return p
