"""The leaderboard page in headless Chromium (playwright-core): loads from file://, sorts, switches tabs,
no console errors. Needs Debian's chromium and the npm package playwright-core (.ci/browser.sh)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.leaderboard.build import build
from robocall_bench.leaderboard.validate import LeaderboardConfig
from test_eval_fixtures import make_leaderboard

DRIVER = r"""
const { chromium } = require("playwright-core");
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.on("requestfailed", (r) => problems.push("requestfailed: " + r.url()));
  await page.goto(process.env.PAGE_URL);
  await page.waitForSelector("body[data-ready='1']", { timeout: 15000 });
  const order = (t) => page.$$eval(`section[data-track="${t}"] tbody tr`, (rs) => rs.map((r) => r.dataset.entry));
  const visible = () => page.$$eval("section[role=tabpanel]", (ps) => ps.filter((p) => !p.hidden).map((p) => p.dataset.track));
  const out = { tabs: await page.$$eval("[role=tab]", (bs) => bs.map((b) => b.dataset.track)) };
  out.visible0 = await visible();
  out.initial = await order("eval");
  await page.click('section[data-track="eval"] th[data-key="entry_id"]');
  out.byIdAsc = await order("eval");
  out.sortAttr = await page.getAttribute('section[data-track="eval"] th[data-key="entry_id"]', "aria-sort");
  await page.click('section[data-track="eval"] th[data-key="entry_id"]');
  out.byIdDesc = await order("eval");
  await page.click('section[data-track="eval"] th[data-key="eer"]');
  out.byEerAsc = await order("eval");
  await page.click('section[data-track="eval"] th[data-key="eer"]');
  out.byEerDesc = await order("eval");
  await page.click("#tab-c0-unseen-systems");
  out.visible1 = await visible();
  out.selected1 = await page.getAttribute("#tab-c0-unseen-systems", "aria-selected");
  out.detLines = await page.$$eval('section[data-track="unseen-systems"] svg polyline', (ls) => ls.length);
  out.firstCell = await page.textContent('section[data-track="unseen-systems"] tbody tr td:nth-child(4)');
  out.corpora = await page.$$eval("section.corpus", (ss) => ss.map((s) => s.dataset.corpus));
  out.models = await page.$$eval('section[data-track="eval"] tbody tr td:nth-child(3)', (ts) => ts.map((t) => t.textContent));
  out.injected = await page.$$eval("img, a, script:not([id]):not([type])", (es) => es.length);
  out.verified = await page.$$eval('section[data-track="eval"] tbody tr td:last-child', (ts) => ts.map((t) => t.textContent));
  out.ranks = await page.$$eval('section[data-track="eval"] tbody tr td:first-child', (ts) => ts.map((t) => t.textContent));
  out.problems = problems;
  console.log(JSON.stringify(out));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


HOSTILE = "x</script><script>alert(1)</script>![i](http://e.x/i.png)<img src=x onerror=alert(2)>"


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


def test_page_in_headless_chromium(tmp_path: Path) -> None:
    node, chromium, node_path = _tools()
    _, lb = make_leaderboard(tmp_path, seed=1)
    # hostile description and model must stay text
    y = lb / "entries" / "pitch-variance" / "entry.yaml"
    y.write_text(
        y.read_text()
        .replace("description: Minus", "description: </script><img src=x onerror=alert(1)> Minus")
        .replace("model: Pitch-variance heuristic", f"model: {json.dumps(HOSTILE)}")
    )
    build(LeaderboardConfig(root=lb, bootstrap=BootstrapConfig(n=30)))
    page = lb / "site" / "index.html"
    data = json.loads((lb / "leaderboard.json").read_text())
    (tmp_path / "driver.cjs").write_text(DRIVER)
    r = subprocess.run(
        [node, str(tmp_path / "driver.cjs")],
        env={**os.environ, "NODE_PATH": node_path, "CHROMIUM": chromium, "PAGE_URL": page.resolve().as_uri()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["problems"] == []
    assert out["corpora"] == ["robocall-bench 0.1.0"]
    assert (
        out["tabs"]
        == data["corpora"][0]["tracks"]
        == ["eval", "unseen-systems", "unseen-channel", "early-2s"]
    )
    assert HOSTILE in out["models"] and out["injected"] == 1  # shown as text; the one script is the page's
    assert set(out["verified"]) <= {"-", "not ranked: perfect separation (EER 0), needs reproduction"}
    assert out["visible0"] == ["eval"]
    ranked = [e["entry_id"] for e in data["entries"]]
    assert out["initial"] == ranked
    # the build's ranks, "=N" when tied (paired-bootstrap ties)
    assert out["ranks"] == [("=" if e["tied_with"] else "") + str(e["rank"]) for e in data["entries"]]
    assert out["byIdAsc"] == sorted(ranked) and out["sortAttr"] == "ascending"
    assert out["byIdDesc"] == sorted(ranked, reverse=True)
    eer = {e["entry_id"]: e["tracks"]["eval"]["eer"]["value"] for e in data["entries"]}
    assert out["byEerAsc"] == sorted(ranked, key=lambda i: eer[i])
    assert out["byEerDesc"] != out["byEerAsc"] or len(set(eer.values())) == 1
    assert out["visible1"] == ["unseen-systems"] and out["selected1"] == "true"
    assert out["detLines"] == 2
    assert out["firstCell"].split("[")[0].strip().replace(".", "").isdigit()
