"""The campaign plan: messages played in many calls, and the live calls they are scored against.

A campaign is one message (8-30 s) that a dialer plays in many calls: joined voice-talent IVR
prompts (eval only: the one US English talent measures generalisation), a held-aside human
recording, one TTS rendition, or one vocoded copy of a held-aside recording. Calls per campaign
follow a truncated power law (many campaigns of 2-5 calls, a few of hundreds). Every call draws its
own channel, a pick-up offset (the message starts mid-way) and a hang-up (truncation), and may
carry a personalised insert (spoken digits) that differs per call.

Each campaign call is paired with a live call of the same split and language and both are cut to a
common length, as in the per-call tracks, so duration cannot separate the classes. Live calls are
each unique, and include hard negatives: the same speaker calling several times, and the same
digits re-spoken by the same speaker (other FSDD takes), which are not replays.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..contract import CAMPAIGN_TRACK, SPLITS
from ..errors import RcbError
from ..scripts.base import Script
from ..seeding import derive_seed, rng_for
from ..sources.base import SourceItem
from .plan import CHARS_PER_S, PlanConfig, UttPlan, blind_id, speaker_splits, voice_speakers

KINDS = ("voice_talent", "recording", "tts", "vocoded")
KIND_ROLE = {"voice_talent": "recorded", "recording": "recorded", "tts": "tts", "vocoded": "tts"}
DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class CampaignConfig:
    """``campaigns:`` of the corpus config."""

    enabled: bool = False
    calls: dict[str, int] = field(default_factory=dict)  # campaign calls per split (as many live calls)
    size_alpha: float = 1.7  # P(k calls) ~ k**-alpha on [size_min, size_max]
    size_min: int = 2
    size_max: int = 200
    message_s: tuple[float, float] = (8.0, 30.0)
    call_s: tuple[float, float] = (5.0, 12.0)  # drawn call length (both classes)
    pickup_s: tuple[float, float] = (0.0, 4.0)  # how far into the message the callee picks up
    kinds: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> kind -> weight
    voice_talent_sources: tuple[str, ...] = ()  # source names whose items are voice-talent prompts
    insert_p: float = 0.5  # share of voice-talent campaigns with a per-call spoken-digit insert
    insert_digits: tuple[int, int] = (3, 5)
    respoken_fraction: float = 0.3  # live calls that re-speak another live call's digits (FSDD)
    gap_s: tuple[float, float] = (0.25, 0.6)  # pause between joined prompts/utterances


@dataclass(frozen=True)
class MessagePlan:
    """One message, rendered once and played in every call of its campaign.

    ``item``: the recordings joined (voice talent, recording, vocoded source), else None (tts);
    ``insert_after``: how many of ``item``'s files precede the per-call insert (None: no insert).
    """

    message: str
    campaign: str
    split: str
    kind: str
    role: str
    system: str
    speaker: str
    language: str
    text: str | None
    text_id: str
    family: str
    target_s: float
    seed: int
    item: SourceItem | None = None
    insert_after: int | None = None
    n_calls: int = 0

    def path(self, part: str) -> str:
        """Where the rendered part ("a" before the insert, "b" after) is cached in the corpus folder."""
        return f".messages/{self.split}/{self.message}.{part}.flac"


def campaign_sizes(n_calls: int, cfg: CampaignConfig, rng) -> list[int]:
    """Calls per campaign summing to ``n_calls``: truncated power-law draws, the remainder merged."""
    ks = np.arange(cfg.size_min, cfg.size_max + 1)
    p = ks.astype(float) ** -cfg.size_alpha
    p /= p.sum()
    out: list[int] = []
    while sum(out) < n_calls:
        out.append(int(min(rng.choice(ks, p=p), n_calls - sum(out))))
    if len(out) > 1 and out[-1] < cfg.size_min:
        rest = out.pop()
        out[-1] += rest
    return out


def join_items(items: list[SourceItem], key: str, gaps: list[float], text_sep: str = " ") -> SourceItem:
    """One item reading ``items`` (whole files) in order with ``gaps`` seconds between them."""
    files = tuple(f for it in items for f in it.files)
    inner: list[float] = []
    for i, it in enumerate(items):
        inner += list(it.gaps) or [0.0] * (len(it.files) - 1)
        if i < len(items) - 1:
            inner.append(gaps[i])
    texts = [it.text for it in items if it.text]
    return SourceItem(
        item_id=key, source=items[0].source, speaker=items[0].speaker, language=items[0].language,
        files=files, duration=sum(it.duration for it in items) + sum(inner), text=text_sep.join(texts) or None,
        gaps=tuple(round(g, 3) for g in inner), trim_clips=True,
    )  # fmt: skip


def _fill(pool: list[SourceItem], need_s: float, rng, most: int = 8) -> list[SourceItem]:
    """Draw items (without repeats) from ``pool`` until their total reaches ``need_s`` seconds."""
    out: list[SourceItem] = []
    for i in rng.permutation(len(pool)):
        out.append(pool[i])
        if sum(it.duration for it in out) >= need_s or len(out) >= most:
            break
    return out


def _digit_clips(items: list[SourceItem]) -> dict[str, dict[str, list[str]]]:
    """speaker -> digit -> clip files, from FSDD-style items (``{digit}_{speaker}_{take}.wav``)."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for it in items:
        for f in it.files:
            stem = Path(f).stem.split("_")
            if len(stem) == 3 and stem[0] in DIGITS and stem[2].isdigit():
                out[it.speaker][stem[0]].append(f)
    return out


