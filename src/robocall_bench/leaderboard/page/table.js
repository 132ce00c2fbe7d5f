// One track's sortable table. Rows are built from data.entries; a row's click opens the drill-down.
var COLS = [
  {key: "rank", label: "#", num: true},
  {key: "entry_id", label: "entry / model", text: true},
  {key: "eer", label: "EER %", metric: true, pct: true},
  {key: "min_dcf", label: "minDCF", metric: true},
  {key: "act_dcf", label: "actDCF", metric: true},
  {key: "cllr", label: "Cllr", metric: true},
  {key: "min_cllr", label: "minCllr", metric: true},
  {key: "auc", label: "AUC", metric: true},
  {key: "params", label: "params\u2020", cost: true},
  {key: "macs", label: "MACs/s\u2020", cost: true},
  {key: "cpu_rtf", label: "CPU RTF\u2020", cost: true},
  {key: "train_samples_per_s", label: "train/s\u2020", cost: true},
  {key: "verified", label: "verified", text: true}
];
var TIE_TITLE = "tied: the paired-bootstrap 95% CI of the EER difference to an entry of the same rank includes 0";

function sameCorpus(e, corpus) {
  return e.corpus.name === corpus.name && e.corpus.version === corpus.version;
}

// Table rows of one track in rank order: ranked rows by EER, minDCF, id; unranked (flagged) last.
// The build's per-track rank (equal for significance ties) wins; without one it is counted here.
function rowsFor(corpus, track) {
  var rows = data.entries.filter(function (e) { return sameCorpus(e, corpus) && e.tracks[track]; }).map(function (e) {
    var m = e.tracks[track], r = {entry: e, m: m, entry_id: e.entry_id, model: e.model, params: e.params,
      macs: e.macs, cpu_rtf: e.cpu_rtf, train_samples_per_s: e.train_samples_per_s, flag: m.flag,
      tied: m.tied === true, given_rank: Object.prototype.hasOwnProperty.call(m, "rank") ? m.rank : undefined};
    r.verified = e.reproduced ? "reproduced " + e.reproduced.date : (m.flag ? data.needs_reproduction : "-");
    COLS.forEach(function (c) { if (c.metric) { r[c.key] = m[c.key].value; r[c.key + "_ci"] = m[c.key].ci; } });
    return r;
  });
  rows.sort(function (a, b) {
    return (a.flag ? 1 : 0) - (b.flag ? 1 : 0) || a.eer - b.eer || a.min_dcf - b.min_dcf || (a.entry_id < b.entry_id ? -1 : 1);
  });
  var k = 0;
  rows.forEach(function (r) {
    var counted = r.flag ? null : ++k;
    r.rank = r.given_rank === undefined ? counted : r.given_rank;
  });
  return rows;
}

function rankCell(td, r) {
  if (r.rank === null || r.rank === undefined) { td.textContent = "-"; return; }
  if (!r.tied) { td.textContent = String(r.rank); return; }
  td.appendChild(el("span", {"class": "mark tie", title: TIE_TITLE}, "=" + r.rank));
}

function entryCell(td, r) {
  td.appendChild(el("strong", {}, r.entry_id));
  td.appendChild(el("span", {"class": "sub", title: r.entry.description || ""}, r.model));
}

function verifiedCell(td, r) {
  var e = r.entry;
  if (e.reproduced) {
    var rep = e.reproduced;
    td.appendChild(el("span", {"class": "mark rep", title: "a maintainer re-ran the recipe (code " +
      (rep.code_version || "?") + ", network " + rep.network + ") and got these scores"}, "\u2713 reproduced"));
    td.appendChild(el("span", {"class": "ci"}, rep.date));
  } else if (r.flag) {
    td.appendChild(el("span", {"class": "mark flag", title: data.needs_reproduction}, "not ranked"));
    td.appendChild(el("span", {"class": "ci"}, "EER 0: needs reproduction"));
  } else {
    td.textContent = "-";
  }
}

