// DOM helpers shared by the page's scripts. Entry text only ever reaches the page through
// textContent / setAttribute (never as HTML), and links only for http(s) URLs.
var SVGNS = "http://www.w3.org/2000/svg";

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

function clear(node) {
  while (node.firstChild) { node.removeChild(node.firstChild); }
}

function fmt(v, pct) {
  if (v === null || v === undefined) { return "-"; }
  return pct ? (100 * v).toFixed(2) : v.toFixed(4);
}

// 171490 -> "171k", 45226880 -> "45.2M", 0.00655 -> "0.00655": cost columns stay narrow; the cell's
// title keeps the exact figure.
function compact(v) {
  if (v === null || v === undefined) { return "-"; }
  var units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (var i = 0; i < units.length; i++) {
    if (Math.abs(v) >= units[i][0]) { return String(Number((v / units[i][0]).toPrecision(3))) + units[i][1]; }
  }
  return String(Number(v.toPrecision(3)));
}

// The URL when it is an absolute http(s) one, else null: anything else stays plain text.
function safeHref(s) {
  if (typeof s !== "string" || !s) { return null; }
  var u;
  try { u = new URL(s); } catch (e) { return null; }
  return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
}

function linkOrText(s) {
  var href = safeHref(s);
  if (!href) { return document.createTextNode(String(s)); }
  return el("a", {href: href, rel: "noopener noreferrer nofollow"}, s);
}