def _talent_digits(items: list[SourceItem]) -> dict[str, str]:
    """digit -> the voice talent's prompt file for it (``digits/0.wav`` ...)."""
    return {Path(f).stem: f for it in items for f in it.files if Path(f).parent.name == "digits"
            and Path(f).stem in DIGITS}  # fmt: skip


class LivePool:
    """Live material of one split and language: each second of speech used by one live call only.

    ``call(need_s, key, rng)`` joins unused items of one speaker (speakers drawn with repeats, so
    the same person calls several times); ``respoken(...)`` re-speaks a digit string another live
    call said, from other takes of the same speaker.
    """

    def __init__(self, items: list[SourceItem], gap_s: tuple[float, float]) -> None:
        self.by_spk: dict[str, list[SourceItem]] = defaultdict(list)
        for it in sorted(items, key=lambda i: i.item_id):
            self.by_spk[it.speaker].append(it)
        self.used: set[str] = set()
        self.gap_s = gap_s
        self.digits = _digit_clips(items)
        self.said: list[tuple[str, list[str]]] = []  # (speaker, digits) of digit-string live calls
        self.cursor: dict[str, float] = {}  # file -> seconds of it used by windows so far

    def _left(self, it: SourceItem) -> float:
        """Unused seconds of ``it``: all of it, what follows the cursor of a windowed recording, or 0."""
        if any(f in self.used for f in it.files):
            return 0.0
        return it.duration - self.cursor.get(it.files[0], 0.0) if len(it.files) == 1 else it.duration

    def free_s(self) -> float:
        """Seconds of live speech not used yet."""
        return sum(self._left(i) for its in self.by_spk.values() for i in its)

    def _free(self, spk: str) -> list[SourceItem]:
        """Items of ``spk`` not touched yet (whole)."""
        return [i for i in self.by_spk[spk] if self._left(i) == i.duration and i.files[0] not in self.cursor]

    def call(self, need_s: float, key: str, rng) -> tuple[SourceItem, float, float | None] | None:
        """(item, start, stop) of a new live call of about ``need_s`` seconds, or None when none is left.

        A speaker with enough unused speech is drawn (repeats allowed: the same person calls again);
        a long recording of theirs gives a window (the rest stays for later calls), else unused
        whole items of theirs are joined.
        """

        def usable(spk: str) -> bool:  # one long enough recording to window, or enough untouched items
            return (
                any(len(i.files) == 1 and self._left(i) >= need_s for i in self.by_spk[spk])
                or sum(i.duration for i in self._free(spk)) >= need_s
            )

        spks = [s for s in sorted(self.by_spk) if usable(s)]
        if not spks:  # what is left are fragments shorter than a call: the pool is used up
            return None
        spk = spks[int(rng.integers(len(spks)))]
        longs = [i for i in self.by_spk[spk] if len(i.files) == 1 and self._left(i) >= need_s]
        if longs:
            it = longs[int(rng.integers(len(longs)))]
            start = self.cursor.get(it.files[0], 0.0)
            stop = start + need_s
            self.cursor[it.files[0]] = stop
            return it, round(start, 3), round(stop, 3)
        parts = _fill(self._free(spk), need_s, rng, most=64)
        for it in parts:
            self.used.update(it.files)
        out = join_items(parts, key, list(rng.uniform(*self.gap_s, size=len(parts))))
        digits = [Path(f).stem.split("_")[0] for f in out.files]
        if spk in self.digits and all(d in DIGITS for d in digits):
            self.said.append((spk, digits))
        return out, 0.0, None

    def respoken(self, key: str, rng, need_s: float = 0.0) -> tuple[SourceItem, float, float | None] | None:
        """Other takes of a digit string a live call already said (about ``need_s`` seconds or more,
        at ~0.5 s a digit), by the same speaker: a re-spoken take, not a replay."""
        for j in rng.permutation(len(self.said)):
            spk, digits = self.said[j]
            if 0.5 * len(digits) < 0.8 * need_s:
                continue
            files: list[str] = []
            for d in digits:
                free = [f for f in self.digits[spk][d] if f not in self.used and f not in files]
                if not free:
                    break
                files.append(free[int(rng.integers(len(free)))])
            if len(files) == len(digits):
                self.used.update(files)
                from ..sources.fsdd import DIGIT_WORDS

                gaps = tuple(round(float(g), 3) for g in rng.uniform(0.05, 0.25, size=len(files) - 1))
                text = ", ".join(DIGIT_WORDS[int(d)] for d in digits).capitalize() + "."
                return SourceItem(
                    item_id=key, source=spk.split(":")[0], speaker=spk, language="en", files=tuple(files),
                    duration=0.5 * len(files) + sum(gaps), text=text, gaps=gaps, trim_clips=True,
                ), 0.0, None  # fmt: skip
        return None


