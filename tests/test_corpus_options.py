"""Bad seed / num_workers / out / corpus values: one RcbError naming the key, before any work.

Covers `rcb corpus` (build), its subverbs audit / verify / merge / export, and `rcb eval`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from robocall_bench.cli import main
from robocall_bench.config import compose
from robocall_bench.corpus.build import build
from robocall_bench.errors import RcbError
from test_eval_fixtures import make_corpus, write_scores


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    f = tmp_path / "taken"
    f.write_text("not a folder\n")
    return f


def _cfg(root: Path, *extra: str):
    return compose("corpus", ["preset=tiny", f"corpora_root={root}", "audit=false", *extra])


@pytest.mark.parametrize(
    ("override", "expect"),
    [
        ("seed=abc", r"seed='abc': need an integer in \[0, 4294967295\]"),
        ("seed=-1", r"seed=-1: need an integer"),
        ("seed=1.5", r"seed=1.5: need an integer"),
        ("num_workers=-3", r"num_workers=-3: need an integer >= 0.*0 or 1 = in this process"),
        ("num_workers=two", r"num_workers='two'"),
        ("audit=maybe", r"audit='maybe': need true or false"),
    ],
)
def test_build_refuses_bad_values_before_any_work(corpora_root, tmp_path, override, expect) -> None:
    out = tmp_path / "c"
    with pytest.raises(RcbError, match=expect):
        build(_cfg(corpora_root, f"out={out}", override))
    assert not out.exists()  # nothing was planned, rendered or written


def test_build_out_must_be_a_folder(corpora_root, a_file: Path) -> None:
    with pytest.raises(RcbError, match=r"out=.*taken: is a file, not a folder"):
        build(_cfg(corpora_root, f"out={a_file}"))
    with pytest.raises(RcbError, match=r"taken is a file, so the folder cannot be made"):
        build(_cfg(corpora_root, f"out={a_file / 'sub'}"))


def test_cli_build_errors_exit_2_without_traceback(corpora_root, a_file: Path, capsys) -> None:
    assert main(["corpus", "preset=tiny", f"corpora_root={corpora_root}", f"out={a_file}"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["audit", "corpus={c}", "seed=abc"], "seed='abc'"),
        (["audit", "corpus={c}", "seed=-1"], "seed=-1"),
        (["audit", "corpus={c}", "num_workers=-3"], "num_workers=-3: need an integer >= 0"),
        (["audit", "corpus={f}"], "corpus={f}: a file"),
        (["verify", "corpus=[1,2]"], "corpus=[1,2]: not found"),
        (["verify", "corpus="], "missing corpus="),
        (["export", "corpus={c}", "out={f}"], "out={f}: is a file"),
        (["merge", "corpus={f}"], "corpus={f}: is a file"),
        (["merge", "corpus={c}", "inputs=abc"], "inputs=abc: not found"),
        (["merge", "corpus={c}", "inputs=[{c}]"], "config.yaml not found"),
        (["merge", "corpus={c}", "inputs=[a"], "cannot read 'inputs=[a'"),
    ],
)
def test_subverbs_refuse_bad_values(tmp_path: Path, a_file: Path, capsys, args, expect) -> None:
    c = make_corpus(tmp_path / "corpus")  # protocol + manifest, no config.yaml: not a shard folder
    argv = ["corpus", *(a.format(c=c, f=a_file) for a in args)]
    assert main(argv) == 2
    # rich wraps long lines, inside a long path too: compare without any whitespace
    err = "".join(capsys.readouterr().err.split())
    assert "".join(expect.format(c=c, f=a_file).split()) in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("override", "expect"),
    [
        ("out={f}", "out={f}: is a file, not a folder"),
        ("bootstrap.seed=abc", "bootstrap.seed='abc': need an integer"),
        ("bootstrap.seed=-1", "bootstrap.seed=-1: need an integer"),
        ("bootstrap.n=-3", "bootstrap.n=-3: need an integer >= 0"),
        ("bootstrap.breakdowns=-2", "bootstrap.breakdowns=-2"),
        ("bootstrap.alpha=2", "bootstrap.alpha=2: need a number strictly between 0 and 1"),
        ("max_score_bytes=abc", "max_score_bytes='abc'"),
        ("worst_min_trials=x", "worst_min_trials='x'"),
        ("snr_edges=abc", "snr_edges='abc': need a list of numbers"),
        ("figures=maybe", "figures='maybe': need true or false"),
    ],
)
def test_eval_refuses_bad_values(tmp_path: Path, a_file: Path, capsys, override, expect) -> None:
    c = make_corpus(tmp_path / "corpus")
    s = write_scores(tmp_path / "s.tsv", c)
    out = tmp_path / "out"
    extra = override.format(f=a_file)
    fast = [] if extra.startswith("bootstrap.n=") else ["bootstrap.n=0"]
    argv = ["eval", f"scores={s}", f"protocol={c}", f"out={out}", *fast, extra]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert expect.format(f=a_file) in err and "Traceback" not in err
    assert not out.exists()
