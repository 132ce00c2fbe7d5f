"""The leaderboard page in headless Chromium (playwright-core) at 1280 px: loads from file://, no
network, chooses a corpus, switches tabs (campaign included), sorts, opens an entry's drill-down,
draws the Pareto plots, shows tie and reproduced marks, never scrolls sideways, and takes a
screenshot. Needs Debian's chromium and the npm package playwright-core (.ci/browser.sh)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.leaderboard.build import build
from robocall_bench.leaderboard.registry import register_protocol
from robocall_bench.leaderboard.site import render_site
from robocall_bench.leaderboard.validate import LeaderboardConfig
from test_eval_fixtures import make_corpus, make_leaderboard

DRIVER = r"""
const { chromium } = require("playwright-core");
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.on("request", (r) => { if (!/^(file|data):/.test(r.url())) problems.push("request: " + r.url()); });
  await page.goto(process.env.PAGE_URL);
  await page.waitForSelector("body[data-ready='1']", { timeout: 15000 });
  const CORPUS = "section.corpus:not([hidden])";
  const PANEL = `${CORPUS} section[role=tabpanel]:not([hidden])`;
  const tracks = (sel) => page.$$eval(sel, (bs) => bs.map((b) => b.dataset.track));
  const order = () => page.$$eval(`${PANEL} table.lb tbody tr`, (rs) => rs.map((r) => r.dataset.entry));
  const width = () => page.evaluate(() => document.documentElement.scrollWidth);
  // every visible table container must fit too (a table scrolling inside its box is still sideways)
  const overflow = () => page.$$eval(".wrap", (ws) => ws.filter((w) => w.offsetParent && w.scrollWidth > w.clientWidth).length);
  const out = { widths: [], overflow: [] };
  const measure = async () => { out.widths.push(await width()); out.overflow.push(await overflow()); };

  out.options = await page.$$eval("#corpus-select option", (os) => os.map((o) => o.textContent));
  out.corpus0 = await page.$$eval(CORPUS, (ss) => ss.map((s) => s.dataset.corpus));
  out.tabs0 = await tracks(`${CORPUS} [role=tab]`);
  await page.click(`${CORPUS} [role=tab][data-track="unseen-systems"]`);
  out.emptyTrack = await page.textContent(PANEL);
  await measure();

  await page.selectOption("#corpus-select", { index: 1 });
  out.corpus1 = await page.$$eval(CORPUS, (ss) => ss.map((s) => s.dataset.corpus));
  out.tabs1 = await tracks(`${CORPUS} [role=tab]`);
  out.visible1 = await tracks(PANEL);
  out.initial = await order();
  out.ranks = await page.$$eval(`${PANEL} table.lb tbody tr td:first-child`, (ts) => ts.map((t) => t.textContent));
  out.tieMarks = await page.$$eval(`${PANEL} .mark.tie`, (ms) => ms.map((m) => m.textContent));
  out.repMarks = await page.$$eval(`${PANEL} .mark.rep`, (ms) => ms.length);
  out.models = await page.$$eval(`${PANEL} table.lb td.entry .sub`, (ts) => ts.map((t) => t.textContent));
  await page.click(`${PANEL} th[data-key="entry_id"]`);
  out.byIdAsc = await order();
  out.sortAttr = await page.getAttribute(`${PANEL} th[data-key="entry_id"]`, "aria-sort");
  await page.click(`${PANEL} th[data-key="entry_id"]`);
  out.byIdDesc = await order();
  await page.click(`${PANEL} th[data-key="eer"]`);
  out.byEerAsc = await order();
  await measure();

  await page.click(`${CORPUS} [role=tab][data-track="campaign"]`);
  out.visible2 = await tracks(PANEL);
  out.selected2 = await page.getAttribute(`${CORPUS} [role=tab][data-track="campaign"]`, "aria-selected");
  out.detLines = await page.$$eval(`${PANEL} svg.det polyline`, (ls) => ls.length);
  out.pareto = await page.$$eval(`${PANEL} figure.pareto`, (fs) => fs.map((f) => ({
    key: f.dataset.key, points: f.querySelectorAll("circle.pt").length, front: f.querySelectorAll("circle.pt.front").length,
    labels: Array.from(f.querySelectorAll("text.plabel")).map((t) => t.textContent), note: f.querySelector("p").textContent })));
  out.clustering = await page.$$eval(`${PANEL} table.clustering tr[data-entry]`, (rs) => rs.map((r) => Array.from(r.cells).map((c) => c.textContent)));
  out.drillHidden0 = await page.$eval(`${PANEL} .drill`, (d) => d.hidden);
  const first = (await order())[0];
  await page.click(`${PANEL} table.lb tbody tr[data-entry="${first}"]`);
  out.picked = first;
  const drill = () => page.$eval(`${PANEL} .drill`, (d) => ({
    hidden: d.hidden, entry: d.dataset.entry, title: d.querySelector("h3").textContent,
    columns: Array.from(d.querySelectorAll("table.cond")).map((t) => t.dataset.column),
    roles: Array.from(d.querySelectorAll('table.cond[data-column="role"] tr[data-value]')).map((r) => r.dataset.value),
    meta: Object.fromEntries(Array.from(d.querySelectorAll("dl.meta dt")).map((t) => [t.textContent, t.nextElementSibling.textContent])),
    links: Array.from(d.querySelectorAll("a")).map((a) => a.getAttribute("href")) }));
  out.drill = await drill();
  await measure();
  await page.screenshot({ path: process.env.SHOT, fullPage: true });
  await page.click(`${PANEL} th[data-key="min_dcf"]`);
  out.pickedAfterSort = await page.$$eval(`${PANEL} table.lb tr.picked`, (rs) => rs.map((r) => r.dataset.entry));
  await page.click(`${PANEL} table.lb tbody tr[data-entry="${first}"]`);
  out.drillHidden1 = await page.$eval(`${PANEL} .drill`, (d) => d.hidden);
  const other = (await order())[1];
  await page.focus(`${PANEL} table.lb tbody tr[data-entry="${other}"]`);
  await page.keyboard.press("Enter");
  out.drill2 = await drill();
  out.links = await page.$$eval("a", (as) => as.map((a) => a.getAttribute("href")));
  out.injected = await page.$$eval("img, iframe, object, embed, script:not([id]):not([type])", (es) => es.length);
  out.problems = problems;
  console.log(JSON.stringify(out));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