def _script_text(scripts: list[Script], target_s: float, rng, split_sentences) -> tuple[Script, str]:
    """A script and enough of its sentences (repeated if short) for a ``target_s`` message."""
    sc = scripts[int(rng.integers(len(scripts)))]
    sents = split_sentences(sc.text, sc.language) or [sc.text]
    need = target_s * CHARS_PER_S.get(sc.language, 12.0)
    out: list[str] = []
    while sum(map(len, out)) < need and len(out) < 60:
        out.append(sents[len(out) % len(sents)])
    return sc, (" " if sc.language != "zh" else "").join(out)


def make_campaigns(
    seed: int,
    cfg: CampaignConfig,
    pcfg: PlanConfig,
    items: list[SourceItem],
    talent: list[SourceItem],
    scripts: list[Script],
    fam_split: dict[str, str],
    systems: dict[str, list[str]],
    copy_systems: frozenset[str],
    eval_only_systems: set[str],
    codecs: dict[str, float],
    eval_only_codecs: set[str],
    split_sentences,
) -> tuple[list[MessagePlan], list[UttPlan]]:
    """Plan every split's campaigns: (messages, call rows), each campaign call paired with a live call."""
    if not cfg.enabled:
        return [], []
    split_of = speaker_splits(items, pcfg, seed)
    voices = voice_speakers(items, split_of, pcfg, seed)
    voice_pool: dict[tuple[str, str], list[SourceItem]] = defaultdict(list)
    live_items: dict[tuple[str, str], list[SourceItem]] = defaultdict(list)
    for it in items:
        (voice_pool if it.speaker in voices else live_items)[(split_of[it.speaker], it.language)].append(it)
    prompts = [it for it in talent if not any(Path(f).parent.name in ("digits", "letters") for f in it.files)]
    tdigits = _talent_digits(talent)
    messages: list[MessagePlan] = []
    calls: list[UttPlan] = []
    for split in SPLITS:
        n = int(cfg.calls.get(split, 0))
        if n <= 0:
            continue
        weights = {k: float(w) for k, w in (cfg.kinds.get(split) or {}).items() if w > 0}
        unknown = set(weights) - set(KINDS)
        if unknown:
            raise RcbError(
                f"campaigns.kinds.{split} names unknown kinds {sorted(unknown)}; valid: {list(KINDS)}"
            )
        if split != "eval":
            weights.pop("voice_talent", None)  # the one talent is an eval-only voice
        if not prompts:
            weights.pop("voice_talent", None)
        pools = {lang: LivePool(live_items[(split, lang)], cfg.gap_s) for lang in sorted(systems)}
        seen_codecs = {c: w for c, w in codecs.items() if split == "eval" or c not in eval_only_codecs}
        cn = sorted(seen_codecs)
        cw = np.array([seen_codecs[c] for c in cn], float)
        if not any(voice_pool.get((split, lang)) for lang in pools):
            weights.pop("recording", None)
            weights.pop("vocoded", None)
        if not weights:
            raise RcbError(f"campaigns: no message kind is possible in split {split}; check campaigns.kinds")
        # Each kind gets its share of the split's calls (sizes drawn within the kind), so one
        # heavy-tailed draw cannot give a kind all calls. English-only kinds first; tts last, in
        # whichever language has live speech left.
        total_w = sum(weights.values())
        plan_sizes = []
        for kind in [k for k in KINDS if k in weights]:
            share = round(n * weights[kind] / total_w)
            if share >= cfg.size_min:
                plan_sizes += [
                    (kind, k) for k in campaign_sizes(share, cfg, rng_for(seed, "sizes", split, kind))
                ]
        # interleaved, so that when the live speech of a language runs out no kind loses all its campaigns
        plan_sizes = [
            plan_sizes[i] for i in rng_for(seed, "campaign-order", split).permutation(len(plan_sizes))
        ]
        mean_call = sum(cfg.call_s) / 2 + pcfg.window_margin_s
        for c, (kind, size) in enumerate(plan_sizes):
            free = {lang: pool.free_s() for lang, pool in pools.items()}
            langs = [lang for lang, f in free.items() if f >= 2 * cfg.call_s[1]]
            if not langs:
                break  # the split's live speech is used up: fewer campaign calls than asked
            # English live speech the English-only kinds still to come will need: tts leaves it to them
            en_need = mean_call * sum(k for kd, k in plan_sizes[c + 1 :] if kd != "tts")
            free = {lang: max(0.0, f - en_need) if lang == "en" else f for lang, f in free.items()}
            msg = _message(seed, split, c, size, kind, cfg, langs, free, voice_pool, prompts, scripts, fam_split,
                           systems, copy_systems, eval_only_systems, split_sentences)  # fmt: skip
            if msg is None:
                continue
            pool = pools[msg.language]
            n_planned, first = 0, len(calls)
            for j in range(size):
                key = f"campaign|{split}|{c}|{j}"
                r = rng_for(seed, key)
                length = float(r.uniform(*cfg.call_s))
                live_key = f"live|{split}|{c}|{j}"
                need = length + pcfg.window_margin_s
                live: tuple | None = (
                    pool.respoken(live_key, r, need) if r.random() < cfg.respoken_fraction else None
                )
                got = live or pool.call(need, live_key, r)
                if got is None:  # every live file of this language is used: the campaign stays smaller
                    break
                live, live_start, live_stop = got
                n_planned += 1
                insert = None
                if msg.insert_after is not None:
                    k = int(r.integers(cfg.insert_digits[0], cfg.insert_digits[1] + 1))
                    ds = [str(d) for d in r.integers(0, 10, size=k)]
                    insert = SourceItem(
                        item_id=f"{key}|insert", source="insert", speaker=msg.speaker, language="en",
                        files=tuple(tdigits[d] for d in ds), duration=0.6 * k,
                        gaps=tuple(round(float(g), 3) for g in r.uniform(0.08, 0.2, size=k - 1)), trim_clips=True,
                        text=" ".join(ds),
                    )  # fmt: skip
                track = CAMPAIGN_TRACK if split == "eval" else f"{split}-campaign"
                uid, hid = blind_id(seed, key), blind_id(seed, live_key)
                codec = str(cn[int(r.choice(len(cn), p=cw / cw.sum()))])
                pads = [tuple(round(float(p), 3) for p in r.uniform(*pcfg.pad_s, size=2)) for _ in range(2)]
                calls.append(
                    UttPlan(
                        utt_id=uid, key=key, split=split, track=track, label="robocall", language=msg.language,
                        system=msg.system, speaker=msg.speaker, source=msg.kind, text=msg.text, text_id=msg.text_id,
                        family=msg.family, target_s=round(length, 3), pad_s=pads[0], codec=codec,
                        seed=derive_seed(seed, key, "render"), pair=hid,
                        start=round(float(r.uniform(*cfg.pickup_s)), 3), role=msg.role, campaign=msg.campaign,
                        message=msg.message, insert=insert,
                    )
                )  # fmt: skip
                calls.append(
                    UttPlan(
                        utt_id=hid, key=live_key, split=split, track=track, label="human", language=live.language,
                        system="human", speaker=live.speaker, source=live.source,
                        text=live.text if live_start == 0 and live_stop is None else None,  # a window: unknown words
                        text_id=live.item_id, family="-", target_s=round(length, 3), pad_s=pads[1],
                        codec=str(cn[int(r.choice(len(cn), p=cw / cw.sum()))]),
                        seed=derive_seed(seed, live_key, "render"), pair=uid, item=live, start=live_start,
                        stop=live_stop,
                    )
                )  # fmt: skip
            if n_planned >= cfg.size_min:
                messages.append(replace(msg, n_calls=n_planned))
            else:  # a campaign of one call is no campaign: drop it (its live speech stays used)
                del calls[first:]
    return messages, calls


