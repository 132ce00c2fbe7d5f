"""The maintainer-owned records: which corpora the leaderboard ranks (``registry.yaml``) and which
entries a maintainer re-ran (``reproduced.yaml``), both beside ``entries/`` in the leaderboard root.

A protocol folder under ``protocols/`` only counts when a registry row names its corpus, version,
sha256 and tracks: otherwise an entry could bring its own two-row protocol and score it perfectly.
Entries never write either file; ``rcb leaderboard register`` and ``rcb leaderboard reproduce ...
confirm=true`` do.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..audio import atomic_write_text
from ..contract import EVAL_TRACKS, Protocol, read_protocol
from ..errors import RcbError
from .safeyaml import load_yaml_file
from .schema import Corpus

REGISTRY = "registry.yaml"
REPRODUCED = "reproduced.yaml"
MAX_BYTES = 1 << 20
Kind = Literal["official", "example", "local"]
KINDS: tuple[str, ...] = ("official", "example", "local")  # also the order of the published sections


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisteredCorpus(_Strict):
    """One corpus the leaderboard ranks: its protocol's identity and the tracks entries may score."""

    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of protocol.tsv")
    tracks: list[str] = Field(
        min_length=1, description="protocol tracks of the eval split; early-<N>s reuse eval"
    )
    kind: Kind = "official"
    title: str | None = Field(None, max_length=200)

    @field_validator("tracks")
    @classmethod
    def _tracks(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if t not in EVAL_TRACKS]
        if bad or "eval" not in v or len(set(v)) != len(v):
            raise ValueError(f"must be distinct tracks out of {', '.join(EVAL_TRACKS)} including eval")
        return v


class Registry(_Strict):
    """``registry.yaml``."""

    schema_version: Literal[1] = 1
    corpora: list[RegisteredCorpus] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Registry:
        keys = [(c.name, c.version) for c in self.corpora]
        if len(set(keys)) != len(keys):
            raise ValueError("a corpus name + version is registered twice")
        return self

    def get(self, name: str, version: str) -> RegisteredCorpus | None:
        return next((c for c in self.corpora if (c.name, c.version) == (name, version)), None)


class Reproduction(_Strict):
    """A maintainer's successful re-run of one entry; valid while its score files keep these sha256."""

    entry_id: str = Field(max_length=64)
    corpus: Corpus
    scores: dict[str, str] = Field(description="track -> sha256 of the entry's scores/<track>.tsv")
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    code_version: str | None = Field(None, max_length=100)
    atol: float
    network: Literal["isolated", "not isolated"]


class Reproduced(_Strict):
    """``reproduced.yaml``."""

    schema_version: Literal[1] = 1
    entries: list[Reproduction] = Field(default_factory=list)


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    if not path.is_file():
        return model()
    try:
        return model.model_validate(load_yaml_file(path, MAX_BYTES))
    except ValidationError as e:
        why = "; ".join(f"{'.'.join(map(str, x['loc'])) or path.name}: {x['msg']}" for x in e.errors()[:5])
        raise RcbError(f"{path}: {why}; this maintainer-owned file is written by rcb leaderboard") from e


def load_registry(root: Path) -> Registry:
    """The registry of ``root`` (empty when the file is absent); RcbError when it is invalid."""
    return _load(Path(root) / REGISTRY, Registry)  # type: ignore[return-value]


def load_reproduced(root: Path) -> dict[str, Reproduction]:
    """{entry_id: its recorded reproduction} of ``root``; RcbError when the file is invalid."""
    rec: Reproduced = _load(Path(root) / REPRODUCED, Reproduced)  # type: ignore[assignment]
    return {r.entry_id: r for r in rec.entries}


def valid_reproduction(
    rec: Reproduction | None, corpus: Corpus, score_sha: dict[str, str]
) -> Reproduction | None:
    """``rec`` when it still describes these score files (every track, same bytes) on this corpus."""
    if rec is None or rec.corpus != corpus or rec.scores != score_sha:
        return None
    return rec


def install_protocol(corpus: Path, root: Path) -> Protocol:
    """Copy the corpus's protocol.tsv + manifest.json to ``root/protocols/<name>-<version>/``."""
    proto = read_protocol(corpus)
    name, version = proto.manifest.get("name"), proto.manifest.get("version")
    if not (name and version):
        raise RcbError(f"{corpus}/manifest.json lacks name/version; build the corpus with `rcb corpus`")
    if proto.manifest.get("protocol_sha256") not in (None, proto.sha256):
        raise RcbError(
            f"{proto.path}: sha256 differs from manifest.json's protocol_sha256; rebuild the corpus"
        )
    dest = Path(root) / "protocols" / f"{name}-{version}"
    if dest.resolve() == proto.path.parent.resolve():
        return proto  # registering the committed folder itself
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(proto.path, dest / "protocol.tsv")
    manifest = dict(proto.manifest, protocol_sha256=proto.sha256)
    atomic_write_text(dest / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return proto


def register_protocol(
    corpus: Path, root: Path, kind: str = "official", title: str | None = None
) -> RegisteredCorpus:
    """Install the corpus's protocol under ``root/protocols/`` and add (or replace) its registry row.

    A maintainer's act: entries on this corpus become rankable. ``kind`` is official, example or local
    (a private leaderboard such as ``rcb demo``'s); the published tables group corpora by it.
    """
    if kind not in KINDS:
        raise RcbError(f"kind={kind!r}: use one of {', '.join(KINDS)}")
    reg = load_registry(root)
    proto = install_protocol(corpus, root)
    row = RegisteredCorpus(
        name=proto.manifest["name"],
        version=proto.manifest["version"],
        sha256=proto.sha256,
        tracks=proto.eval_tracks(),
        kind=kind,  # type: ignore[arg-type]
        title=title,
    )
    rows = [c for c in reg.corpora if (c.name, c.version) != (row.name, row.version)] + [row]
    rows.sort(key=lambda c: (KINDS.index(c.kind), c.name, c.version))
    body = yaml.safe_dump(
        Registry(corpora=rows).model_dump(exclude_none=True), sort_keys=False, allow_unicode=True
    )
    atomic_write_text(
        Path(root) / REGISTRY,
        "# Maintainer-owned: the corpora this leaderboard ranks. Written by `rcb leaderboard register`;\n"
        "# a protocol folder or an entry on a corpus not listed here is refused.\n" + body,
    )
    return row


def record_reproduction(root: Path, rec: Reproduction) -> Path:
    """Add (or replace) ``rec`` in ``root/reproduced.yaml``; returns the file."""
    have = load_reproduced(root)
    have[rec.entry_id] = rec
    body = yaml.safe_dump(
        Reproduced(entries=[have[k] for k in sorted(have)]).model_dump(), sort_keys=False, allow_unicode=True
    )
    path = Path(root) / REPRODUCED
    atomic_write_text(
        path,
        "# Maintainer-owned: entries whose recipe a maintainer re-ran and matched (`rcb leaderboard reproduce\n"
        "# ... confirm=true`). A record counts only while the entry's score files keep these sha256.\n"
        + body,
    )
    return path


def today() -> str:
    """UTC date, ISO format."""
    return _dt.datetime.now(_dt.UTC).date().isoformat()
