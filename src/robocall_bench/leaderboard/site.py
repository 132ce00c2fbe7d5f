"""The static leaderboard page: one self-contained HTML file (data inline, no network), works from file://.

Entry text is untrusted: the data travels as JSON inside a ``<script type="application/json">``
(with ``<``, ``>``, ``&`` escaped) and the script writes it with ``textContent`` only, never as HTML;
the ``<noscript>`` tables are built here with :func:`.escape.html_text`. One section per registered
corpus: entries on different corpora never share a table.
"""

from __future__ import annotations

import json
from importlib import resources

from scipy.special import ndtri

from ..contract import parse_early, track_order
from .escape import html_text
from .render import NEEDS_REPRODUCTION, SECTIONS, corpus_entries, rank_cell, track_rows

DET_TICKS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95)
# The page's stylesheet and scripts (package data under page/), concatenated into one script in
# this order: helpers first, main.js last (it builds the page).
ASSETS = resources.files(__package__) / "page"
SCRIPTS = ("util.js", "table.js", "drill.js", "plots.js", "main.js")
TRACK_NOTES = {
    "eval": "The main track: systems and codecs seen in train/dev.",
    "unseen-systems": "Robocalls from TTS systems never seen in train/dev.",
    "unseen-channel": "Both classes through a codec never seen in train/dev.",
    "campaign": "One message played in many calls, and live calls; a set-level system may score the "
    "calls together (docs/campaign.md).",
}


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _script() -> str:
    body = "\n".join(_asset(n) for n in SCRIPTS)
    if "</script" in body.lower() or "<!--" in body:
        raise ValueError("a page script holds </script or <!--, which would end or confuse the element")
    return (
        '(function () {\n"use strict";\n'
        'var data = JSON.parse(document.getElementById("lb-data").textContent);\n'
        f"{body}}})();\n"
    )


def _track_notes(tracks: list[str]) -> dict[str, str]:
    out = {t: TRACK_NOTES[t] for t in tracks if t in TRACK_NOTES}
    for t in tracks:
        s = parse_early(t)
        if s is not None:
            out[t] = f"The main eval track scored from the first {s:g} s of each call only."
    return out


def _json_for_script(obj: object) -> str:
    # Inside <script>, "</script>" or "<!--" in entry text would end or confuse the element; escaping
    # <, > and & as \u00XX keeps the JSON identical once parsed.
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_site(data: dict) -> str:
    """The complete index.html for the leaderboard data of :func:`build.leaderboard_data`."""
    lo, hi = 5e-4, 0.99
    page = dict(data)
    page["det_axis"] = [round(float(ndtri(lo)), 3), round(float(ndtri(hi)), 3)]
    page["det_ticks"] = [{"pos": round(float(ndtri(t)), 3), "label": f"{100 * t:g}"} for t in DET_TICKS]
    page["sections"], page["needs_reproduction"] = SECTIONS, NEEDS_REPRODUCTION
    # Tabs: every track the registry lists for the corpus (a registered track without entries says
    # so), plus the early-<N>s tracks entries scored.
    page["corpora"] = [
        {**c, "tabs": track_order({*c.get("registered_tracks", []), *c["tracks"]})} for c in data["corpora"]
    ]
    page["track_notes"] = _track_notes(track_order({t for c in page["corpora"] for t in c["tabs"]}))
    b = data["bootstrap"]
    note = (
        "Every number is recomputed from the entries' score files and the registered protocol of their "
        "corpus; entries are ranked only against entries on the same corpus, by EER on the main eval "
        "track (ties by minDCF). Brackets: 95% cluster-bootstrap confidence intervals "
        f"({b['n']} replicates). A track separated perfectly (EER 0) is not ranked until a maintainer "
        "reproduces the entry (verified column); =N marks entries tied at rank N (the paired-bootstrap "
        "95% CI of their EER difference includes 0). \u2020 self-reported by the entry, not measured by the "
        "leaderboard. Click a column header to sort, a row for the entry's details and per-condition EERs."
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,"><title>robocall-bench leaderboard</title>'
        f"<style>{_asset('page.css')}</style></head>\n<body>\n<h1>robocall-bench leaderboard</h1>\n"
        f'<p class="note">{note}</p>\n'
        '<div id="corpora"></div>\n'
        f"<noscript>{_noscript(data)}</noscript>\n"
        f'<script type="application/json" id="lb-data">{_json_for_script(page)}</script>\n'
        f"<script>{_script()}</script>\n</body></html>\n"
    )


def _noscript(data: dict) -> str:
    """Main-track tables without JavaScript: every contributor string through html_text."""
    out = []
    for corpus in data["corpora"]:
        entries = corpus_entries(data, corpus)
        out.append(f"<h2>{html_text(corpus['name'])} {html_text(corpus['version'])}</h2>")
        if data["main_track"] not in corpus["tracks"]:
            out.append("<p>No entries yet.</p>")
            continue
        out.append("<table><tr><th>#</th><th>entry</th><th>model</th><th>EER %</th><th>verified</th></tr>")
        for e in track_rows(entries, data["main_track"]):
            m = e["tracks"][data["main_track"]]
            ver = (
                f"reproduced {e['reproduced']['date']}"
                if e["reproduced"]
                else (NEEDS_REPRODUCTION if m["flag"] else "-")
            )
            cells = [
                rank_cell(m),
                e["entry_id"],
                e["model"],
                f"{100 * m['eer']['value']:.2f}",
                ver,
            ]
            out.append("<tr>" + "".join(f"<td>{html_text(x)}</td>" for x in cells) + "</tr>")
        out.append("</table>")
    return "".join(out)