HOSTILE = "x</script><script>alert(1)</script>![i](http://e.x/i.png)<img src=x onerror=alert(2)>"
PRETRAINED = {
    "id": "org/backbone",
    "revision": "0123abc",
    "license": "cc-by-nc-4.0",
    "url": "https://example.org/org/backbone",
}


def _tools() -> tuple[str, str, str]:
    node = shutil.which("node")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not (node and chromium):
        pytest.skip("node and Debian's chromium are needed (run .ci/browser.sh)")
    npm = shutil.which("npm")
    roots = (
        [subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout.strip()] if npm else []
    )
    node_path = os.pathsep.join([*roots, os.environ.get("NODE_PATH", "")])
    probe = subprocess.run(
        [node, "-e", "require.resolve('playwright-core')"], env={**os.environ, "NODE_PATH": node_path}
    )
    if probe.returncode != 0:
        pytest.skip("npm package playwright-core is not installed (run .ci/browser.sh)")
    return node, chromium, node_path


def _edit(entry: Path, **changes) -> None:
    d = yaml.safe_load((entry / "entry.yaml").read_text())
    d.update(changes)
    (entry / "entry.yaml").write_text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True))


def _official_corpus(base: Path, lb: Path) -> None:
    """A second, official corpus (registered without a campaign track) with no entries yet: as the
    release is before its baselines (an entry on it would have to score every registered track)."""
    corpus = make_corpus(base / "official", seed=3, version="0.2.0")
    register_protocol(corpus, lb, kind="official", title="Second corpus")


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> tuple[Path, dict]:
    """A built leaderboard: an official corpus (no entries yet) and the example corpus with a
    campaign track (two entries, one with hostile text, one with pretrained weights); its data."""
    base = tmp_path_factory.mktemp("site")
    _, lb = make_leaderboard(base, seed=1, campaign=True)
    entries = lb / "entries"
    # hostile strings must stay text; only http(s) URLs become links
    _edit(
        entries / "pitch-variance",
        description="</script><img src=x onerror=alert(1)> Minus",
        model=HOSTILE,
        code={"repository": "javascript:alert(3)", "commit": "0123abc"},
    )
    _edit(
        entries / "spectral-flatness",
        pretrained=PRETRAINED,
        params=1200,
        code={"repository": "https://example.org/code", "commit": "4567def"},
    )
    _official_corpus(base, lb)
    build(LeaderboardConfig(root=lb, bootstrap=BootstrapConfig(n=30)))
    return lb, json.loads((lb / "leaderboard.json").read_text())


