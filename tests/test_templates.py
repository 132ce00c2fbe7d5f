"""Tests for the robocall template generator and the sentence splitter."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from robocall_bench.errors import RcbError
from robocall_bench.scripts.base import Script
from robocall_bench.scripts.templates import (
    DOMAINS,
    LANGUAGES,
    generate_templates,
    split_sentences,
    template_texts,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
N = 24  # per domain: four fills per template


@pytest.fixture(scope="module", params=LANGUAGES)
def scripts(request: pytest.FixtureRequest) -> tuple[str, list[Script]]:
    return request.param, generate_templates(request.param, N, seed=7)


def test_domains_and_record_fields(scripts: tuple[str, list[Script]]) -> None:
    language, out = scripts
    assert len(out) == N * len(DOMAINS)
    assert Counter(s.domain for s in out) == dict.fromkeys(DOMAINS, N)
    for s in out:
        assert isinstance(s, Script)
        assert s.language == language and s.origin == "template"
        assert re.fullmatch(rf"tpl-{language}-{s.domain}-\d\d", s.family)
        assert re.fullmatch(rf"{re.escape(s.family)}-\d{{4}}", s.text_id)
    assert len({s.text_id for s in out}) == len(out)


def test_families_group_templates(scripts: tuple[str, list[Script]]) -> None:
    language, out = scripts
    families: dict[str, set[str]] = defaultdict(set)
    for s in out:
        families[s.domain].add(s.family)
    for domain in DOMAINS:
        n_templates = len(template_texts(language, domain))
        assert n_templates >= 5
        assert len(families[domain]) == n_templates
    # templates are cycled: every family gets N / n_templates fills (+1 for the first ones)
    sizes = Counter(s.family for s in out if s.domain == "loan_credit")
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_no_duplicates_and_slots_filled(scripts: tuple[str, list[Script]]) -> None:
    language, out = scripts
    texts = [s.text for s in out]
    assert len(set(texts)) == len(texts)
    for text in texts:
        assert "{" not in text and "}" not in text
        n_sentences = len(split_sentences(text, language))
        assert 2 <= n_sentences <= 5, text


def test_language_specific_text(scripts: tuple[str, list[Script]]) -> None:
    language, out = scripts
    for s in out:
        if language == "zh":
            assert CJK.search(s.text)
            assert not re.search(r"[A-Za-z0-9_]", s.text), s.text  # no slot names, digits spelled out
        else:
            assert not CJK.search(s.text)
            assert re.fullmatch(r"[A-Za-z ,.'!?-]+", s.text), s.text
            assert s.text[0].isupper()


def test_phone_numbers_are_fictitious() -> None:
    en = [s.text for s in generate_templates("en", 30, seed=3)]
    phones = [m for t in en for m in re.findall(r"one [a-z ]+, five five five, zero one \w+ \w+", t)]
    assert phones
    zh = [s.text for s in generate_templates("zh", 30, seed=3)]
    assert any("五五五、零幺" in t for t in zh)


def test_deterministic_and_seed_dependent() -> None:
    for language in LANGUAGES:
        a = generate_templates(language, 10, seed=1)
        assert a == generate_templates(language, 10, seed=1)
        b = generate_templates(language, 10, seed=2)
        assert [s.text_id for s in a] == [s.text_id for s in b]
        assert sum(x.text != y.text for x, y in zip(a, b, strict=True)) > len(a) // 2


def test_domain_subset_is_independent_and_prefix_stable() -> None:
    full = generate_templates("en", 12, seed=5)
    sub = generate_templates("en", 12, seed=5, domains=["tech_support", "insurance"])
    assert [s.domain for s in sub] == ["tech_support"] * 12 + ["insurance"] * 12
    by_id = {s.text_id: s for s in full}
    assert all(by_id[s.text_id] == s for s in sub)
    small = {s.text_id: s for s in generate_templates("en", 6, seed=5)}
    assert all(by_id[i] == s for i, s in small.items())


def test_larger_run_has_no_duplicates() -> None:
    for language in LANGUAGES:
        texts = [s.text for s in generate_templates(language, 120, seed=11)]
        assert len(set(texts)) == len(texts)


def test_zero_fills() -> None:
    assert generate_templates("zh", 0, seed=0) == []


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"language": "fr", "n_per_domain": 2, "seed": 0}, "en, zh"),
        ({"language": "en", "n_per_domain": 2, "seed": 0, "domains": ["lottery"]}, "loan_credit"),
        ({"language": "en", "n_per_domain": -1, "seed": 0}, "non-negative"),
    ],
)
def test_bad_arguments(kwargs: dict, needle: str) -> None:
    with pytest.raises(RcbError, match=needle):
        generate_templates(**kwargs)


def test_split_sentences_bad_language() -> None:
    with pytest.raises(RcbError, match="en, zh"):
        split_sentences("Hello.", "de")


def test_split_english() -> None:
    text = (
        "Hello, this is Dr. Smith from the U.S. office.  Your loan of 3.5 million was approved!\n"
        'Call by five p.m. today. Are you there? He said "yes." Press one'
    )
    assert split_sentences(text, "en") == [
        "Hello, this is Dr. Smith from the U.S. office.",
        "Your loan of 3.5 million was approved!",
        "Call by five p.m. today.",
        "Are you there?",
        'He said "yes."',
        "Press one",
    ]
    assert split_sentences("", "en") == []
    assert split_sentences("Wait... what? No!! Fine…", "en") == ["Wait... what?", "No!!", "Fine…"]


def test_split_chinese() -> None:
    text = "您好，这里是客服中心。您的快递无法派送！需要帮助吗？请按一……他说：“好的。”利率3.5%"
    assert split_sentences(text, "zh") == [
        "您好，这里是客服中心。",
        "您的快递无法派送！",
        "需要帮助吗？",
        "请按一……",
        "他说：“好的。”",
        "利率3.5%",
    ]
    assert split_sentences("Hello world. 你好。", "zh") == ["Hello world.", "你好。"]


def test_split_then_join_roundtrip() -> None:
    for language in LANGUAGES:
        for s in generate_templates(language, 6, seed=0):
            parts = split_sentences(s.text, language)
            assert ("" if language == "zh" else " ").join(parts) == s.text
