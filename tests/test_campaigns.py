"""The campaign plan on the real development sources: what the campaign track promises holds."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest

from robocall_bench.config import compose
from robocall_bench.corpus.campaigns import CampaignConfig, campaign_sizes
from robocall_bench.corpus.prepare import prepare
from robocall_bench.seeding import rng_for


@pytest.fixture(scope="module")
def prep(shared_corpora):
    return prepare(compose("corpus", ["preset=tiny", f"corpora_root={shared_corpora}",
                                      "campaigns.calls={train: 30, dev: 10, eval: 40}"]))  # fmt: skip


def _calls(prep, split=None):
    return [u for u in prep.plan if u.track in ("campaign", "train-campaign", "dev-campaign")
            and (split is None or u.split == split)]  # fmt: skip


def test_sizes_sum_to_the_budget_and_follow_the_power_law():
    cfg = CampaignConfig(enabled=True, size_alpha=1.7, size_min=2, size_max=200)
    for n in (2, 7, 100, 1000):
        s = campaign_sizes(n, cfg, rng_for(0, n))
        assert sum(s) == n and min(s) >= 2 and max(s) <= 200
    big = campaign_sizes(20000, cfg, rng_for(0, "big"))
    assert np.median(big) <= 5 and max(big) >= 100  # many small campaigns, a few of hundreds


def test_every_campaign_has_two_calls_each_paired_with_a_unique_live_call(prep):
    calls = _calls(prep)
    assert calls, "the tiny preset plans campaign calls"
    by_campaign = Counter(u.campaign for u in calls if u.label == "robocall")
    assert min(by_campaign.values()) >= 2
    assert {m.campaign: m.n_calls for m in prep.messages} == dict(by_campaign)
    robo = [u for u in calls if u.label == "robocall"]
    live = {u.utt_id: u for u in calls if u.label == "human"}
    assert len(robo) == len(live) and all(live[u.pair].pair == u.utt_id for u in robo)
    assert all(u.role == "live" and u.campaign == "-" and u.message == "-" for u in live.values())
    assert all(live[u.pair].language == u.language and live[u.pair].split == u.split for u in robo)
    # every second of live speech is used once in a split's campaign pool: windows of one file never overlap
    spans = defaultdict(list)
    for u in live.values():
        for f in u.item.files:
            spans[(u.split, f)].append((u.start, u.stop if u.stop is not None else float("inf")))
    for segs in spans.values():
        segs.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(segs)), segs


def test_recorded_voices_never_call_live_in_their_split_and_the_talent_is_eval_only(prep):
    for split in ("train", "dev", "eval"):
        live_spk = {u.speaker for u in prep.plan if u.split == split and u.label == "human"}
        voices = {m.speaker for m in prep.messages if m.split == split and m.kind in ("recording", "vocoded")}
        voices |= {u.item.speaker for u in prep.plan if u.split == split and u.label == "robocall" and u.item}
        assert not live_spk & voices, split
    talent = [m for m in prep.messages if m.kind == "voice_talent"]
    assert talent and {m.split for m in talent} == {"eval"}
    assert {m.role for m in talent} == {"recorded"} and all(
        m.speaker == "asterisk-en:allison" for m in talent
    )


def test_calls_differ_in_channel_offset_and_insert(prep):
    robo = [u for u in _calls(prep, "eval") if u.label == "robocall"]
    by = defaultdict(list)
    for u in robo:
        by[u.campaign].append(u)
    assert any(len({u.codec for u in us}) > 1 for us in by.values())
    assert all(len({u.start for u in us}) == len(us) for us in by.values())  # own pick-up offsets
    inserts = [u.insert.text for u in robo if u.insert is not None]
    if inserts:
        assert len(set(inserts)) > 1  # a personalised insert differs per call


def test_re_spoken_digits_are_other_takes_of_the_same_speaker(prep):
    live = [u for u in _calls(prep) if u.label == "human" and u.source == "fsdd"]
    said: dict[tuple[str, str], list[frozenset]] = defaultdict(list)
    for u in live:
        digits = "".join(f.rsplit("/", 1)[-1].split("_")[0] for f in u.item.files)
        said[(u.speaker, digits)].append(frozenset(u.item.files))
    again = [v for v in said.values() if len(v) > 1]
    assert again, "some live call re-speaks another's digits"
    for takes in again:
        assert all(not a & b for i, a in enumerate(takes) for b in takes[i + 1 :])  # no shared recording