def _run(tmp_path: Path, data: dict, driver: str, **env: str) -> dict:
    """Render ``data`` as the page, run ``driver`` on it in Chromium; its last stdout line as JSON."""
    node, chromium, node_path = _tools()
    page = tmp_path / "site" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render_site(data), encoding="utf-8")
    (tmp_path / "driver.cjs").write_text(driver)
    r = subprocess.run(
        [node, str(tmp_path / "driver.cjs")],
        env={**os.environ, **env, "NODE_PATH": node_path, "CHROMIUM": chromium, "PAGE_URL": page.as_uri()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _example(data: dict) -> list[dict]:
    return [e for e in data["entries"] if e["corpus"]["version"] == "0.1.0"]


def test_page_in_headless_chromium(board, tmp_path: Path) -> None:
    _, data = board
    data = copy.deepcopy(data)
    assert [c["kind"] for c in data["corpora"]] == ["official", "example"]
    assert data["corpora"][1]["registered_tracks"] == ["eval", "unseen-systems", "unseen-channel", "campaign"]
    example = _example(data)
    assert {c for e in example for c in e["tracks"]["campaign"]["conditions"]} == {
        "system", "codec", "snr_bucket", "language", "duration_bucket", "role"
    }  # fmt: skip
    # the significance build's contract (rank + tied per track) and a clustering block, as the
    # build would write them
    for e in example:
        e["tracks"]["eval"].update(rank=1, tied=True)
    example[0]["tracks"]["campaign"]["clustering"] = {
        "all": {"bcubed_precision": 0.9, "bcubed_recall": 0.8, "bcubed_f1": 0.847, "ari": 0.7,
                "n_calls": 24, "n_true_clusters": 15, "n_pred_clusters": 14},
        "campaign_calls": None,
    }  # fmt: skip
    shot = tmp_path / "site-1280.png"
    out = _run(tmp_path, data, DRIVER, SHOT=str(shot))
    assert out["problems"] == []
    # no sideways scrolling at 1280 px: the document, nor any table box, with a drill-down open
    assert max(out["widths"]) <= 1280 and out["overflow"] == [0, 0, 0], out
    assert shot.stat().st_size > 20_000

    # corpus chooser: the official corpus first and alone; then the example one
    assert out["options"] == ["robocall-bench 0.2.0 (0 entries)", "robocall-bench 0.1.0 (2 entries)"]
    assert out["corpus0"] == ["robocall-bench 0.2.0"] and out["corpus1"] == ["robocall-bench 0.1.0"]
    assert out["tabs0"] == ["eval", "unseen-systems", "unseen-channel"]  # registered, entries or not
    assert "No entries on this track yet." in out["emptyTrack"]
    assert out["tabs1"] == ["eval", "unseen-systems", "unseen-channel", "campaign", "early-2s"]

    # table: order, ties, sorting; hostile text shown as text
    assert out["visible1"] == ["eval"]
    ranked = [e["entry_id"] for e in example]
    assert out["initial"] == ranked
    assert out["ranks"] == ["=1", "=1"] and out["tieMarks"] == ["=1", "=1"]  # computed: 1, 2
    assert out["repMarks"] == 0
    assert HOSTILE in out["models"] and out["injected"] == 1  # the one script is the page's
    assert out["byIdAsc"] == sorted(ranked) and out["sortAttr"] == "ascending"
    assert out["byIdDesc"] == sorted(ranked, reverse=True)
    eer = {e["entry_id"]: e["tracks"]["eval"]["eer"]["value"] for e in example}
    assert out["byEerAsc"] == sorted(ranked, key=lambda i: eer[i])

    # campaign tab: DET curves, clustering, Pareto plots
    assert out["visible2"] == ["campaign"] and out["selected2"] == "true"
    assert out["detLines"] == 2
    assert out["clustering"] == [
        [example[0]["entry_id"], "all calls", "0.900", "0.800", "0.847", "0.700", "14 / 15"]
    ]
    pareto = {p["key"]: p for p in out["pareto"]}
    assert set(pareto) == {"cpu_rtf", "params"}
    assert pareto["cpu_rtf"]["points"] == 2 and sorted(pareto["cpu_rtf"]["labels"]) == sorted(ranked)
    assert pareto["params"]["points"] == 2 and pareto["params"]["front"] >= 1  # 0 and 1200 parameters

    # drill-down of the clicked row (then of the other by keyboard): per-condition tables, metadata
    d, d2 = out["drill"], out["drill2"]
    assert out["drillHidden0"] is True and d["hidden"] is False and d["entry"] == out["picked"]
    assert d["title"] == f"{out['picked']} on track campaign"
    assert d["columns"] == ["system", "codec", "snr_bucket", "language", "duration_bucket", "role"]
    assert d["roles"] == ["tts", "recorded"]
    assert out["pickedAfterSort"] == [out["picked"]]  # sorting keeps the open row marked
    assert out["drillHidden1"] is True and not d2["hidden"] and {d["entry"], d2["entry"]} == set(ranked)
    meta = {x["entry"]: x["meta"] for x in (d, d2)}
    assert meta["pitch-variance"]["code"] == "javascript:alert(3) @ 0123abc"  # text, not a link
    assert meta["pitch-variance"]["pretrained weights"] == "none"
    assert meta["spectral-flatness"]["pretrained weights"] == (
        "https://example.org/org/backbone (org/backbone) @ 0123abc; license: cc-by-nc-4.0"
    )
    assert {"model", "description", "training data", "experiment", "reproduced"} <= set(
        meta["pitch-variance"]
    )
    links = {x["entry"]: sorted(x["links"]) for x in (d, d2)}
    assert links == {
        "pitch-variance": [],  # javascript: stays text
        "spectral-flatness": ["https://example.org/code", "https://example.org/org/backbone"],
    }
    assert set(out["links"]) <= set(links["spectral-flatness"])  # no other link anywhere


MARKS = r"""
const { chromium } = require("playwright-core");
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(process.env.PAGE_URL);
  await page.waitForSelector("body[data-ready='1']", { timeout: 15000 });
  await page.selectOption("#corpus-select", { index: 1 });
  const P = "section.corpus:not([hidden]) section[role=tabpanel]:not([hidden])";
  console.log(JSON.stringify({
    rep: await page.$$eval(`${P} table.lb tr`, (rs) => rs.filter((r) => r.querySelector(".mark.rep")).map((r) => r.dataset.entry)),
    flagged: await page.$$eval(`${P} table.lb tr`, (rs) => rs.filter((r) => r.querySelector(".mark.flag")).map((r) => r.dataset.entry)),
    ties: await page.$$eval(`${P} .mark.tie`, (ms) => ms.length),
    ranks: await page.$$eval(`${P} table.lb tbody td:first-child`, (ts) => ts.map((t) => t.textContent)),
    notes: await page.$$eval(`${P} figure.pareto p`, (ps) => ps.map((p) => p.textContent)),
    points: await page.$$eval(`${P} figure.pareto circle.pt`, (cs) => cs.length),
  }));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_marks_and_pareto_notes(board, tmp_path: Path) -> None:
    """A reproduced mark, an unranked (flagged) row, no tie mark when ``tied`` is false, and the
    entries left out of the Pareto plots named under them."""
    _, data = board
    data = copy.deepcopy(data)
    a, b = _example(data)
    a["reproduced"] = {"date": "2026-01-02", "code_version": "0123abc", "network": "isolated"}
    a["cpu_rtf"] = None
    b["tracks"]["eval"]["flag"] = "perfect separation (EER 0): needs reproduction"
    for e, rank in ((a, 1), (b, None)):  # as the build ranks a flagged row: no rank, no tie
        e["tracks"]["eval"].update(rank=rank, tied=False, tied_with=[])
    out = _run(tmp_path, data, MARKS)
    assert out["rep"] == [a["entry_id"]] and out["flagged"] == [b["entry_id"]]
    assert out["ties"] == 0 and out["ranks"] == ["1", "-"]
    cpu, params = out["notes"]
    assert f"Left out (no CPU RTF reported): {a['entry_id']}." in cpu
    assert f"Left out (not ranked): {b['entry_id']}." in cpu and f"(not ranked): {b['entry_id']}." in params
    assert out["points"] == 1  # a, on the parameters plot only