// Highlights the row whose entry's drill-down is open (its id is the tbody's data-picked).
function markRow(tr) {
  var on = tr.parentNode && tr.parentNode.getAttribute("data-picked") === tr.getAttribute("data-entry");
  tr.classList.toggle("picked", on);
  if (on) { tr.setAttribute("aria-expanded", "true"); } else { tr.removeAttribute("aria-expanded"); }
}

function renderBody(tbody, rows, onPick) {
  clear(tbody);
  rows.forEach(function (r) {
    var tr = el("tr", {"data-entry": r.entry_id, tabindex: "0", title: "per-condition EERs and details of " + r.entry_id});
    COLS.forEach(function (c) {
      var td = el("td", {"class": c.key === "entry_id" ? "t entry" : c.key === "verified" ? "t verified" : ""});
      if (c.key === "rank") {
        rankCell(td, r);
      } else if (c.key === "entry_id") {
        entryCell(td, r);
      } else if (c.key === "verified") {
        verifiedCell(td, r);
      } else if (c.metric) {
        td.appendChild(document.createTextNode(fmt(r[c.key], c.pct)));
        var ci = r[c.key + "_ci"];
        if (ci) { td.appendChild(el("span", {"class": "ci"}, "[" + fmt(ci[0], c.pct) + ", " + fmt(ci[1], c.pct) + "]")); }
      } else {
        td.textContent = compact(r[c.key]);
        if (r[c.key] !== null && r[c.key] !== undefined) { td.title = String(r[c.key]); }
      }
      tr.appendChild(td);
    });
    tr.addEventListener("click", function () { onPick(r); });
    tr.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onPick(r); }
    });
    tbody.appendChild(tr);
    markRow(tr);
  });
}

function makeTable(rows, track, onPick) {
  var table = el("table", {"class": "lb", "data-track": track});
  var thead = el("thead"), hr = el("tr"), tbody = el("tbody");
  rows = rows.slice();
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
      renderBody(tbody, rows, onPick);
    });
    hr.appendChild(th);
  });
  thead.appendChild(hr);
  table.appendChild(thead);
  table.appendChild(tbody);
  renderBody(tbody, rows, onPick);
  return table;
}

// Set-level clustering quality on a track (campaign), when the build recorded it for some entry.
var CLUSTER_KEYS = [["bcubed_precision", "B\u00b3 P"], ["bcubed_recall", "B\u00b3 R"], ["bcubed_f1", "B\u00b3 F1"], ["ari", "ARI"]];

function makeClusteringTable(rows) {
  var have = rows.filter(function (r) { return r.m.clustering; });
  if (!have.length) { return null; }
  var table = el("table", {"class": "clustering"}), hr = el("tr");
  hr.appendChild(el("th", {"class": "t"}, "entry"));
  hr.appendChild(el("th", {"class": "t"}, "calls"));
  CLUSTER_KEYS.forEach(function (k) { hr.appendChild(el("th", {}, k[1])); });
  hr.appendChild(el("th", {}, "clusters (found / true)"));
  table.appendChild(hr);
  have.forEach(function (r) {
    [["campaign_calls", "campaign calls"], ["all", "all calls"]].forEach(function (b) {
      var c = r.m.clustering[b[0]];
      if (!c) { return; }
      var tr = el("tr", {"data-entry": r.entry_id});
      tr.appendChild(el("td", {"class": "t"}, r.entry_id));
      tr.appendChild(el("td", {"class": "t"}, b[1]));
      CLUSTER_KEYS.forEach(function (k) { tr.appendChild(el("td", {}, typeof c[k[0]] === "number" ? c[k[0]].toFixed(3) : "-")); });
      tr.appendChild(el("td", {}, (c.n_pred_clusters === undefined ? "-" : c.n_pred_clusters) + " / " +
        (c.n_true_clusters === undefined ? "-" : c.n_true_clusters)));
      table.appendChild(tr);
    });
  });
  return table;
}
