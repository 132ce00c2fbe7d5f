"""`rcb leaderboard validate`: every kind of bad entry is rejected with its reason."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from robocall_bench.cli import main
from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.leaderboard.registry import register_protocol
from robocall_bench.leaderboard.validate import LeaderboardConfig, validate_entry
from test_eval_fixtures import make_leaderboard

ENTRY = "pitch-variance"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path]:
    return make_leaderboard(tmp_path_factory.mktemp("lbv"))


@pytest.fixture
def lb(pristine, tmp_path) -> Path:
    root = tmp_path / "lb"
    shutil.copytree(pristine[1], root)
    return root


def cfg(root: Path, **kw) -> LeaderboardConfig:
    return replace(LeaderboardConfig(root=root, bootstrap=BootstrapConfig(n=0)), **kw)


def edit_yaml(entry: Path, fn) -> None:
    data = yaml.safe_load((entry / "entry.yaml").read_text())
    fn(data)
    (entry / "entry.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def errors(root: Path, name: str = ENTRY, **kw) -> str:
    c = validate_entry(root / "entries" / name, cfg(root, **kw))
    assert not c.ok, "expected the entry to be rejected"
    return "\n".join(c.errors)


def test_generated_entries_pass(lb: Path, capsys) -> None:
    for name in ("pitch-variance", "spectral-flatness"):
        c = validate_entry(lb / "entries" / name, cfg(lb))
        assert c.ok, c.errors
        assert set(c.tracks) == {"eval", "unseen-systems", "unseen-channel", "early-2s"}
    assert main(["leaderboard", "validate", f"root={lb}", f"entry={lb / 'entries' / ENTRY}"]) == 0
    assert "PASS pitch-variance" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "!!python/object/apply:os.system ['echo pwned']\n",
            "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n",
            "anchors/aliases",
        ),
        ("entry_id: x\nentry_id: y\n", "duplicate key 'entry_id'"),
        ("{{{{\n", "invalid or unsafe YAML"),
        ("- just\n- a list\n", "Input should be a valid dictionary"),
        ("a: " + "[" * 50 + "]" * 50 + "\n", "nested deeper"),
    ],
    ids=["unsafe-tag", "billion-laughs", "duplicate-key", "syntax", "not-a-mapping", "deep"],
)
def test_malicious_or_broken_yaml(lb: Path, text: str, reason: str) -> None:
    (lb / "entries" / ENTRY / "entry.yaml").write_text(text)
    assert reason in errors(lb)


def test_huge_files(lb: Path) -> None:
    e = lb / "entries" / ENTRY
    original = (e / "entry.yaml").read_text()
    (e / "entry.yaml").write_text("description: '" + "x" * 70000 + "'\n")
    assert "exceeds the limit of 65536 bytes" in errors(lb)
    (e / "entry.yaml").write_text(original)
    assert "scores/eval.tsv: larger than 300 bytes" in errors(lb, score_file_bytes=300)
    assert "at most 2000 are allowed" in errors(lb, entry_bytes=2000)


def test_schema_lists_every_reason(lb: Path) -> None:
    def bad(d):
        d["params"] = -3
        d["surprise"] = 1
        del d["model"]
        d["cpu_rtf"] = float("nan")

    edit_yaml(lb / "entries" / ENTRY, bad)
    msg = errors(lb)
    for part in (
        "params: Input should be greater than or equal to 0",
        "surprise: Extra inputs",
        "model: Field required",
        "cpu_rtf",
    ):
        assert part in msg, part


def test_pretrained_license_and_url_are_optional(lb: Path) -> None:
    e = lb / "entries" / ENTRY
    old = {"id": "facebook/wav2vec2-base", "revision": "0123abc"}  # before license/url existed
    edit_yaml(e, lambda d: d.update(pretrained=old))
    assert validate_entry(e, cfg(lb)).ok
    full = {**old, "license": "apache-2.0", "url": "https://huggingface.co/facebook/wav2vec2-base"}
    edit_yaml(e, lambda d: d.update(pretrained=full))
    c = validate_entry(e, cfg(lb))
    assert c.ok, c.errors
    assert c.entry.pretrained.license == "apache-2.0"
    edit_yaml(e, lambda d: d.update(pretrained={**full, "licence": "mit"}))
    assert "pretrained.licence: Extra inputs" in errors(lb)
    edit_yaml(e, lambda d: d.update(pretrained={**full, "license": "x" * 101}))
    assert "pretrained.license" in errors(lb)


@pytest.mark.parametrize("bad_id", ["../evil", "Evil", "a..b", "x/y", ".hidden", "a" * 65])
def test_unsafe_entry_id(lb: Path, bad_id: str) -> None:
    edit_yaml(lb / "entries" / ENTRY, lambda d: d.update(entry_id=bad_id))
    assert "entry_id" in errors(lb)


def test_unsafe_layout(lb: Path) -> None:
    e = lb / "entries" / ENTRY
    (e / "scores" / "link.tsv").symlink_to("/etc/passwd")
    (e / "notes.txt").write_text("hi")
    (e / "scores" / "secret-track.tsv").write_text("x\t1\n")
    (e / "sub").mkdir()
    msg = errors(lb)
    for part in (
        "symbolic links are not allowed",
        "notes.txt: unexpected file",
        "unknown track file",
        "sub/: unexpected directory",
    ):
        assert part in msg, part
    bad_dir = lb / "entries" / "Bad..Name"
    shutil.copytree(lb / "entries" / "spectral-flatness", bad_dir)
    assert "is not a safe entry id" in errors(lb, name="Bad..Name")


def test_duplicate_entry_id(lb: Path) -> None:
    shutil.copytree(lb / "entries" / ENTRY, lb / "entries" / "pitch-variance-copy")
    assert "entry_id 'pitch-variance' differs from the directory name 'pitch-variance-copy'" in errors(
        lb, name="pitch-variance-copy"
    )


def test_other_corpus_version(lb: Path) -> None:
    e = lb / "entries" / ENTRY
    edit_yaml(e, lambda d: d["corpus"].update(version="0.0.9"))
    assert "corpus robocall-bench 0.0.9 is not a registered leaderboard corpus" in errors(lb)
    edit_yaml(e, lambda d: d["corpus"].update(version="0.1.0", protocol_sha256="0" * 64))
    assert "does not match the leaderboard's protocol" in errors(lb)


def test_scores_from_another_corpus_version(lb: Path) -> None:
    f = lb / "entries" / ENTRY / "scores" / "eval.tsv"
    lines = f.read_text().splitlines()
    lines[1] = "v2-" + lines[1]
    f.write_text("\n".join(lines) + "\n")
    msg = errors(lb)
    assert "not in the protocol at all: another corpus version?" in msg and "missing" in msg


def test_incomplete_or_non_finite_scores_and_missing_main_track(lb: Path) -> None:
    e = lb / "entries" / ENTRY / "scores"
    lines = (e / "unseen-systems.tsv").read_text().splitlines()
    (e / "unseen-systems.tsv").write_text(
        "\n".join([lines[0], lines[1].split("\t")[0] + "\tinf", *lines[3:]]) + "\n"
    )
    (e / "eval.tsv").unlink()
    msg = errors(lb)
    assert "scores/eval.tsv is missing" in msg
    assert "non-finite" in msg and "missing" in msg
    assert "reported.eval: no valid scores/eval.tsv" in msg


def test_tampered_reported_metrics(lb: Path) -> None:
    e = lb / "entries" / ENTRY
    edit_yaml(e, lambda d: d["reported"]["eval"].update(eer=d["reported"]["eval"]["eer"] - 0.05))
    assert "reported.eval.eer" in errors(lb) and "report the recomputed value" in errors(lb)
    edit_yaml(e, lambda d: d.update(reported={"eval": {"eer": 0.1, "accuracy_hacked": 1.0}}))
    assert "reported.eval.accuracy_hacked" in errors(lb)


def test_tampered_protocol_is_refused(lb: Path) -> None:
    p = lb / "protocols" / "robocall-bench-0.1.0" / "protocol.tsv"
    lines = p.read_text().splitlines()
    flip = {"human": "robocall", "robocall": "human"}
    cols = lines[-1].split("\t")
    cols[2] = flip[cols[2]]
    p.write_text("\n".join([*lines[:-1], "\t".join(cols)]) + "\n")
    assert "differs from its manifest's" in errors(lb)


def test_one_class_track_rejected_and_all_equal_scores_defined(lb: Path) -> None:
    e = lb / "entries" / ENTRY
    # an entry that scores the whole track with one value: allowed, EER is 0.5 by definition
    lines = (e / "scores" / "eval.tsv").read_text().splitlines()
    (e / "scores" / "eval.tsv").write_text(
        "\n".join([lines[0]] + [ln.split("\t")[0] + "\t1.5" for ln in lines[1:]]) + "\n"
    )
    edit_yaml(e, lambda d: d.update(reported=None))
    c = validate_entry(e, cfg(lb))
    assert c.ok, c.errors
    assert c.tracks["eval"]["eer"]["value"] == 0.5
    # a protocol whose unseen-channel track holds one class: that track cannot be registered, and an
    # entry scoring it is refused
    pdir = lb / "protocols" / "robocall-bench-0.1.0"
    rows = (pdir / "protocol.tsv").read_text().splitlines()
    keep = [r for r in rows if not ("\tunseen-channel\t" in r and "\thuman\t" in r)]
    (pdir / "protocol.tsv").write_text("\n".join(keep) + "\n")
    import hashlib
    import json

    sha = hashlib.sha256((pdir / "protocol.tsv").read_bytes()).hexdigest()
    man = json.loads((pdir / "manifest.json").read_text())
    (pdir / "manifest.json").write_text(json.dumps(dict(man, protocol_sha256=sha)))
    register_protocol(pdir, lb, kind="example")
    assert yaml.safe_load((lb / "registry.yaml").read_text())["corpora"][0]["tracks"] == [
        "eval",
        "unseen-systems",
    ]
    edit_yaml(e, lambda d: d["corpus"].update(protocol_sha256=sha))
    sc = (e / "scores" / "unseen-channel.tsv").read_text().splitlines()
    ids = {r.split("\t")[0] for r in keep}
    (e / "scores" / "unseen-channel.tsv").write_text(
        "\n".join([sc[0]] + [r for r in sc[1:] if r.split("\t")[0] in ids]) + "\n"
    )
    assert "track unseen-channel is not registered for robocall-bench 0.1.0" in errors(lb)


def test_cli_fail_lists_reasons(lb: Path, capsys) -> None:
    e = lb / "entries" / ENTRY
    edit_yaml(e, lambda d: d.update(params=-1, entry_id="other"))
    assert main(["leaderboard", "validate", f"root={lb}", f"entry={e}"]) == 2
    err = capsys.readouterr().err
    assert "FAIL" in err and "2 problem(s)" in err and "params" in err
    assert main(["leaderboard", "validate", f"root={lb}"]) == 2
    assert main(["leaderboard", "frobnicate"]) == 2


def test_official_release_entry_lists_every_reason(lb: Path, tmp_path: Path) -> None:
    """On an official corpus an entry must score every registered track; a wrong protocol hash and
    a score file holding another track's rows are reported in the same refusal."""
    import json

    from test_eval_fixtures import make_corpus, write_scores

    corpus = make_corpus(tmp_path / "release", seed=5, version="2.0.0")
    register_protocol(corpus, lb, kind="official", title="release")
    d = lb / "entries" / "partial"
    (d / "scores").mkdir(parents=True)
    write_scores(d / "scores" / "eval.tsv", corpus, track="eval")
    write_scores(d / "scores" / "unseen-systems.tsv", corpus, track="unseen-channel")  # wrong rows
    sha = json.loads((corpus / "manifest.json").read_text())["protocol_sha256"]
    entry = {"schema_version": 1, "entry_id": "partial", "model": "m", "training_data": "train split", "params": 1,
             "corpus": {"name": "robocall-bench", "version": "2.0.0", "protocol_sha256": "0" * 64}}  # fmt: skip
    (d / "entry.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    msg = errors(lb, "partial")
    assert "scores/unseen-channel.tsv is missing" in msg and "every registered track" in msg
    assert f"does not match the leaderboard's protocol {sha[:12]}" in msg
    assert "scores/unseen-systems.tsv" in msg and "scores/eval.tsv is missing" not in msg
    entry["corpus"]["protocol_sha256"] = sha
    (d / "entry.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    for t in ("unseen-systems", "unseen-channel"):
        write_scores(d / "scores" / f"{t}.tsv", corpus, track=t)
    ok = validate_entry(d, cfg(lb))
    assert ok.ok, ok.errors
