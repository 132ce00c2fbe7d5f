"""The entry.yaml schema (pydantic, versioned) and the names of reportable metrics (tracks: ``contract``)."""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..contract import LEADERBOARD_TRACK_RE

SCHEMA_VERSION = 1
# Lower-case, no path separators, no leading dot: safe as a directory name and in URLs.
ENTRY_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]|\.(?!\.)){0,62}[a-z0-9]$|^[a-z0-9]$")
METRICS = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct")
MetricName = Literal[
    "eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Code(_Strict):
    repository: str | None = Field(None, max_length=300, description="URL of the code")
    commit: str | None = Field(None, pattern=r"^[0-9a-f]{7,40}$", description="git commit of the code used")


class Pretrained(_Strict):
    id: str = Field(min_length=1, max_length=200, description="e.g. a Hugging Face model id")
    revision: str = Field(min_length=1, max_length=100, description="commit/tag pinning the weights")
    license: str | None = Field(None, max_length=100, description="license of the weights, e.g. apache-2.0")
    url: str | None = Field(None, max_length=300, description="where the weights are published")


class Corpus(_Strict):
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    protocol_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Reproduce(_Strict):
    """A recipe re-creating the score files: argv with {python}, {corpus}, {out} placeholders."""

    command: list[str] = Field(min_length=1, max_length=50)
    timeout_s: int = Field(3600, gt=0, le=86400)


class Entry(_Strict):
    """One leaderboard entry (``entry.yaml``)."""

    schema_version: Literal[1]
    entry_id: str = Field(max_length=64)
    model: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    code: Code = Code()
    experiment: str | None = Field(
        None, max_length=1000, description="config/command that produced the scores"
    )
    pretrained: Pretrained | None = None
    training_data: str = Field(min_length=1, max_length=500)
    params: int = Field(ge=0, description="trainable + frozen parameter count")
    macs: int | None = Field(None, ge=0, description="multiply-accumulates per second of audio")
    cpu_rtf: float | None = Field(None, gt=0, description="CPU real-time factor, if measured")
    train_samples_per_s: float | None = Field(None, gt=0, description="training throughput, if measured")
    compute: str | None = Field(None, max_length=500, description="how and where cost figures were measured")
    corpus: Corpus
    reported: dict[str, dict[MetricName, float]] | None = None
    reproduce: Reproduce | None = None

    @field_validator("entry_id")
    @classmethod
    def _safe_id(cls, v: str) -> str:
        if not ENTRY_ID_RE.match(v):
            raise ValueError("must be 1-64 chars of a-z 0-9 . _ -, start and end alphanumeric, no '..'")
        return v

    @field_validator("pretrained", mode="before")
    @classmethod
    def _none_word(cls, v: object) -> object:
        return None if isinstance(v, str) and v.strip().lower() == "none" else v

    @field_validator("reported")
    @classmethod
    def _reported(cls, v: dict | None) -> dict | None:
        for track, metrics in (v or {}).items():
            if not LEADERBOARD_TRACK_RE.match(track):
                raise ValueError(f"unknown track {track!r}")
            for name, x in metrics.items():
                if not math.isfinite(x):
                    raise ValueError(f"{track}.{name} is not finite")
        return v

    @field_validator("cpu_rtf", "train_samples_per_s")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be finite")
        return v
