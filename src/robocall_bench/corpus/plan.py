"""The corpus plan: every utterance decided up front (split, track, system, text, codec, lengths).

The plan depends only on the config, the seed and the scanned inputs, so every worker and
every SLURM shard recomputes the same plan and renders its own part of it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..contract import EVAL_TRACKS, SPLITS
from ..errors import RcbError
from ..scripts.base import Script
from ..seeding import derive_seed, rng_for
from ..sources.base import SourceItem

# Characters per second of TTS speech, used only to pick enough script text for a target length.
CHARS_PER_S = {"en": 14.0, "zh": 4.5}


@dataclass(frozen=True)
class PlanConfig:
    """Knobs of the plan (``plan:`` in the corpus config)."""

    split_fractions: tuple[float, float, float] = (0.6, 0.15, 0.25)
    track_fractions: tuple[float, float, float] = (0.5, 0.25, 0.25)
    target_s: tuple[float, float] = (2.5, 5.5)
    pad_s: tuple[float, float] = (0.1, 0.6)
    window_margin_s: float = 1.0
    human_per_source: dict[str, int | None] = field(default_factory=dict)
    max_rendition_fraction: float = 0.5
    script_origin_weights: dict[str, float] = field(default_factory=lambda: {"ftc": 0.5, "template": 0.5})


@dataclass(frozen=True)
class UttPlan:
    """One utterance to render. ``key`` is the internal unique key; ``utt_id`` is blind to the label.

    Every robocall is paired with one human utterance of the same split, language and track
    (``pair`` holds the partner's utt_id); a pair is rendered together and cut to a common
    length, so duration cannot separate the classes.
    """

    utt_id: str
    key: str
    split: str
    track: str
    label: str
    language: str
    system: str
    speaker: str
    source: str
    text: str | None
    text_id: str
    family: str
    target_s: float
    pad_s: tuple[float, float]
    codec: str
    seed: int
    pair: str = ""
    item: SourceItem | None = None
    start: float = 0.0
    stop: float | None = None

    @property
    def path(self) -> str:
        return f"audio/{self.split}/{self.utt_id}.flac"


def blind_id(seed: int, key: str) -> str:
    """A label-blind utterance id: "rcb_" + 12 hex digits of sha256(seed, key)."""
    return "rcb_" + hashlib.sha256(f"{seed}|{key}".encode()).hexdigest()[:12]


def assign_groups(
    groups: Sequence[str], weights: Sequence[float], fractions: Sequence[float], rng
) -> dict[str, str]:
    """Assign group ids (speakers, families) to splits so split weight totals follow ``fractions``.

    Groups are visited in a seeded random order and each goes to the split furthest below its
    share; with >= 3 groups every split gets at least one.
    """
    order = rng.permutation(len(groups))
    total = float(sum(weights)) or 1.0
    have = np.zeros(len(SPLITS))
    out: dict[str, str] = {}
    frac = np.asarray(fractions, dtype=float)
    for rank, i in enumerate(order):
        if rank < len(SPLITS) and len(groups) >= len(SPLITS):
            s = [0, 2, 1][rank]  # seed train, eval, dev first so none is empty
        elif len(groups) < len(SPLITS):
            s = [0, 2][rank % 2]  # two groups (e.g. two AISHELL speakers): train and eval
        else:
            s = int(np.argmax(frac - have / total))
        out[groups[i]] = SPLITS[s]
        have[s] += weights[i]
    return out


def human_windows(item: SourceItem, cfg: PlanConfig, rng) -> list[tuple[float, float | None, float]]:
    """Cut a long recording into (start, stop, target) windows; short ones give one window."""
    lo, hi = cfg.target_s
    if item.duration <= hi + cfg.window_margin_s:
        return [(0.0, None, float(rng.uniform(lo, hi)))]
    out, pos = [], 0.0
    while item.duration - pos >= lo:
        t = float(rng.uniform(lo, hi))
        stop = min(item.duration, pos + t + cfg.window_margin_s)
        out.append((round(pos, 3), round(stop, 3), t))
        pos = stop
    return out


def script_chunk(script: Script, target_s: float, rng, split_sentences) -> str:
    """Enough whole sentences of ``script`` (from a drawn start) to fill ``target_s`` plus 2.5 s (fast voices)."""
    sents = split_sentences(script.text, script.language) or [script.text]
    need = (target_s + 2.5) * CHARS_PER_S.get(script.language, 12.0)
    start = int(rng.integers(0, len(sents))) if rng.random() < 0.3 else 0
    out: list[str] = []
    for s in sents[start:] + sents[:start]:
        out.append(s)
        if sum(map(len, out)) >= need:
            break
    return " ".join(out) if script.language != "zh" else "".join(out)


def eval_tracks(human: list[UttPlan], cfg: PlanConfig, seed: int) -> list[UttPlan]:
    """Give eval humans their per-call tracks (the first three of EVAL_TRACKS) by quota (per language and source, seeded order), so even a
    tiny corpus has every track; robocalls later inherit the track of their paired human."""
    out = list(human)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, u in enumerate(human):
        if u.split == "eval":
            groups[(u.language, u.source)].append(i)
    for (lang, src), idx in sorted(groups.items()):
        order = rng_for(seed, "tracks", lang, src).permutation(len(idx))
        cuts = np.round(np.cumsum(cfg.track_fractions) * len(idx)).astype(int)
        for rank, j in enumerate(order):
            out[idx[j]] = replace(
                out[idx[j]], track=EVAL_TRACKS[:3][int(np.searchsorted(cuts, rank, side="right"))]
            )
    return out


class _Cycler:
    """Draw from a pool without repeats until exhausted, then reshuffle (balanced usage)."""

    def __init__(self, pool: Sequence, rng) -> None:
        self.pool, self.rng, self.queue = list(pool), rng, []

    def __call__(self):
        if not self.pool:
            raise RcbError("internal: empty pool")
        if not self.queue:
            self.queue = [self.pool[i] for i in self.rng.permutation(len(self.pool))]
        return self.queue.pop()


def make_plan(
    seed: int,
    cfg: PlanConfig,
    items: list[SourceItem],
    scripts: list[Script],
    systems: dict[str, list[str]],
    eval_only_systems: set[str],
    codecs: dict[str, float],
    eval_only_codecs: set[str],
    split_sentences,
) -> list[UttPlan]:
    """Plan the whole corpus. ``systems``: language -> TTS system ids; ``codecs``: name -> weight."""
    utts: list[UttPlan] = []
    seen_codecs = [c for c in codecs if c not in eval_only_codecs]
    unseen_codecs = [c for c in codecs if c in eval_only_codecs]
    if not seen_codecs or not unseen_codecs:
        raise RcbError(
            f"protocol.eval_only_codecs={sorted(eval_only_codecs)} must name at least one but not all of the "
            f"channel's codecs {sorted(codecs)}"
        )
    cw = np.array([codecs[c] for c in seen_codecs], float)

    def draw_codec(track: str, rng) -> str:
        if track == "unseen-channel":
            return str(rng.choice(unseen_codecs))
        return str(rng.choice(seen_codecs, p=cw / cw.sum()))

    # --- human side: speakers -> splits, windows, sampling per source
    by_source: dict[str, list[SourceItem]] = defaultdict(list)
    for it in items:
        by_source[it.source].append(it)
    human: list[UttPlan] = []
    for src in sorted(by_source):
        its = by_source[src]
        spk_dur: dict[str, float] = defaultdict(float)
        for it in its:
            spk_dur[it.speaker] += it.duration
        spks = sorted(spk_dur)
        split_of = assign_groups(
            spks, [spk_dur[s] for s in spks], cfg.split_fractions, rng_for(seed, "spk", src)
        )
        cands = []
        for it in its:
            for k, (a, b, t) in enumerate(human_windows(it, cfg, rng_for(seed, "win", it.item_id))):
                cands.append((f"human|{it.item_id}|{k}", it, a, b, t))
        n = cfg.human_per_source.get(src)
        rng = rng_for(seed, "sample", src)
        if n is not None and n < len(cands):
            cands = [cands[i] for i in sorted(rng.choice(len(cands), size=int(n), replace=False))]
        for key, it, a, b, t in cands:
            r = rng_for(seed, key)
            split = split_of[it.speaker]
            human.append(
                UttPlan(
                    utt_id=blind_id(seed, key), key=key, split=split, track=split, label="human",
                    language=it.language, system="human", speaker=it.speaker, source=src, text=it.text,
                    text_id=f"{it.item_id}" if it.text else "-", family="-", target_s=round(t, 3),
                    pad_s=tuple(round(float(p), 3) for p in r.uniform(*cfg.pad_s, size=2)),
                    codec="", seed=derive_seed(seed, key, "render"), item=it, start=a, stop=b,
                )
            )  # fmt: skip
    human = [
        replace(u, codec=draw_codec(u.track, rng_for(seed, u.key, "codec")))
        for u in eval_tracks(human, cfg, seed)
    ]
    utts += human

    # --- script families -> splits (per language and origin, weighted by script count)
    fam_split: dict[str, str] = {}
    fams: dict[tuple[str, str], dict[str, list[Script]]] = defaultdict(lambda: defaultdict(list))
    for s in scripts:
        fams[(s.language, s.origin)][s.family].append(s)
    for (lang, origin), fm in sorted(fams.items()):
        names = sorted(fm)
        fam_split.update(
            assign_groups(
                names, [len(fm[f]) for f in names], cfg.split_fractions, rng_for(seed, "fam", lang, origin)
            )
        )

    # --- robocall side: as many as human per (split, language, track), same track mix
    for split in SPLITS:
        for lang in sorted({u.language for u in human}):
            hs = [u for u in human if u.split == split and u.language == lang]
            if not hs:
                continue
            if not systems.get(lang):
                raise RcbError(
                    f"no TTS system speaks language {lang!r}; add one under configs/tts/ (tts.systems=...)"
                )
            rng = rng_for(seed, "robo", split, lang)
            seen = [s for s in systems[lang] if s not in eval_only_systems]
            unseen = [s for s in systems[lang] if s in eval_only_systems]
            if not seen:
                raise RcbError(f"every {lang!r} TTS system is eval-only; leave at least one for training")
            pick_seen, pick_unseen = _Cycler(seen, rng), _Cycler(unseen or seen, rng)
            texts = [(u.text_id, u.text) for u in hs if u.text]
            frac = min(cfg.max_rendition_fraction, len(texts) / len(hs))
            pick_text = _Cycler(texts, rng) if texts else None
            fam_pickers = {}
            for origin, w in cfg.script_origin_weights.items():
                fm = fams.get((lang, origin), {})
                mine = [fm[f] for f in sorted(fm) if fam_split[f] == split]
                if mine and w > 0:
                    fam_pickers[origin] = (_Cycler(mine, rng), w)
            origins = sorted(fam_pickers)
            ow = np.array([fam_pickers[o][1] for o in origins], float)
            for k, h in enumerate(hs):
                key = f"robocall|{split}|{lang}|{k}"
                r = rng_for(seed, key)
                track = h.track
                system = pick_unseen() if track == "unseen-systems" else pick_seen()
                target = h.target_s  # the pair is cut to a common length when rendered
                if pick_text and (r.random() < frac or not origins):
                    tid, text = pick_text()
                    fam, origin = f"text:{tid}", "rendition"
                elif origins:
                    origin = str(r.choice(origins, p=ow / ow.sum()))
                    family = fam_pickers[origin][0]()
                    sc = family[int(r.integers(len(family)))]
                    tid, fam, text = sc.text_id, sc.family, script_chunk(sc, target, r, split_sentences)
                else:
                    raise RcbError(f"no robocall scripts or human texts for {lang!r} in split {split}")
                utts.append(
                    UttPlan(
                        utt_id=blind_id(seed, key), key=key, split=split, track=track, label="robocall",
                        language=lang, system=system, speaker=system, source=origin, text=text, text_id=tid,
                        family=fam, target_s=round(target, 3),
                        pad_s=tuple(round(float(p), 3) for p in r.uniform(*cfg.pad_s, size=2)),
                        codec=draw_codec(track, r), seed=derive_seed(seed, key, "render"), pair=h.utt_id,
                    )
                )  # fmt: skip
    partner = {u.pair: u.utt_id for u in utts if u.pair}
    utts = [replace(u, pair=partner[u.utt_id]) if u.label == "human" else u for u in utts]
    utts.sort(key=lambda u: (SPLITS.index(u.split), u.utt_id))
    if len({u.utt_id for u in utts}) != len(utts):
        raise RcbError("internal: utterance id collision; change the seed")
    return utts
