"""Deterministic robocall scripts from templates, in English and Mandarin, and a sentence splitter.

The template text and slot lists live in ``template_data/{language}.yaml`` (package data). Each
template is one script family (``tpl-en-loan_credit-03``), so all fills of one template can be
kept in one split. Fills are drawn from a generator derived from (seed, language, domain,
template), so a domain's output does not depend on which other domains are asked for, and a
smaller ``n_per_domain`` gives a prefix (per template) of a larger one.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import numpy as np
import yaml

from robocall_bench.errors import RcbError
from robocall_bench.scripts.base import Script
from robocall_bench.seeding import rng_for
from robocall_bench.sources.text import decode_text

__all__ = ["DOMAINS", "LANGUAGES", "generate_templates", "split_sentences", "template_texts"]

DOMAINS: tuple[str, ...] = (
    "property_investment",
    "loan_credit",
    "insurance",
    "car_warranty",
    "training_course",
    "impersonation",
    "parcel_delivery",
    "tech_support",
)
LANGUAGES: tuple[str, ...] = ("en", "zh")

MIN_TEMPLATES_PER_DOMAIN = 5
_MAX_TRIES = 200  # draws per fill before a duplicate text is accepted (slot space exhausted)

_SLOT = re.compile(r"\{(\w+)\}")
_GENERATED = ("phone", "ref", "last4")
_DIGITS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "zh": tuple("零幺二三四五六七八九"),
}
_EN_TOLL_FREE = ("eight hundred", "eight eight eight", "eight seven seven", "eight six six")


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise RcbError(f"unknown script language {language!r}; valid languages: {', '.join(LANGUAGES)}")


@functools.cache
def _load(language: str) -> dict[str, Any]:
    """Parse and validate ``template_data/{language}.yaml``."""
    _check_language(language)
    name = f"template_data/{language}.yaml"
    raw = resources.files("robocall_bench.scripts").joinpath(name).read_bytes()
    data = yaml.safe_load(decode_text(raw, f"robocall_bench/scripts/{name}"))
    shared = data.get("slots") or {}
    domains = data.get("domains") or {}
    if set(domains) != set(DOMAINS):
        raise RcbError(f"{name}: domains {sorted(domains)} != expected {sorted(DOMAINS)}")
    for domain, spec in domains.items():
        templates = spec.get("templates") or []
        if len(templates) < MIN_TEMPLATES_PER_DOMAIN or len(set(templates)) != len(templates):
            raise RcbError(f"{name}: {domain} needs >= {MIN_TEMPLATES_PER_DOMAIN} distinct templates")
        slots = {**shared, **(spec.get("slots") or {})}
        for slot, values in slots.items():
            if not values or not all(isinstance(v, str) and v for v in values):
                raise RcbError(f"{name}: {domain} slot {slot!r} must be a non-empty list of strings")
        for tpl in templates:
            for slot in _SLOT.findall(tpl):
                if slot not in slots and slot not in _GENERATED:
                    raise RcbError(f"{name}: {domain} template uses unknown slot {{{slot}}}: {tpl[:60]}...")
    return data


def _digits(language: str, rng: np.random.Generator, n: int) -> list[str]:
    return [_DIGITS[language][int(d)] for d in rng.integers(0, 10, size=n)]


def _generate(slot: str, language: str, rng: np.random.Generator) -> str:
    """Values that are drawn rather than listed: fictitious phone numbers and digit strings."""
    if slot == "phone":  # always in the fictional 555-01xx range
        last = _digits(language, rng, 2)
        if language == "en":
            prefix = _EN_TOLL_FREE[int(rng.integers(len(_EN_TOLL_FREE)))]
            return f"one {prefix}, five five five, zero one {' '.join(last)}"
        return "五五五、零幺" + "".join(last)
    n = 6 if slot == "ref" else 4
    sep = " " if language == "en" else ""
    return sep.join(_digits(language, rng, n))


def _capitalize_sentences(text: str) -> str:
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def _fill(template: str, slots: dict[str, list[str]], language: str, rng: np.random.Generator) -> str:
    values: dict[str, str] = {}
    for slot in dict.fromkeys(_SLOT.findall(template)):  # unique, in order of appearance
        if slot in slots:
            values[slot] = slots[slot][int(rng.integers(len(slots[slot])))]
        else:
            values[slot] = _generate(slot, language, rng)
    text = _SLOT.sub(lambda m: values[m.group(1)], template)
    return _capitalize_sentences(text) if language == "en" else text


def template_texts(language: str, domain: str) -> tuple[str, ...]:
    """The raw templates (with ``{slot}`` placeholders) of one language and domain, in family order."""
    _check_domains([domain])
    return tuple(_load(language)["domains"][domain]["templates"])


def _check_domains(domains: list[str]) -> None:
    bad = [d for d in domains if d not in DOMAINS]
    if bad:
        raise RcbError(f"unknown robocall domain(s) {bad}; valid domains: {', '.join(DOMAINS)}")


def generate_templates(
    language: str, n_per_domain: int, seed: int, domains: list[str] | None = None
) -> list[Script]:
    """``n_per_domain`` filled robocall scripts for each domain (all of :data:`DOMAINS` by default).

    Templates are cycled within a domain, so each gets ``n_per_domain / num_templates`` fills (the
    first ones one more when it does not divide). Family: ``tpl-{language}-{domain}-{NN}``; text_id:
    ``{family}-{KKKK}`` with K counting fills of that template. The same arguments always return
    the same list; texts within one template are distinct unless its slot space is exhausted.
    """
    _check_language(language)
    if isinstance(n_per_domain, bool) or not isinstance(n_per_domain, int) or n_per_domain < 0:
        raise RcbError(f"n_per_domain must be a non-negative integer, got {n_per_domain!r}")
    chosen = list(DOMAINS) if domains is None else list(dict.fromkeys(domains))
    _check_domains(chosen)
    data = _load(language)
    out: list[Script] = []
    for domain in chosen:
        spec = data["domains"][domain]
        templates: list[str] = spec["templates"]
        slots = {**(data.get("slots") or {}), **(spec.get("slots") or {})}
        rngs = [rng_for(seed, "templates", language, domain, t) for t in range(len(templates))]
        seen: list[set[str]] = [set() for _ in templates]
        for i in range(n_per_domain):
            t = i % len(templates)
            for _ in range(_MAX_TRIES):
                text = _fill(templates[t], slots, language, rngs[t])
                if text not in seen[t]:
                    break
            seen[t].add(text)
            family = f"tpl-{language}-{domain}-{t:02d}"
            out.append(
                Script(
                    text_id=f"{family}-{i // len(templates):04d}",
                    text=text,
                    language=language,
                    family=family,
                    origin="template",
                    domain=domain,
                )
            )
    return out


# --- sentence splitting --------------------------------------------------------------------------

_CLOSERS = "\"'”’)]」』）"
_EN_END = re.compile(rf"(?:[.!?]+|…+)[{re.escape(_CLOSERS)}]*(?=\s|$)")
_ZH_END = re.compile(rf"(?:[。！？!?]+|…+|\.(?=[\s{re.escape(_CLOSERS)}]|$))[{re.escape(_CLOSERS)}]*")
_EN_ABBREV = frozenset(
    ["mr", "mrs", "ms", "dr", "prof", "st", "sgt", "capt", "lt", "gen", "rev", "hon", "jr", "sr", "vs"]
)


def _is_abbreviation(before: str) -> bool:
    words = before.split()
    if not words:
        return False
    word = words[-1].lstrip(_CLOSERS + "(")
    return word.lower() in _EN_ABBREV or re.fullmatch(r"(?:[A-Z]\.)*[A-Z]", word) is not None


def split_sentences(text: str, language: str) -> list[str]:
    """Split ``text`` into sentences, each keeping its end punctuation (and closing quotes).

    English: a sentence ends at ``.``, ``!``, ``?`` or ``…`` followed by whitespace or the end,
    unless the next word starts lower-case or the period follows a title (``Mr.``, ``Dr.``) or an
    initial (``J.``, ``U.S.``). Chinese: at ``。！？!?…`` anywhere, and at ``.`` before a space.
    Whitespace runs are collapsed; text after the last end mark is the last sentence.
    """
    _check_language(language)
    text = " ".join(text.split())
    pattern = _EN_END if language == "en" else _ZH_END
    out: list[str] = []
    start = 0
    for m in pattern.finditer(text):
        if language == "en":
            rest = text[m.end() :].lstrip()
            if rest[:1].islower():
                continue
            if m.group().startswith(".") and _is_abbreviation(text[start : m.start()]):
                continue
        piece = text[start : m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out
