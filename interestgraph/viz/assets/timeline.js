/* interestgraph interest timeline: draws data.timeline ({periods, series: [{interest, weights}]}) into svg#ig-timeline.
   Hover: the period's weights; click a legend entry: hide or show that interest. Labels use textContent only. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("ig-data").textContent);
  var tl = data.timeline;
  var svg = document.getElementById("ig-timeline");
  if (!tl || !svg) { document.body.setAttribute("data-ig-series", "0"); return; }
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  function el(tag, attrs, parent) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(node);
    return node;
  }
  var width = svg.clientWidth || 900, height = svg.clientHeight || 300;
  var m = {l: 52, r: 44, t: 26, b: 30};
  var n = tl.periods.length;
  var ymax = 0;
  tl.series.forEach(function (s) { s.weights.forEach(function (w) { ymax = Math.max(ymax, w); }); });
  ymax = ymax > 0 ? ymax * 1.08 : 1;
  function X(k) { return m.l + (n > 1 ? k / (n - 1) : 0.5) * (width - m.l - m.r); }
  function Y(w) { return height - m.b - (w / ymax) * (height - m.t - m.b); }
  var axis = el("g", {"class": "axis"}, svg);
  el("line", {x1: m.l, y1: height - m.b, x2: width - m.r, y2: height - m.b}, axis);
  el("line", {x1: m.l, y1: m.t, x2: m.l, y2: height - m.b}, axis);
  for (var t = 0; t <= 4; t++) {
    var w = ymax * t / 4;
    el("text", {x: m.l - 6, y: Y(w) + 4, "text-anchor": "end"}, axis).textContent = Number(w.toPrecision(2)).toString();
  }
  var step = Math.max(1, Math.ceil(n / 8));
  for (var k = 0; k < n; k += step) {
    el("text", {x: X(k), y: height - m.b + 16, "text-anchor": "middle"}, axis).textContent = tl.periods[k];
  }
  el("text", {x: 6, y: 14, "text-anchor": "start"}, axis).textContent = "w(v|u) at the end of each period";
  var lines = tl.series.map(function (s, i) {
    var g = el("g", {}, svg);
    var d = s.weights.map(function (w, k) { return (k ? "L" : "M") + X(k).toFixed(1) + "," + Y(w).toFixed(1); }).join("");
    el("path", {d: d, fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 2}, g);
    s.weights.forEach(function (w, k) { el("circle", {cx: X(k), cy: Y(w), r: 2.5, fill: COLORS[i % COLORS.length]}, g); });
    el("title", {}, g).textContent = s.interest;
    return g;
  });
  var rule = el("line", {"class": "rule", y1: m.t, y2: height - m.b, x1: -10, x2: -10}, svg);
  var hidden = {};
  svg.addEventListener("mousemove", function (evt) {
    var box = svg.getBoundingClientRect();
    var k = Math.round((evt.clientX - box.left - m.l) / Math.max(width - m.l - m.r, 1) * (n - 1));
    k = Math.max(0, Math.min(n - 1, k));
    rule.setAttribute("x1", X(k)); rule.setAttribute("x2", X(k));
    var rows = tl.series.map(function (s, i) { return hidden[i] ? null : s.interest + ": " + Number(s.weights[k].toPrecision(3)); }).filter(Boolean);
    if (window.igTooltip) window.igTooltip.show(evt, "period starting " + tl.periods[k], rows);
  });
  svg.addEventListener("mouseleave", function () { rule.setAttribute("x1", -10); rule.setAttribute("x2", -10); if (window.igTooltip) window.igTooltip.hide(); });
  var legend = document.getElementById("ig-series-legend");
  tl.series.forEach(function (s, i) {
    var b = document.createElement("button");
    b.type = "button";
    var sw = document.createElement("span"); sw.className = "ln"; sw.style.display = "inline-block"; sw.style.width = "18px";
    sw.style.borderTop = "3px solid " + COLORS[i % COLORS.length]; sw.style.verticalAlign = "3px"; sw.style.marginRight = "4px";
    b.appendChild(sw); b.appendChild(document.createTextNode(s.interest));
    b.addEventListener("click", function () { hidden[i] = !hidden[i]; b.classList.toggle("off", hidden[i]); lines[i].style.display = hidden[i] ? "none" : ""; });
    legend.appendChild(b);
  });
  document.body.setAttribute("data-ig-series", String(tl.series.length));
})();