def _message(seed, split, c, size, kind, cfg, langs, free, voice_pool, prompts, scripts, fam_split, systems,
             copy_systems, eval_only_systems, split_sentences) -> MessagePlan | None:  # fmt: skip
    """The message of campaign ``c`` of ``split``, of ``kind``; None when this split cannot make one."""
    key = f"message|{split}|{c}"
    r = rng_for(seed, key)
    target = float(r.uniform(*cfg.message_s))
    cid, mid = "cmp_" + blind_id(seed, f"c|{key}")[4:], "msg_" + blind_id(seed, key)[4:]
    base = dict(message=mid, campaign=cid, split=split, kind=kind, role=KIND_ROLE[kind], target_s=round(target, 3),
                seed=derive_seed(seed, key, "render"), n_calls=size)  # fmt: skip
    gaps = list(r.uniform(*cfg.gap_s, size=64))
    if kind == "voice_talent":
        parts = _fill(prompts, target + 2.0, r, most=40)
        item = join_items(parts, mid, gaps)
        ins = 1 if r.random() < cfg.insert_p and len(parts) > 1 else None
        return MessagePlan(system="voice-talent", speaker=item.speaker, language=item.language, text=item.text,
                           text_id=mid, family=f"msg:{mid}", item=item, insert_after=ins, **base)  # fmt: skip
    if kind in ("recording", "vocoded"):
        langs_v = [lang for lang in langs if voice_pool.get((split, lang))]
        if not langs_v:
            return None
        lang = langs_v[int(r.integers(len(langs_v)))]
        pool = voice_pool[(split, lang)]
        by_spk: dict[str, list[SourceItem]] = defaultdict(list)
        for it in pool:
            by_spk[it.speaker].append(it)
        spk = sorted(by_spk)[int(r.integers(len(by_spk)))]
        item = join_items(_fill(by_spk[spk], target + 1.0, r), mid, gaps)
        if kind == "recording":
            system = "recorded-human"
        else:
            cands = [s for s in sorted(copy_systems) if s in systems.get(lang, [])
                     and (split == "eval" or s not in eval_only_systems)]  # fmt: skip
            if not cands:
                return None
            system = cands[int(r.integers(len(cands)))]
        return MessagePlan(system=system, speaker=item.speaker, language=lang, text=item.text, text_id=mid,
                           family=f"msg:{mid}", item=item, **base)  # fmt: skip
    # tts: one rendition of a script of this split's families, in a language drawn by live speech left
    fw = np.array([free[lang] for lang in langs]) + 1e-9
    lang = langs[int(r.choice(len(langs), p=fw / fw.sum()))]
    mine = [s for s in scripts if s.language == lang and fam_split.get(s.family) == split]
    cands = [s for s in sorted(systems.get(lang, [])) if s not in copy_systems
             and (split == "eval" or s not in eval_only_systems)]  # fmt: skip
    if not mine or not cands:
        return None
    sc, text = _script_text(mine, target, r, split_sentences)
    system = cands[int(r.integers(len(cands)))]
    return MessagePlan(system=system, speaker=system, language=lang, text=text, text_id=sc.text_id,
                       family=sc.family, **base)  # fmt: skip


