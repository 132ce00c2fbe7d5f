// The page: a corpus chooser, per corpus one tab per track, each with its table, drill-down and plots.
function makePanel(corpus, track, id) {
  var p = el("section", {role: "tabpanel", id: "panel-" + id, "aria-labelledby": "tab-" + id, "data-track": track});
  if (data.track_notes[track]) { p.appendChild(el("p", {"class": "note small"}, data.track_notes[track])); }
  var rows = rowsFor(corpus, track);
  if (!rows.length) { p.appendChild(el("p", {}, "No entries on this track yet.")); return p; }
  var drill = el("div", {"class": "drill", "aria-live": "polite"}), tbody = null;
  drill.hidden = true;
  // The open row is remembered by entry id: sorting rebuilds the rows (renderBody re-marks it).
  function mark(id) {
    if (id === null) { tbody.removeAttribute("data-picked"); } else { tbody.setAttribute("data-picked", id); }
    Array.prototype.forEach.call(tbody.rows, markRow);
  }
  function unpick() { drill.hidden = true; mark(null); }
  function pick(r) {
    if (!drill.hidden && tbody.getAttribute("data-picked") === r.entry_id) { unpick(); return; }
    mark(r.entry_id);
    fillDrill(drill, r, track, unpick);
  }
  var wrap = el("div", {"class": "wrap"}), table = makeTable(rows, track, pick);
  tbody = table.tBodies[0];
  wrap.appendChild(table);
  p.appendChild(wrap);
  p.appendChild(el("p", {"class": "note small"}, "Click a row (or press Enter on it) for the entry's per-condition EERs and details."));
  p.appendChild(drill);
  var clustering = makeClusteringTable(rows);
  if (clustering) {
    p.appendChild(el("h3", {}, "Set-level clustering of the calls"));
    p.appendChild(clustering);
  }
  var figs = el("div", {"class": "figs"}), det = el("figure");
  det.appendChild(el("figcaption", {}, "DET curves of the top entries (" + track + ")"));
  det.appendChild(makeDet(corpus, track));
  figs.appendChild(det);
  figs.appendChild(makePareto(rows, "cpu_rtf", "CPU RTF", track));
  figs.appendChild(makePareto(rows, "params", "parameters", track));
  p.appendChild(figs);
  return p;
}

function makeCorpus(corpus, ci) {
  var sec = el("section", {"class": "corpus", "data-corpus": corpus.name + " " + corpus.version});
  sec.appendChild(el("h2", {}, corpus.name + " " + corpus.version + (corpus.title ? ": " + corpus.title : "")));
  sec.appendChild(el("p", {"class": "note"}, data.sections[corpus.kind] + ". Protocol sha256 " + corpus.protocol_sha256 + "."));
  if (!corpus.tabs.length) { sec.appendChild(el("p", {}, "No entries yet.")); return sec; }
  var tablist = el("div", {role: "tablist", "aria-label": "tracks"}), panels = el("div", {"class": "panels"});
  function select(track) {
    Array.prototype.forEach.call(tablist.children, function (b) {
      var on = b.getAttribute("data-track") === track;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    });
    Array.prototype.forEach.call(panels.children, function (p) { p.hidden = p.getAttribute("data-track") !== track; });
  }
  corpus.tabs.forEach(function (t) {
    var id = ci + "-" + t;
    var b = el("button", {role: "tab", type: "button", id: "tab-" + id, "aria-controls": "panel-" + id, "data-track": t},
      t + (t === data.main_track ? " (main)" : ""));
    b.addEventListener("click", function () { select(t); });
    tablist.appendChild(b);
    panels.appendChild(makePanel(corpus, t, id));
  });
  sec.appendChild(tablist);
  sec.appendChild(panels);
  select(corpus.tabs.indexOf(data.main_track) >= 0 ? data.main_track : corpus.tabs[0]);
  return sec;
}

// One corpus at a time: the first official one by default (the data lists official corpora first).
function makeChooser(root, sections) {
  var box = el("div", {id: "chooser"}), sel = el("select", {id: "corpus-select"});
  box.appendChild(el("label", {"for": "corpus-select"}, "Corpus"));
  var groups = {};
  data.corpora.forEach(function (c, i) {
    if (!groups[c.kind]) { groups[c.kind] = el("optgroup", {label: data.sections[c.kind]}); sel.appendChild(groups[c.kind]); }
    groups[c.kind].appendChild(el("option", {value: String(i)}, c.name + " " + c.version + " (" + c.n_entries +
      (c.n_entries === 1 ? " entry)" : " entries)")));
  });
  box.appendChild(sel);
  box.appendChild(el("span", {"class": "note small"}, "Entries are ranked only against entries on the same corpus."));
  function show(i) {
    sections.forEach(function (s, j) { s.hidden = j !== i; });
    sel.value = String(i);
  }
  sel.addEventListener("change", function () { show(Number(sel.value)); });
  root.parentNode.insertBefore(box, root);
  var first = data.corpora.findIndex(function (c) { return c.kind === "official"; });
  show(first >= 0 ? first : 0);
}

var root = document.getElementById("corpora");
var sections = data.corpora.map(function (corpus, ci) { return root.appendChild(makeCorpus(corpus, "c" + ci)); });
if (data.corpora.length) { makeChooser(root, sections); } else { root.appendChild(el("p", {}, "No entries yet.")); }
document.body.setAttribute("data-ready", "1");
