// Inline SVG plots, no library: DET curves of the top entries, and EER-vs-cost Pareto plots.
var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

function makeDet(corpus, track) {
  var curves = corpus.det[track] || [], W = 330, M = 40, lim = data.det_axis;
  var s = svg("svg", {width: W + M + 10, height: W + M + 10, viewBox: "0 0 " + (W + M + 10) + " " + (W + M + 10),
    "class": "det", "data-track": track, role: "img"});
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
  var legend = svg("g", {"class": "legend"});
  curves.forEach(function (c, i) {
    var pts = c.points.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join(" ");
    s.appendChild(svg("polyline", {points: pts, fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 2, "data-entry": c.entry_id}));
    legend.appendChild(svg("rect", {x: M + W - 150, y: 16 + 14 * i, width: 10, height: 10, fill: COLORS[i % COLORS.length]}));
    legend.appendChild(svg("text", {x: M + W - 136, y: 25 + 14 * i}, c.entry_id));
  });
  s.appendChild(legend);
  return s;
}

// A step of 1, 2, 2.5 or 5 x 10^k giving about five ticks up to ``max``.
function niceStep(max) {
  var raw = max / 5, p = Math.pow(10, Math.floor(Math.log10(raw))), steps = [1, 2, 2.5, 5, 10];
  for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= raw) { return steps[i] * p; } }
  return 10 * p;
}

function decadeLabel(k) {
  if (k >= 12) { return "1e" + k; }
  if (k >= 3) { return compact(Math.pow(10, k)); }
  if (k >= -4) { return String(Number(Math.pow(10, k).toFixed(Math.max(0, -k)))); }
  return "1e" + k;
}

// The points no other point beats on both axes (lower EER and lower cost), by increasing cost;
// identical points share their place on the front.
function paretoFront(pts) {
  var sorted = pts.slice().sort(function (a, b) { return a.x - b.x || a.y - b.y; }), best = Infinity, last = null;
  return sorted.filter(function (p) {
    if (p.y < best || (last && p.y === last.y && p.x === last.x)) { best = p.y; last = p; return true; }
    return false;
  });
}

// Label boxes placed beside their points, avoiding every point and the labels placed before.
function placeLabels(pts, W, H) {
  var boxes = pts.map(function (p) { return {x: p.cx - 5, y: p.cy - 5, w: 10, h: 10}; }), out = [];
  function free(b) {
    return b.x >= 1 && b.x + b.w <= W - 1 && b.y >= 1 && b.y + b.h <= H - 1 && !boxes.some(function (o) {
      return b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h;
    });
  }
  pts.forEach(function (p) {
    var w = 6 * p.id.length, h = 11, cands = [];
    for (var k = 0; k < 6; k++) {
      var dy = k * 11;
      cands.push({x: p.cx + 7, y: p.cy - 12 - dy}, {x: p.cx + 7, y: p.cy + 1 + dy},
        {x: p.cx - 7 - w, y: p.cy - 12 - dy}, {x: p.cx - 7 - w, y: p.cy + 1 + dy});
    }
    var b = cands.map(function (c) { return {x: c.x, y: c.y, w: w, h: h}; }).filter(free)[0] ||
      {x: p.cx + 7, y: p.cy - 12, w: w, h: h};
    boxes.push(b);
    out.push(b);
  });
  return out;
}