def campaign_summary(messages: list[MessagePlan]) -> dict:
    """The manifest's campaign plan: per split counts, the size distribution and every campaign."""
    out: dict = {"splits": {}, "campaigns": []}
    for split in SPLITS:
        ms = [m for m in messages if m.split == split]
        if not ms:
            continue
        sizes = np.array([m.n_calls for m in ms])
        kinds: dict[str, int] = defaultdict(int)
        for m in ms:
            kinds[m.kind] += m.n_calls
        out["splits"][split] = {
            "campaigns": len(ms), "calls": int(sizes.sum()), "calls_by_kind": dict(sorted(kinds.items())),
            "size": {"min": int(sizes.min()), "median": float(np.median(sizes)), "max": int(sizes.max()),
                     "2-5": int(((sizes >= 2) & (sizes <= 5)).sum()), "6-20": int(((sizes > 5) & (sizes <= 20)).sum()),
                     "21-100": int(((sizes > 20) & (sizes <= 100)).sum()), ">100": int((sizes > 100).sum())},
        }  # fmt: skip
    out["campaigns"] = [
        {"campaign": m.campaign, "message": m.message, "split": m.split, "kind": m.kind, "role": m.role,
         "system": m.system, "speaker": m.speaker, "language": m.language, "calls": m.n_calls,
         "insert": m.insert_after is not None, "target_s": m.target_s}
        for m in messages
    ]  # fmt: skip
    return out
