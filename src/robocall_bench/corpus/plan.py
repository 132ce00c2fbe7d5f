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

from ..contract import PER_CALL_TRACKS, SPLITS
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
    # Share of each split's speakers (of sources with >= voice_min_speakers speakers) held aside as
    # recorded/vocoded voices: they never call live in that split.
    voice_fraction: float = 0.0
    voice_min_speakers: int = 20


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
    role: str = "live"  # live (human), tts (incl. vocoded), recorded (a human recording a dialer plays)
    campaign: str = "-"  # campaign id ("-" for live calls; a one-call campaign for a per-call robocall)
    message: str = "-"  # message id: what the dialer plays (campaign calls share it)
    insert: SourceItem | None = None  # a campaign call's personalised insert (e.g. spoken digits)

    @property
    def path(self) -> str:
        return f"audio/{self.split}/{self.utt_id}.flac"


def blind_id(seed: int, key: str) -> str:
    """A label-blind utterance id: "rcb_" + 12 hex digits of sha256(seed, key)."""
    return "rcb_" + hashlib.sha256(f"{seed}|{key}".encode()).hexdigest()[:12]


def solo_campaign(utt_id: str) -> str:
    """The one-call campaign (and message) id of a per-call robocall: heard once."""
    return "solo_" + utt_id.removeprefix("rcb_")


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


def speaker_splits(items: list[SourceItem], cfg: PlanConfig, seed: int) -> dict[str, str]:
    """speaker -> split for every speaker of ``items``, per source, balanced by speech duration."""
    by_source: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for it in items:
        by_source[it.source][it.speaker] += it.duration
    out: dict[str, str] = {}
    for src in sorted(by_source):
        dur = by_source[src]
        spks = sorted(dur)
        out.update(assign_groups(spks, [dur[k] for k in spks], cfg.split_fractions, rng_for(seed, "spk", src)))
    return out


def voice_speakers(items: list[SourceItem], split_of: dict[str, str], cfg: PlanConfig, seed: int) -> set[str]:
    """Speakers held aside in their split as recorded (or vocoded) voices, never live callers there.

    Only sources with >= ``voice_min_speakers`` speakers give voices (a two-speaker source keeps
    both live); within each (source, split) a seeded ``voice_fraction`` of speakers, at least one.
    """
    if cfg.voice_fraction <= 0:
        return set()
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for it in items:
        groups[(it.source, split_of[it.speaker])].add(it.speaker)
    n_src: dict[str, int] = defaultdict(int)
    for (src, _), spk in groups.items():
        n_src[src] += len(spk)
    out: set[str] = set()
    for (src, split), spk in sorted(groups.items()):
        if n_src[src] < cfg.voice_min_speakers:
            continue
        order = sorted(spk)
        k = max(1, round(cfg.voice_fraction * len(order)))
        pick = rng_for(seed, "voices", src, split).permutation(len(order))[:k]
        out.update(order[i] for i in pick)
    return out


def family_splits(
    scripts: list[Script], cfg: PlanConfig, seed: int
) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, list[Script]]]]:
    """(family -> split, (language, origin) -> family -> scripts): families assigned per language
    and origin, weighted by script count."""
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
    return fam_split, fams


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
    """Give eval humans their per-call tracks (PER_CALL_TRACKS) by quota (per language and source, seeded order), so even a
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
                out[idx[j]], track=PER_CALL_TRACKS[int(np.searchsorted(cuts, rank, side="right"))]
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
    copy_systems: frozenset[str] = frozenset(),
) -> list[UttPlan]:
    """Plan the per-call tracks. ``systems``: language -> TTS system ids; ``codecs``: name -> weight;
    ``copy_systems``: the systems that resynthesise a held-aside human recording (vocoders) instead
    of reading a text; they speak only where a split has held-aside voices."""
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
    split_of = speaker_splits(items, cfg, seed)
    voices = voice_speakers(items, split_of, cfg, seed)
    by_source: dict[str, list[SourceItem]] = defaultdict(list)
    voice_items: dict[tuple[str, str], list[SourceItem]] = defaultdict(list)  # (split, language)
    for it in items:
        if it.speaker in voices:
            voice_items[(split_of[it.speaker], it.language)].append(it)
        else:
            by_source[it.source].append(it)
    human: list[UttPlan] = []
    for src in sorted(by_source):
        its = by_source[src]
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
    fam_split, fams = family_splits(scripts, cfg, seed)

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
            have_voices = bool(voice_items.get((split, lang)))
            usable = [s for s in systems[lang] if s not in copy_systems or have_voices]
            seen = [s for s in usable if s not in eval_only_systems]
            unseen = [s for s in usable if s in eval_only_systems]
            pick_voice = _Cycler(voice_items[(split, lang)], rng) if have_voices else None
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
                voice, start, stop = None, 0.0, None
                if system in copy_systems:
                    assert pick_voice is not None
                    voice = pick_voice()
                    span = target + cfg.window_margin_s
                    start = round(float(r.uniform(0.0, max(0.0, voice.duration - span))), 3)
                    stop = round(min(voice.duration, start + span), 3)
                    tid, fam, text, origin = voice.item_id, f"text:{voice.item_id}", voice.text, "vocoded"
                elif pick_text and (r.random() < frac or not origins):
                    tid, text = pick_text()
                    fam, origin = f"text:{tid}", "rendition"
                elif origins:
                    origin = str(r.choice(origins, p=ow / ow.sum()))
                    family = fam_pickers[origin][0]()
                    sc = family[int(r.integers(len(family)))]
                    tid, fam, text = sc.text_id, sc.family, script_chunk(sc, target, r, split_sentences)
                else:
                    raise RcbError(f"no robocall scripts or human texts for {lang!r} in split {split}")
                uid = blind_id(seed, key)
                utts.append(
                    UttPlan(
                        utt_id=uid, key=key, split=split, track=track, label="robocall",
                        language=lang, system=system, speaker=voice.speaker if voice else system, source=origin,
                        text=text, text_id=tid, family=fam, target_s=round(target, 3),
                        pad_s=tuple(round(float(p), 3) for p in r.uniform(*cfg.pad_s, size=2)),
                        codec=draw_codec(track, r), seed=derive_seed(seed, key, "render"), pair=h.utt_id,
                        item=voice, start=start, stop=stop, role="tts", campaign=solo_campaign(uid),
                        message=solo_campaign(uid),
                    )
                )  # fmt: skip
    partner = {u.pair: u.utt_id for u in utts if u.pair}
    utts = [replace(u, pair=partner[u.utt_id]) if u.label == "human" else u for u in utts]
    utts.sort(key=lambda u: (SPLITS.index(u.split), u.utt_id))
    if len({u.utt_id for u in utts}) != len(utts):
        raise RcbError("internal: utterance id collision; change the seed")
    return utts