// EER on ``track`` against a self-reported cost ``key`` on a log axis. Entries without the figure
// and unranked ones are left out and named; a cost of 0 (training-free, no parameters) sits in its
// own column left of the axis break, since log 0 has no place on the axis.
function makePareto(rows, key, name, track) {
  var W = 380, H = 290, L = 48, R = 14, T = 12, B = 42;
  var pts = [], missing = [], unranked = [];
  rows.forEach(function (r) {
    var x = r[key];
    if (r.flag) { unranked.push(r.entry_id); } else if (x === null || x === undefined) { missing.push(r.entry_id); } else { pts.push({id: r.entry_id, x: x, y: r.eer}); }
  });
  var fig = el("figure", {"class": "pareto", "data-key": key, "data-track": track});
  fig.appendChild(el("figcaption", {}, "EER vs " + name + " (" + track + ")"));
  var s = svg("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "data-key": key, "data-track": track});
  s.appendChild(svg("title", {}, "EER on " + track + " against " + name + "; the dashed line is the Pareto front"));
  var pos = pts.filter(function (p) { return p.x > 0; }), zero = pts.length > pos.length, Z = zero ? 34 : 0;
  var lo = pos.length ? Math.floor(Math.log10(Math.min.apply(null, pos.map(function (p) { return p.x; })))) : 0;
  var hi = pos.length ? Math.ceil(Math.log10(Math.max.apply(null, pos.map(function (p) { return p.x; })))) : 1;
  if (hi <= lo) { hi = lo + 1; }
  var ymax = Math.max(0.01, Math.max.apply(null, pts.map(function (p) { return p.y; }).concat([0])) * 1.12);
  var ystep = niceStep(100 * ymax);
  ymax = Math.ceil(100 * ymax / ystep) * ystep / 100;
  var x0 = L + Z, x1 = W - R, y0 = H - B, y1 = T;
  function px(x) { return x > 0 ? x0 + (Math.log10(x) - lo) / (hi - lo) * (x1 - x0 - 6) + 3 : L + Z / 2; }
  function py(y) { return y0 - y / ymax * (y0 - y1); }
  var axis = svg("g", {"class": "axis"}), every = Math.ceil((hi - lo) / 6);
  for (var k = lo; pos.length && k <= hi; k += every) {
    axis.appendChild(svg("line", {x1: px(Math.pow(10, k)), x2: px(Math.pow(10, k)), y1: y1, y2: y0, stroke: "#e4e4e4"}));
    axis.appendChild(svg("text", {x: px(Math.pow(10, k)), y: y0 + 14, "text-anchor": "middle"}, decadeLabel(k)));
    for (var m = 2; hi - lo <= 2 && k < hi && m < 10; m++) {  // a short axis gets the 2..9 x 10^k lines
      axis.appendChild(svg("line", {x1: px(m * Math.pow(10, k)), x2: px(m * Math.pow(10, k)), y1: y1, y2: y0, stroke: "#f3f3f3"}));
    }
  }
  for (var v = 0; v <= 100 * ymax + 1e-9; v += ystep) {
    axis.appendChild(svg("line", {x1: L, x2: x1, y1: py(v / 100), y2: py(v / 100), stroke: "#eee"}));
    axis.appendChild(svg("text", {x: L - 4, y: py(v / 100) + 3, "text-anchor": "end"}, String(Number(v.toFixed(2)))));
  }
  axis.appendChild(svg("line", {x1: L, x2: x1, y1: y0, y2: y0, stroke: "#888"}));
  axis.appendChild(svg("line", {x1: L, x2: L, y1: y1, y2: y0, stroke: "#888"}));
  if (zero) {
    axis.appendChild(svg("text", {x: L + Z / 2, y: y0 + 14, "text-anchor": "middle"}, "0"));
  }
  if (zero && pos.length) {
    axis.appendChild(svg("path", {d: "M" + (x0 - 5) + " " + (y0 + 5) + "l4 -10M" + (x0 - 1) + " " + (y0 + 5) + "l4 -10", stroke: "#888", fill: "none"}));
  }
  axis.appendChild(svg("text", {x: (L + x1) / 2, y: H - 8, "text-anchor": "middle"}, name + "\u2020 (log scale)"));
  axis.appendChild(svg("text", {x: 12, y: (y0 + y1) / 2, transform: "rotate(-90 12 " + (y0 + y1) / 2 + ")", "text-anchor": "middle"}, "EER % on " + track));
  s.appendChild(axis);
  var front = paretoFront(pts);
  if (front.length > 1) {
    var d = "M" + px(front[0].x).toFixed(1) + " " + py(front[0].y).toFixed(1);
    front.slice(1).forEach(function (p) { d += "H" + px(p.x).toFixed(1) + "V" + py(p.y).toFixed(1); });
    s.appendChild(svg("path", {d: d, "class": "front-line"}));
  }
  pts.forEach(function (p) { p.cx = px(p.x); p.cy = py(p.y); });
  var labels = placeLabels(pts, W, H);
  pts.forEach(function (p, i) {
    var onFront = front.indexOf(p) >= 0;
    var c = svg("circle", {cx: p.cx.toFixed(1), cy: p.cy.toFixed(1), r: 4.5, "class": "pt" + (onFront ? " front" : ""), "data-entry": p.id});
    c.appendChild(svg("title", {}, p.id + ": EER " + (100 * p.y).toFixed(2) + " %, " + name + " " + p.x + (onFront ? " (Pareto front)" : "")));
    s.appendChild(c);
    s.appendChild(svg("text", {x: labels[i].x.toFixed(1), y: (labels[i].y + 9).toFixed(1), "class": "plabel", "data-entry": p.id}, p.id));
  });
  fig.appendChild(s);
  var notes = [];
  if (!pts.length) { notes.push("No entry reports this figure."); }
  if (missing.length) { notes.push("Left out (no " + name + " reported): " + missing.join(", ") + "."); }
  if (unranked.length) { notes.push("Left out (not ranked): " + unranked.join(", ") + "."); }
  notes.push("Filled: on the Pareto front (no entry has both lower EER and lower " + name + ").");
  fig.appendChild(el("p", {"class": "note"}, notes.join(" ")));
  return fig;
}
