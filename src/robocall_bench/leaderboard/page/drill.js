// The drill-down of one entry on one track: its metadata, every metric with its CI, and the
// per-condition EERs the build computed (system, codec, SNR, language, duration, role).
var COND_COLS = [
  ["system", "TTS system / source"], ["codec", "codec"], ["snr_bucket", "SNR"],
  ["language", "language"], ["duration_bucket", "duration"], ["role", "role (vs live calls)"]
];
var PAIRING_MARK = {"robocall-vs-all-human": "*", "human-vs-all-robocall": "\u2021"};
var METRIC_LABELS = [
  ["eer", "EER %", true], ["min_dcf", "minDCF"], ["act_dcf", "actDCF"], ["cllr", "Cllr"], ["min_cllr", "minCllr"],
  ["auc", "AUC"], ["fpr_at_fnr_1pct", "FPR@FNR 1% (%)", true], ["fnr_at_fpr_1pct", "FNR@FPR 1% (%)", true]
];
var FEW = 5;  // fewer trials of a class than this: the EER is mostly noise (greyed)

function metaRow(dl, term, value) {
  if (value === null || value === undefined || value === "") { return; }
  dl.appendChild(el("dt", {}, term));
  var dd = el("dd");
  if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = String(value); }
  dl.appendChild(dd);
}

function pretrainedNode(p) {
  if (!p) { return null; }
  var span = el("span");
  span.appendChild(p.url ? linkOrText(p.url) : document.createTextNode(p.id));
  if (p.url) { span.appendChild(document.createTextNode(" (" + p.id + ")")); }
  span.appendChild(document.createTextNode(" @ " + p.revision + "; license: " + (p.license || "not stated")));
  return span;
}

function codeNode(code) {
  if (!code || (!code.repository && !code.commit)) { return null; }
  var span = el("span");
  if (code.repository) { span.appendChild(linkOrText(code.repository)); }
  if (code.commit) { span.appendChild(document.createTextNode((code.repository ? " @ " : "commit ") + code.commit)); }
  return span;
}

function makeMeta(e) {
  var dl = el("dl", {"class": "meta"});
  metaRow(dl, "model", e.model);
  metaRow(dl, "description", e.description);
  metaRow(dl, "training data", e.training_data);
  metaRow(dl, "pretrained weights", e.pretrained ? pretrainedNode(e.pretrained) : "none");
  metaRow(dl, "code", codeNode(e.code));
  metaRow(dl, "experiment", e.experiment);
  var cost = [["params", e.params], ["MACs/s", e.macs], ["CPU RTF", e.cpu_rtf], ["train samples/s", e.train_samples_per_s]]
    .filter(function (c) { return c[1] !== null && c[1] !== undefined; })
    .map(function (c) { return c[0] + " " + c[1]; }).join("; ");
  metaRow(dl, "cost\u2020", cost);
  metaRow(dl, "how measured\u2020", e.compute);
  var rep = e.reproduced;
  metaRow(dl, "reproduced", rep ? rep.date + " (code " + (rep.code_version || "?") + ", network " + rep.network + ")" :
    (e.reproducible ? "not yet (the entry has a recipe)" : "no recipe"));
  return dl;
}

function makeMetricTable(m) {
  var table = el("table", {"class": "metrics"}), hr = el("tr");
  ["metric", "value", "95% CI"].forEach(function (h, i) { hr.appendChild(el("th", {"class": i ? "" : "t"}, h)); });
  table.appendChild(hr);
  METRIC_LABELS.forEach(function (k) {
    var v = m[k[0]];
    if (!v) { return; }
    var tr = el("tr");
    tr.appendChild(el("td", {"class": "t"}, k[1]));
    tr.appendChild(el("td", {}, fmt(v.value, k[2])));
    tr.appendChild(el("td", {}, v.ci ? "[" + fmt(v.ci[0], k[2]) + ", " + fmt(v.ci[1], k[2]) + "]" : "-"));
    table.appendChild(tr);
  });
  var tr = el("tr");
  tr.appendChild(el("td", {"class": "t"}, "trials"));
  tr.appendChild(el("td", {colspan: "2"}, m.n_robocall + " robocall + " + m.n_human + " human"));
  table.appendChild(tr);
  return table;
}

function makeConditionTable(col, label, rows) {
  var table = el("table", {"class": "cond", "data-column": col});
  table.appendChild(el("caption", {}, label));
  var hr = el("tr");
  [["condition", "t", ""], ["EER %", "", ""], ["robo", "", "robocall trials"], ["human", "", "human trials"]].forEach(function (h) {
    hr.appendChild(el("th", h[2] ? {"class": h[1], title: h[2]} : {"class": h[1]}, h[0]));
  });
  table.appendChild(hr);
  rows.forEach(function (c) {
    var few = Math.min(c.n_robocall, c.n_human) < FEW;
    var tr = el("tr", {"class": few ? "few" : "", "data-value": c.value});
    if (few) { tr.title = "fewer than " + FEW + " trials of a class: the EER is mostly noise"; }
    tr.appendChild(el("td", {"class": "t"}, c.value + (PAIRING_MARK[c.pairing] || "")));
    var td = el("td");
    var bar = el("span", {"class": "bar"});
    bar.style.width = (Math.min(c.eer, 0.5) * 8).toFixed(2) + "em";  // 0-50 % EER -> 0-4 em
    td.appendChild(bar);
    td.appendChild(document.createTextNode((100 * c.eer).toFixed(2)));
    tr.appendChild(td);
    tr.appendChild(el("td", {}, c.n_robocall));
    tr.appendChild(el("td", {}, c.n_human));
    table.appendChild(tr);
  });
  return table;
}

function fillDrill(box, r, track, onClose) {
  clear(box);
  var e = r.entry, m = r.m;
  box.setAttribute("data-entry", e.entry_id);
  var close = el("button", {"class": "close", type: "button", "aria-label": "close the details"}, "\u00d7 close");
  close.addEventListener("click", onClose);
  box.appendChild(close);
  box.appendChild(el("h3", {}, e.entry_id + " on track " + track));
  box.appendChild(makeMeta(e));
  box.appendChild(el("h4", {}, "Metrics on " + track));
  box.appendChild(makeMetricTable(m));
  box.appendChild(el("h4", {}, "EER per condition on " + track));
  var conds = m.conditions || {}, grid = el("div", {"class": "conds"}), missing = [];
  COND_COLS.forEach(function (c) {
    if (conds[c[0]] && conds[c[0]].length) { grid.appendChild(makeConditionTable(c[0], c[1], conds[c[0]])); } else { missing.push(c[1]); }
  });
  box.appendChild(grid);
  var notes = "* a value held by robocall rows only (e.g. a TTS system), scored against every human trial of the track; " +
    "\u2021 a value held by human rows only, against every robocall trial. Roles: each robocall role against the " +
    "track's live calls. Grey rows: fewer than " + FEW + " trials of a class.";
  if (missing.length) { notes += " No split by " + missing.join(", ") + " (one value on this track, or no such column)."; }
  box.appendChild(el("p", {"class": "note small"}, notes));
  box.hidden = false;
}
