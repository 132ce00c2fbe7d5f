"""Leaderboard attacks (issue 8, items 3-6), each as it was carried out against the old code:
a forged protocol, a recipe run without consent or isolation, a NaN that "reproduced", Markdown
injection, copied and oracle entries. Every test here failed before the fix."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from robocall_bench.cli import main
from robocall_bench.errors import RcbError
from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.leaderboard import sandbox
from robocall_bench.leaderboard.build import render_all
from robocall_bench.leaderboard.escape import html_text, md_cell, plain
from robocall_bench.leaderboard.registry import register_protocol
from robocall_bench.leaderboard.reproduce import ReproduceOptions, reproduce
from robocall_bench.leaderboard.validate import LeaderboardConfig, validate_entry
from test_eval_fixtures import make_corpus, make_leaderboard

PROTO = "robocall-bench-0.1.0"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path]:
    return make_leaderboard(tmp_path_factory.mktemp("lbi"))


@pytest.fixture
def lb(pristine, tmp_path) -> Path:
    root = tmp_path / "lb"
    shutil.copytree(pristine[1], root)
    return root


@pytest.fixture
def corpus(pristine) -> Path:
    return pristine[0]


def cfg(root: Path, **kw) -> LeaderboardConfig:
    return replace(LeaderboardConfig(root=root, bootstrap=BootstrapConfig(n=0)), **kw)


def edit_yaml(entry: Path, fn) -> None:
    d = yaml.safe_load((entry / "entry.yaml").read_text())
    fn(d)
    (entry / "entry.yaml").write_text(yaml.safe_dump(d, sort_keys=False))


def labels(root: Path) -> dict[str, str]:
    rows = (root / "protocols" / PROTO / "protocol.tsv").read_text().splitlines()[1:]
    return {r.split("\t")[0]: r.split("\t")[2] for r in rows}


def clone(root: Path, src: str, name: str, scores=None) -> Path:
    """Entry ``name``: entry ``src`` under a new id, scores mapped by ``scores(utt_id, value)``."""
    dst = root / "entries" / name
    shutil.copytree(root / "entries" / src, dst)
    edit_yaml(dst, lambda d: d.update(entry_id=name, reported=None))
    if scores is not None:
        for f in (dst / "scores").iterdir():
            head, *rows = f.read_text().splitlines()
            new = [f"{u}\t{scores(u, float(v))!r}" for u, v in (r.split("\t") for r in rows)]
            f.write_text("\n".join([head, *new]) + "\n")
    return dst


def oracle(root: Path, name: str = "oracle") -> Path:
    """An entry built from the public eval labels: robocall 1, human 0."""
    lab = labels(root)
    return clone(root, "pitch-variance", name, lambda u, v: float(lab[u] == "robocall"))


def data(root: Path, **kw) -> dict:
    return json.loads(render_all(cfg(root, **kw))["leaderboard.json"])


# --- item 3: forged protocols, per-corpus tables ---------------------------------------------------


def test_forged_protocol_folder_is_refused(lb: Path) -> None:
    """A 2-row protocol `1.0.0-fix` with a matching manifest, scored perfectly: it used to rank first."""
    src = (lb / "protocols" / PROTO / "protocol.tsv").read_text().splitlines()
    ev = [r for r in src[1:] if r.split("\t")[3] == "eval" and r.split("\t")[4] == "eval"]
    two = [next(r for r in ev if "\trobocall\t" in r), next(r for r in ev if "\thuman\t" in r)]
    forged = make_corpus(lb / "protocols" / "robocall-bench-1.0.0-fix", version="1.0.0-fix")
    (forged / "protocol.tsv").write_text("\n".join([src[0], *two]) + "\n")
    sha = hashlib.sha256((forged / "protocol.tsv").read_bytes()).hexdigest()
    man = json.loads((forged / "manifest.json").read_text())
    (forged / "manifest.json").write_text(json.dumps(dict(man, protocol_sha256=sha)))
    e = clone(lb, "pitch-variance", "winner")
    shutil.rmtree(e / "scores")
    (e / "scores").mkdir()
    (e / "scores" / "eval.tsv").write_text(
        "\n".join(f"{r.split(chr(9))[0]}\t{1.0 if 'robocall' in r else 0.0}" for r in two) + "\n"
    )
    edit_yaml(e, lambda d: d["corpus"].update(version="1.0.0-fix", protocol_sha256=sha))
    with pytest.raises(RcbError) as err:
        render_all(cfg(lb))
    msg = str(err.value)
    assert "corpus robocall-bench 1.0.0-fix is not registered in" in msg and "Remove this folder" in msg
    assert "winner: corpus robocall-bench 1.0.0-fix is not a registered leaderboard corpus" in msg
    shutil.rmtree(forged)  # without its folder the entry alone is still refused
    assert "not a registered leaderboard corpus" in "\n".join(validate_entry(e, cfg(lb)).errors)


def test_edited_answer_key_with_consistent_manifest_is_refused(lb: Path) -> None:
    pdir = lb / "protocols" / PROTO
    rows = (pdir / "protocol.tsv").read_text().splitlines()
    flip = {"human": "robocall", "robocall": "human"}
    cols = rows[-1].split("\t")
    cols[2] = flip[cols[2]]
    (pdir / "protocol.tsv").write_text("\n".join([*rows[:-1], "\t".join(cols)]) + "\n")
    sha = hashlib.sha256((pdir / "protocol.tsv").read_bytes()).hexdigest()
    man = json.loads((pdir / "manifest.json").read_text())
    (pdir / "manifest.json").write_text(json.dumps(dict(man, protocol_sha256=sha)))
    with pytest.raises(
        RcbError,
        match=r"is not the registered .*\(an edited answer key is refused\)(.|\n)*pitch-variance: the protocol of corpus robocall-bench 0.1.0 is missing .* or was refused",
    ):
        render_all(cfg(lb))


def test_registry_is_read_with_the_safe_loader(lb: Path) -> None:
    (lb / "registry.yaml").write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(RcbError, match=r"registry.yaml: YAML tag .* not allowed"):
        render_all(cfg(lb))


def test_tables_are_per_corpus(lb: Path, tmp_path: Path) -> None:
    """Entries on two registered corpora never share a ranking (each corpus has its own rank 1)."""
    other = make_corpus(tmp_path / "c2", version="0.2.0")
    register_protocol(other, lb, kind="official", title="Second corpus")
    e = clone(lb, "spectral-flatness", "on-second-corpus")
    edit_yaml(e, lambda d: d["corpus"].update(version="0.2.0"))
    d = data(lb)
    assert [(c["name"], c["version"], c["kind"]) for c in d["corpora"]] == [
        ("robocall-bench", "0.2.0", "official"),
        ("robocall-bench", "0.1.0", "example"),
    ]
    ranks = {(x["entry_id"], x["corpus"]["version"]): x["rank"] for x in d["entries"]}
    assert ranks[("on-second-corpus", "0.2.0")] == 1
    assert sorted(r for (_, v), r in ranks.items() if v == "0.1.0") == [1, 2]
    readme = render_all(cfg(lb))["README.md"].decode()
    first, second = readme.index("## Benchmark corpora"), readme.index("## Examples")
    assert first < readme.index("Second corpus") < second
    assert "`on-second-corpus`" in readme[first:second] and "`pitch-variance`" not in readme[first:second]
    assert "`on-second-corpus`" not in readme[second:]


# --- item 4: reproduce ---------------------------------------------------------------------------


def set_recipe(entry: Path, code: str, timeout_s: int = 60) -> None:
    edit_yaml(entry, lambda d: d.update(reproduce={"command": ["{python}", "-c", code, "{out}"],
                                                    "timeout_s": timeout_s}))  # fmt: skip


def copy_recipe(entry: Path, probe: Path, nan_row: int | None = None, drop_row: int | None = None) -> None:
    """A recipe that writes the entry's own scores (optionally with a NaN or a row dropped) and records
    what it could see (environment, working directory, network interfaces) in ``probe``."""
    code = f"""
