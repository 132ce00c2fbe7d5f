"""The corpus plan: disjoint speakers and families, unseen systems/codecs only in eval, balance."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from robocall_bench.config import config_dir
from robocall_bench.contract import PER_CALL_TRACKS
from robocall_bench.corpus.plan import PlanConfig, assign_groups, make_plan
from robocall_bench.corpus.prepare import load_scripts
from robocall_bench.errors import RcbError
from robocall_bench.scripts.templates import split_sentences
from robocall_bench.seeding import rng_for

SYSTEMS = {"en": ["sys-a", "sys-b", "sys-c", "sys-held"], "zh": ["sys-zh", "sys-zh-held"]}
CODECS = {"pcmu": 1.0, "pcma": 1.0, "opus": 1.0, "gsm610": 1.0}


@pytest.fixture(scope="module")
def inputs(corpora_root):
    items = []
    for name in ("librispeech", "aishell", "fsdd"):
        items += instantiate(OmegaConf.load(config_dir() / "source" / f"{name}.yaml")).scan(corpora_root, 0)[
            0
        ]
    cfg = OmegaConf.create(
        {"seed": 0, "scripts": {"ftc": {"enabled": True, "subdir": "robocall-transcripts", "family_threshold": 0.5},
                                "templates": {"languages": ["en", "zh"], "n_per_domain": 4}}}
    )  # fmt: skip
    scripts, _ = load_scripts(cfg, corpora_root)
    return items, scripts


def _plan(inputs, seed=0, **kw):
    items, scripts = inputs
    return make_plan(seed, PlanConfig(**kw), items, scripts, SYSTEMS, {"sys-held", "sys-zh-held"}, CODECS,
                     {"gsm610"}, split_sentences)  # fmt: skip


def shared_across_splits(plan, col: str, label: str) -> dict[str, set[str]]:
    """Values of ``col`` (over rows of ``label``) that occur in more than one split; also the count checked."""
    owner: dict[str, set] = {}
    for u in plan:
        if u.label == label and getattr(u, col) not in ("", "-"):
            owner.setdefault(getattr(u, col), set()).add(u.split)
    assert len(owner) >= 3, f"only {len(owner)} {col} values on {label} rows: the check would be vacuous"
    return {k: v for k, v in owner.items() if len(v) > 1}


def test_splits_are_disjoint_and_classes_balanced(inputs):
    plan = _plan(inputs)
    assert shared_across_splits(plan, "speaker", "human") == {}
    assert shared_across_splits(plan, "family", "robocall") == {}
    c = Counter((u.split, u.language, u.track, u.label) for u in plan)
    for (split, lang, track, label), n in c.items():
        assert c[(split, lang, track, "robocall" if label == "human" else "human")] == n
    assert {u.split for u in plan} == {"train", "dev", "eval"}


def test_disjointness_check_catches_a_leak(inputs):
    """The checker above must fail when a speaker or a family crosses splits."""
    plan = _plan(inputs)
    human = next(u for u in plan if u.label == "human" and u.split == "train")
    other = next(u for u in plan if u.label == "human" and u.split == "eval")
    leaked = [*plan, replace(other, speaker=human.speaker)]
    assert human.speaker in shared_across_splits(leaked, "speaker", "human")
    rc = next(u for u in plan if u.label == "robocall" and u.split == "train" and u.family != "-")
    rc_eval = next(u for u in plan if u.label == "robocall" and u.split == "eval")
    leaked = [*plan, replace(rc_eval, family=rc.family)]
    assert rc.family in shared_across_splits(leaked, "family", "robocall")


def test_unseen_systems_and_codecs_only_in_eval_tracks(inputs):
    plan = _plan(inputs)
    for u in plan:
        if u.system in ("sys-held", "sys-zh-held"):
            assert u.split == "eval" and u.track == "unseen-systems"
        if u.codec == "gsm610":
            assert u.split == "eval" and u.track == "unseen-channel"
        if u.split == "eval":
            assert u.track in PER_CALL_TRACKS
        else:
            assert u.track == u.split
    assert any(u.track == "unseen-systems" and u.label == "robocall" for u in plan)
    assert {u.track for u in plan if u.split == "eval" and u.label == "human"} == set(PER_CALL_TRACKS)


def test_plan_is_deterministic_and_ids_are_label_blind(inputs):
    a, b, c = _plan(inputs), _plan(inputs), _plan(inputs, seed=1)
    assert a == b and [u.utt_id for u in a] != [u.utt_id for u in c]
    assert all(u.utt_id.startswith("rcb_") and len(u.utt_id) == 16 for u in a)
    assert len({u.utt_id for u in a}) == len(a)


def test_human_texts_are_also_rendered_by_tts(inputs):
    plan = _plan(inputs)
    human_texts = {(u.split, u.text) for u in plan if u.label == "human" and u.text}
    renditions = [u for u in plan if u.source == "rendition"]
    assert renditions and all((u.split, u.text) in human_texts for u in renditions)


def test_assign_groups_follows_fractions():
    groups = [f"g{i}" for i in range(100)]
    out = assign_groups(groups, [1.0] * 100, (0.6, 0.15, 0.25), rng_for(0, "x"))
    c = Counter(out.values())
    assert abs(c["train"] - 60) <= 1 and abs(c["dev"] - 15) <= 1 and abs(c["eval"] - 25) <= 1
    two = assign_groups(["a", "b"], [1.0, 1.0], (0.6, 0.15, 0.25), rng_for(0, "y"))
    assert sorted(two.values()) == ["eval", "train"]


def test_bad_plan_inputs(inputs):
    items, scripts = inputs
    with pytest.raises(RcbError, match="eval_only_codecs"):
        make_plan(0, PlanConfig(), items, scripts, SYSTEMS, set(), CODECS, set(CODECS), split_sentences)
    with pytest.raises(RcbError, match="no TTS system speaks language 'zh'"):
        make_plan(0, PlanConfig(), items, scripts, {"en": ["a"]}, set(), CODECS, {"gsm610"}, split_sentences)
    with pytest.raises(RcbError, match="eval-only"):
        make_plan(0, PlanConfig(), items, scripts, {"en": ["a"], "zh": ["z"]}, {"a"}, CODECS, {"gsm610"},
                  split_sentences)  # fmt: skip
