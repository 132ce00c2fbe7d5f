"""The static leaderboard page: one self-contained HTML file (data inline, no network), works from file://.

Entry text is untrusted: the data travels as JSON inside a ``<script type="application/json">``
(with ``<``, ``>``, ``&`` escaped) and the script writes it with ``textContent`` only, never as HTML;
the ``<noscript>`` tables are built here with :func:`.escape.html_text`. One section per registered
corpus: entries on different corpora never share a table.
"""

from __future__ import annotations

import json

from scipy.special import ndtri

from .escape import html_text
from .render import NEEDS_REPRODUCTION, SECTIONS, corpus_entries, rank_cell, track_rows

DET_TICKS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:80em;padding:0 1em;color:#222}
h1{margin-bottom:.2em}.note{color:#555;max-width:60em}
[role=tablist]{display:flex;gap:.3em;border-bottom:2px solid #ccd;margin-top:1em;flex-wrap:wrap}
[role=tab]{border:1px solid #ccd;border-bottom:none;background:#f4f5f8;padding:.4em .9em;cursor:pointer;font:inherit}
[role=tab][aria-selected=true]{background:#fff;font-weight:600;position:relative;top:2px}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #dde;padding:.3em .55em;text-align:right;white-space:nowrap}
td.t,th.t{text-align:left}th{background:#f4f5f8;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.ci{color:#777;font-size:.8em;display:block}.wrap{overflow-x:auto}svg{background:#fff;border:1px solid #dde}
.legend text{font-size:11px}.axis text{font-size:10px;fill:#444}section.corpus{margin-top:2em}
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lb-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLS = [
    {key: "rank", label: "#", num: true, show: "rank_label"},
    {key: "entry_id", label: "entry", text: true},
    {key: "model", label: "model", text: true},
    {key: "eer", label: "EER %", metric: true, pct: true},
    {key: "min_dcf", label: "minDCF", metric: true},
    {key: "act_dcf", label: "actDCF", metric: true},
    {key: "cllr", label: "Cllr", metric: true},
    {key: "min_cllr", label: "minCllr", metric: true},
    {key: "auc", label: "AUC", metric: true},
    {key: "fnr_at_fpr_1pct", label: "FNR@FPR1% %", metric: true, pct: true},
    {key: "params", label: "params\u2020", num: true},
    {key: "macs", label: "MACs/s\u2020", num: true},
    {key: "cpu_rtf", label: "CPU RTF\u2020", num: true},
    {key: "train_samples_per_s", label: "train samples/s\u2020", num: true},
    {key: "verified", label: "verified", text: true}
  ];
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = String(text); }
    return e;
  }
  function fmt(v, pct) {
    if (v === null || v === undefined) { return "-"; }
    return pct ? (100 * v).toFixed(2) : v.toFixed(4);
  }
  function rowsFor(corpus, track) {
    var rows = data.entries.filter(function (e) {
      return e.corpus.name === corpus.name && e.corpus.version === corpus.version && e.tracks[track];
    }).map(function (e) {
      var m = e.tracks[track], r = {entry_id: e.entry_id, model: e.model, params: e.params, macs: e.macs,
        cpu_rtf: e.cpu_rtf, train_samples_per_s: e.train_samples_per_s, description: e.description, flag: m.flag};
      // ranks come from the build (paired-bootstrap ties): "=2" when the entry shares its rank
      r.rank = m.rank;
      r.rank_label = m.rank === null ? "-" : (m.tied_with.length ? "=" : "") + m.rank;
      r.verified = e.reproduced ? "reproduced " + e.reproduced.date : (m.flag ? data.needs_reproduction : "-");
      COLS.forEach(function (c) { if (c.metric) { r[c.key] = m[c.key].value; r[c.key + "_ci"] = m[c.key].ci; } });
      return r;
    });
    // flagged rows (perfect separation, not reproduced) come after the ranked ones, without a rank
    rows.sort(function (a, b) {
      return (a.flag ? 1 : 0) - (b.flag ? 1 : 0) || a.eer - b.eer || a.min_dcf - b.min_dcf || (a.entry_id < b.entry_id ? -1 : 1);
    });
    return rows;
  }
  function renderBody(tbody, rows) {
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    rows.forEach(function (r) {
      var tr = el("tr", {"data-entry": r.entry_id});
      COLS.forEach(function (c) {
        var td = el("td", {"class": c.text ? "t" : ""});
        if (c.metric) {
          td.appendChild(document.createTextNode(fmt(r[c.key], c.pct)));
          var ci = r[c.key + "_ci"];
          if (ci) { td.appendChild(el("span", {"class": "ci"}, "[" + fmt(ci[0], c.pct) + ", " + fmt(ci[1], c.pct) + "]")); }
        } else if (c.num) {
          var v = r[c.show || c.key];
          td.textContent = v === null || v === undefined ? "-" : String(v);
        } else {
          td.textContent = r[c.key];
          if (c.key === "model" && r.description) { td.title = r.description; }
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }
  function makeTable(corpus, track) {
    var rows = rowsFor(corpus, track), table = el("table", {"class": "lb", "data-track": track});
    var thead = el("thead"), hr = el("tr"), tbody = el("tbody");
    COLS.forEach(function (c) {
      var th = el("th", {"class": c.text ? "t" : "", "data-key": c.key, "aria-sort": c.key === "rank" ? "ascending" : "none"}, c.label);
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(hr.children, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var x = a[c.key], y = b[c.key];
          if (x === null || x === undefined) { return 1; }
          if (y === null || y === undefined) { return -1; }
          var d = c.text ? String(x).localeCompare(String(y)) : x - y;
          return asc ? d : -d;
        });
        renderBody(tbody, rows);
      });
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    table.appendChild(thead);
    table.appendChild(tbody);
    renderBody(tbody, rows);
    return table;
  }
  function makeDet(corpus, track) {
    var curves = corpus.det[track] || [], W = 360, M = 40, lim = data.det_axis;
    var s = svg("svg", {width: W + M + 10, height: W + M + 10, "data-track": track, role: "img"});
    s.appendChild(svg("title", {}, "DET curves, track " + track));
    function px(v) { return M + (v - lim[0]) / (lim[1] - lim[0]) * W; }
    function py(v) { return 10 + W - (v - lim[0]) / (lim[1] - lim[0]) * W; }
    var axis = svg("g", {"class": "axis"});
    data.det_ticks.forEach(function (t) {
      axis.appendChild(svg("line", {x1: px(t.pos), x2: px(t.pos), y1: 10, y2: 10 + W, stroke: "#eee"}));
      axis.appendChild(svg("line", {x1: M, x2: M + W, y1: py(t.pos), y2: py(t.pos), stroke: "#eee"}));
      axis.appendChild(svg("text", {x: px(t.pos), y: W + 24, "text-anchor": "middle"}, t.label));
      axis.appendChild(svg("text", {x: M - 4, y: py(t.pos) + 3, "text-anchor": "end"}, t.label));
    });
    axis.appendChild(svg("text", {x: M + W / 2, y: W + M + 6, "text-anchor": "middle"}, "FPR: humans flagged (%)"));
    axis.appendChild(svg("text", {x: 10, y: 10 + W / 2, transform: "rotate(-90 10 " + (10 + W / 2) + ")", "text-anchor": "middle"}, "FNR: robocalls missed (%)"));
    s.appendChild(axis);
    var colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];
    var legend = svg("g", {"class": "legend"});
    curves.forEach(function (c, i) {
      var pts = c.points.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join(" ");
      s.appendChild(svg("polyline", {points: pts, fill: "none", stroke: colors[i % colors.length], "stroke-width": 2, "data-entry": c.entry_id}));
      legend.appendChild(svg("rect", {x: M + W - 150, y: 16 + 14 * i, width: 10, height: 10, fill: colors[i % colors.length]}));
      legend.appendChild(svg("text", {x: M + W - 136, y: 25 + 14 * i}, c.entry_id));
    });
    s.appendChild(legend);
    return s;
  }
  function makeCorpus(corpus, ci) {
    var sec = el("section", {"class": "corpus", "data-corpus": corpus.name + " " + corpus.version});
    sec.appendChild(el("h2", {}, corpus.name + " " + corpus.version + (corpus.title ? ": " + corpus.title : "")));
    sec.appendChild(el("p", {"class": "note"}, data.sections[corpus.kind] + ". Protocol sha256 " + corpus.protocol_sha256 + "."));
    if (!corpus.tracks.length) { sec.appendChild(el("p", {}, "No entries yet.")); return sec; }
    var tablist = el("div", {role: "tablist", "aria-label": "tracks"}), panels = el("div", {"class": "panels"});
    function select(track) {
      Array.prototype.forEach.call(tablist.children, function (b) {
        var on = b.getAttribute("data-track") === track;
        b.setAttribute("aria-selected", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
      });
      Array.prototype.forEach.call(panels.children, function (p) { p.hidden = p.getAttribute("data-track") !== track; });
    }
    corpus.tracks.forEach(function (t) {
      var id = ci + "-" + t;
      var b = el("button", {role: "tab", id: "tab-" + id, "aria-controls": "panel-" + id, "data-track": t},
        t + (t === data.main_track ? " (main)" : ""));
      b.addEventListener("click", function () { select(t); });
      tablist.appendChild(b);
      var p = el("section", {role: "tabpanel", id: "panel-" + id, "aria-labelledby": "tab-" + id, "data-track": t});
      var wrap = el("div", {"class": "wrap"});
      wrap.appendChild(makeTable(corpus, t));
      p.appendChild(wrap);
      p.appendChild(el("h3", {}, "DET curves of the top entries"));
      p.appendChild(makeDet(corpus, t));
      panels.appendChild(p);
    });
    sec.appendChild(tablist);
    sec.appendChild(panels);
    select(corpus.tracks.indexOf(data.main_track) >= 0 ? data.main_track : corpus.tracks[0]);
    return sec;
  }
  var root = document.getElementById("corpora");
  data.corpora.forEach(function (corpus, ci) { root.appendChild(makeCorpus(corpus, "c" + ci)); });
  if (!data.corpora.length) { root.appendChild(el("p", {}, "No entries yet.")); }
  document.body.setAttribute("data-ready", "1");
})();
"""


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
    b = data["bootstrap"]
    note = (
        "Every number is recomputed from the entries' score files and the registered protocol of their "
        "corpus; entries are ranked only against entries on the same corpus, by EER on the main eval "
        "track (ties by minDCF). Brackets: 95% cluster-bootstrap confidence intervals "
        f"({b['n']} replicates). =2: a tied rank, the paired-bootstrap 95% CI of the EER difference with "
        "the best entry of its rank group includes 0. A track separated perfectly (EER 0) is not ranked until a maintainer "
        "reproduces the entry (verified column). \u2020 self-reported by the entry, not measured by the "
        "leaderboard. Click a column header to sort; hover a model for its description."
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,"><title>robocall-bench leaderboard</title>'
        f"<style>{CSS}</style></head>\n<body>\n<h1>robocall-bench leaderboard</h1>\n"
        f'<p class="note">{note}</p>\n'
        '<div id="corpora"></div>\n'
        f"<noscript>{_noscript(data)}</noscript>\n"
        f'<script type="application/json" id="lb-data">{_json_for_script(page)}</script>\n'
        f"<script>{JS}</script>\n</body></html>\n"
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