import json, os, sys
src, out = {str((entry / "scores").resolve())!r}, sys.argv[1]
for f in os.listdir(src):
    rows = open(os.path.join(src, f)).read().splitlines()
    if {nan_row!r} is not None:
        rows[{nan_row!r}] = rows[{nan_row!r}].split("\\t")[0] + "\\tnan"
    if {drop_row!r} is not None:
        del rows[{drop_row!r}]
    open(os.path.join(out, f), "w").write("\\n".join(rows) + "\\n")
nets = [ln.split(":")[0].strip() for ln in open("/proc/net/dev").read().splitlines()[2:]]
json.dump({{"env": dict(os.environ), "cwd": os.getcwd(), "nets": nets}}, open({str(probe)!r}, "w"))
"""
    set_recipe(entry, code)


def test_nothing_runs_without_confirm(lb: Path, corpus: Path, tmp_path: Path) -> None:
    e = lb / "entries" / "pitch-variance"
    marker = tmp_path / "pwned"
    edit_yaml(e, lambda d: d.update(reproduce={"command": ["sh", "-c", f"touch {marker}"]}))
    with pytest.raises(RcbError) as err:
        reproduce(e, corpus, cfg(lb))
    assert "recipe was NOT run" in str(err.value) and "confirm=true" in str(err.value)
    assert f"sh -c 'touch {marker}'" in str(err.value) and "NOT isolated: it runs as your user" in str(
        err.value
    )
    assert not marker.exists()
    assert main(["leaderboard", "reproduce", f"root={lb}", f"entry={e}", f"corpus={corpus}"]) == 2
    assert not marker.exists()


@pytest.mark.parametrize(("nan_row", "drop_row", "why"), [(2, None, "non-finite"), (None, 3, "missing")])
def test_nan_or_missing_rerun_scores_do_not_reproduce(lb, corpus, tmp_path, nan_row, drop_row, why) -> None:
    """max() over a list dropped a NaN that was not first: the run reported "reproduced"."""
    e = lb / "entries" / "pitch-variance"
    copy_recipe(e, tmp_path / "probe.json", nan_row=nan_row, drop_row=drop_row)
    with pytest.raises(
        RcbError, match=f"does not reproduce:(.|\\n)*recipe's scores are unusable(.|\\n)*{why}"
    ):
        reproduce(e, corpus, cfg(lb), ReproduceOptions(confirm=True, allow_network=True))
    assert not (lb / "reproduced.yaml").exists()


def test_recipe_runs_isolated_and_is_recorded(lb, corpus, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RCB_TEST_SECRET", "s3cret")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    e = lb / "entries" / "pitch-variance"
    probe = tmp_path / "probe.json"
    copy_recipe(e, probe)
    lines = reproduce(e, corpus, cfg(lb), ReproduceOptions(confirm=True, allow_network=True))
    assert all(x.endswith("(OK)") for x in lines[:-1]) and "recorded in" in lines[-1]
    seen = json.loads(probe.read_text())
    assert set(seen["env"]) <= {*sandbox.FIXED_ENV, "PATH", "HOME", "TMPDIR", "PWD", "SHLVL", "_"}
    assert "s3cret" not in json.dumps(seen) and "hf_secret" not in json.dumps(seen)
    cwd = Path(seen["cwd"])
    assert (
        cwd.name == "work"
        and cwd.parent.name.startswith("rcb-reproduce-")
        and seen["env"]["HOME"] == str(cwd)
    )
    assert not cwd.exists()  # the temporary directory is gone
    if sandbox.namespaces_work(network=False):
        assert seen["nets"] == ["lo"]
    rec = yaml.safe_load((lb / "reproduced.yaml").read_text())["entries"]
    assert [r["entry_id"] for r in rec] == ["pitch-variance"] and set(rec[0]["scores"]) == {
        "eval", "unseen-systems", "unseen-channel", "early-2s"}  # fmt: skip


@pytest.mark.skipif(not sandbox.namespaces_work(network=False), reason="unshare --user --net unavailable")
def test_no_network_inside_the_sandbox(lb, corpus, tmp_path) -> None:
    e = lb / "entries" / "pitch-variance"
    probe = tmp_path / "probe.json"
    copy_recipe(e, probe)
    reproduce(e, corpus, cfg(lb), ReproduceOptions(confirm=True))
    assert json.loads(probe.read_text())["nets"] == ["lo"]


def test_time_limit_kills_every_process(lb, corpus, tmp_path) -> None:
    e = lb / "entries" / "pitch-variance"
    marker = tmp_path / "survived"
    code = f"import os, subprocess, time; subprocess.Popen(['sh', '-c', 'sleep 2; touch {marker}']); time.sleep(60)"
    set_recipe(e, code, timeout_s=1)
    t0 = time.monotonic()
    with pytest.raises(RcbError, match="did not finish within 1 s"):
        reproduce(e, corpus, cfg(lb), ReproduceOptions(confirm=True, allow_network=True))
    assert time.monotonic() - t0 < 20
    time.sleep(2.5)
    assert not marker.exists()


def test_no_isolation_needs_an_explicit_flag(lb, corpus, monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "prefix", lambda network: None)  # an OS without user namespaces
    e = lb / "entries" / "pitch-variance"
    with pytest.raises(RcbError, match="cannot isolate the recipe from the network here"):
        reproduce(e, corpus, cfg(lb), ReproduceOptions(confirm=True))


# --- item 5: Markdown / HTML injection -----------------------------------------------------------

ATTACKS = [
    "a\rb",
    "a\nb",
    "a\r\nb",
    "a | b",
    "`code` ``x``",
    "[click](http://evil.example)",
    "![img](http://evil.example/x.png)",
    "<script>alert(1)</script>",
    "www.evil.example and https://evil.example and me@evil.example",
    "&lt;b&gt; &#124; **bold** _it_ ~~s~~ \\| \\",
    "\u202etxet desrever\u2028next",
]


def _table(cell: str) -> str:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return md.render(f"| a | b |\n|---|---|\n| {cell} | 1 |\n")


@pytest.mark.parametrize("text", ATTACKS)
def test_md_cell_renders_literally_in_one_row(text: str) -> None:
    out = _table(md_cell(text))
    assert out.count("<tr>") == 2  # header + one row: no forged row
    for tag in ("<a ", "<img", "<script", "<code", "<strong", "<em", "<s>"):
        assert tag not in out, (tag, out)
    body = re.search(r"<tbody>\s*<tr>\s*<td>(.*?)</td>", out, re.S).group(1)
    assert html.unescape(body) == plain(text)  # exactly the text, shown literally


@pytest.mark.parametrize("text", ATTACKS)
def test_html_text_is_literal(text: str) -> None:
    out = html_text(text)
    assert "<" not in out and ">" not in out and '"' not in out and "\r" not in out and "\n" not in out
    assert html.unescape(out) == plain(text)


def test_readme_row_cannot_be_forged(lb: Path) -> None:
    """A CR in `model` used to split the README row so that a contributor could forge a full row."""
    forged = "| 1 | `forged` | Forged model | 0.00 | 0.0000 | 0 | 0 | 0 | 1 | 0 | - | - | - |"
    model = f"=Pitch\r{forged}\r<img src=x onerror=alert(1)>"
    edit_yaml(lb / "entries" / "pitch-variance", lambda d: d.update(
        model=model, description="x\r| y |",
        compute="[click](http://evil.example) ![i](http://evil.example/i.png) <script>x</script>"))  # fmt: skip
    out = render_all(cfg(lb))
    page = MarkdownIt("commonmark").enable("table").render(out["README.md"].decode())
    eval_table = page.split("Track <code>eval</code> (main)")[1].split("</table>")[0]
    assert eval_table.count("<tr>") == 3  # header + the two entries
    assert "<a " not in page.replace('<a href="../CONTRIBUTING.md">', "") and "<img" not in page
    assert "<script" not in page
    html_page = out["site/index.html"].decode()
    assert "<script>x</script>" not in html_page and "<img" not in html_page and "\r" not in html_page
    payload = re.search(r'id="lb-data">(.*?)</script>', html_page, re.S).group(1)
    entry = next(e for e in json.loads(payload)["entries"] if e["entry_id"] == "pitch-variance")
    assert entry["model"] == model  # JSON in <script> keeps the text exact; the page shows it as text
    rows = csv.DictReader(io.StringIO(out["leaderboard.csv"].decode()))
    cells = {r["model"] for r in rows if r["entry_id"] == "pitch-variance"}
    assert cells == {"'" + plain(model)}  # one line, and no spreadsheet formula


# --- item 6: copies and oracles ------------------------------------------------------------------


def test_copied_entry_is_refused_naming_both(lb: Path, capsys) -> None:
    """A copy used to pass and outrank its original through the id tie-break ("aaa" < "pitch")."""
    clone(lb, "pitch-variance", "aaa-copy")
    with pytest.raises(RcbError) as err:
        render_all(cfg(lb))
    msg = str(err.value)
    assert "aaa-copy: scores/eval.tsv: copy of entry pitch-variance (identical scores)" in msg
    assert "pitch-variance: scores/eval.tsv: copy of entry aaa-copy (identical scores)" in msg
    assert main(["leaderboard", "validate", f"root={lb}", f"entry={lb / 'entries' / 'aaa-copy'}"]) == 2
    assert "copy of entry pitch-variance" in capsys.readouterr().err


def test_rescaled_copy_is_refused(lb: Path) -> None:
    clone(lb, "spectral-flatness", "aaa-rescaled", lambda u, v: 3.0 * v + 1.0)
    with pytest.raises(RcbError, match=r"aaa-rescaled: scores/eval.tsv: copy of entry spectral-flatness "
                                       r"\(Spearman rank correlation 1.00000 > 0.999\)"):  # fmt: skip
        render_all(cfg(lb, copy_min_trials=5))


def test_oracle_entry_is_flagged_unranked_until_reproduced(lb, corpus, tmp_path, capsys) -> None:
    e = oracle(lb)
    assert main(["leaderboard", "validate", f"root={lb}", f"entry={e}"]) == 0
    out = capsys.readouterr().out
    assert "FLAG oracle scores/eval.tsv: perfect separation (EER 0): needs reproduction" in out
    d = data(lb)
    ranks = {x["entry_id"]: x["rank"] for x in d["entries"]}
    assert ranks["oracle"] is None and sorted(r for r in ranks.values() if r) == [1, 2]
    assert d["entries"][-1]["entry_id"] == "oracle"  # listed after the ranked entries
    readme = render_all(cfg(lb))["README.md"].decode()
    row = next(ln for ln in readme.splitlines() if "`oracle`" in ln)
    assert row.startswith("| - |") and "not ranked: perfect separation (EER 0), needs reproduction" in row
    assert "params†" in readme and "self-reported" in readme
    assert d["self_reported"] == ["params", "macs", "cpu_rtf", "train_samples_per_s", "compute"]
    # a maintainer re-runs it: ranked, with the mark
    copy_recipe(e, tmp_path / "probe.json")
    reproduce(e, corpus, cfg(lb), ReproduceOptions(confirm=True, allow_network=True))
    d = data(lb)
    top = d["entries"][0]
    assert top["entry_id"] == "oracle" and top["rank"] == 1 and top["reproduced"]["date"]
    readme = render_all(cfg(lb))["README.md"].decode()
    assert f"reproduced {top['reproduced']['date']}" in next(
        ln for ln in readme.splitlines() if "`oracle`" in ln
    )
    # the record only holds while the score files are the ones re-run
    f = e / "scores" / "early-2s.tsv"
    f.write_text(f.read_text().replace("\t1.0\n", "\t0.99\n", 1))
    d = data(lb)
    assert next(x for x in d["entries"] if x["entry_id"] == "oracle")["reproduced"] is None
