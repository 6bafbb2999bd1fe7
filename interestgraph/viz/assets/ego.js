/* interestgraph ego graph: draws data.ego (nodes with x/y, edges, recommendations) into svg#ig-graph.
   Every label is set with textContent, never parsed as HTML. Pan: drag; zoom: wheel; hover: details;
   click a recommendation (node or list entry): highlight its explanation paths; click empty space: reset. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("ig-data").textContent);
  var KINDS = ["user-interest", "user-item", "item-interest", "interest-interest", "item-item"];
  var ROLES = ["user", "interest", "item", "recommendation", "other"];

  function el(tag, attrs, parent) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function short(label, n) { label = String(label); return label.length > n ? label.slice(0, n - 1) + "\u2026" : label; }
  function fmt(v) { return typeof v === "number" ? (Math.abs(v) >= 1000 ? v.toLocaleString() : Number(v.toPrecision(4)).toString()) : String(v); }

  document.title = data.title;
  document.getElementById("ig-title").textContent = data.title;
  document.getElementById("ig-subtitle").textContent = data.subtitle || "";
  document.getElementById("ig-protocol").textContent = data.protocol || "";
  var notes = document.getElementById("ig-notes");
  (data.notes || []).forEach(function (n) { html("li", "", notes, n); });

  var tooltip = document.getElementById("ig-tooltip");
  function showTip(evt, title, lines) {
    tooltip.textContent = "";
    html("b", "", tooltip, title);
    tooltip.appendChild(document.createTextNode(lines.join("\n")));
    tooltip.style.display = "block";
    moveTip(evt);
  }
  function moveTip(evt) {
    tooltip.style.left = Math.min(evt.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8) + "px";
    tooltip.style.top = Math.min(evt.clientY + 14, window.innerHeight - tooltip.offsetHeight - 8) + "px";
  }
  function hideTip() { tooltip.style.display = "none"; }
  window.igTooltip = { show: showTip, move: moveTip, hide: hideTip };

  var ego = data.ego;
  if (!ego) { document.body.setAttribute("data-ig-nodes", "0"); return; }
  var svg = document.getElementById("ig-graph");
  var width = svg.clientWidth || 900, height = svg.clientHeight || 600;
  var xs = ego.nodes.map(function (n) { return n.x; }), ys = ego.nodes.map(function (n) { return n.y; });
  var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
  var unit = Math.min((width - 140) / Math.max(x1 - x0, 1), (height - 70) / Math.max(y1 - y0, 1));  // fit, leaving room for labels
  var viewport = el("g", {}, svg);
  var edgeLayer = el("g", {"class": "edges"}, viewport);
  var nodeLayer = el("g", {"class": "nodes"}, viewport);
  var view = {x: width / 2 - unit * (x0 + x1) / 2, y: height / 2 + unit * (y0 + y1) / 2 - 8, k: 1};
  function applyView() { viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")"); }
  applyView();

  var byKey = {};
  var maxValue = {};
  ego.nodes.forEach(function (n) { maxValue[n.role] = Math.max(maxValue[n.role] || 0, Math.abs(n.value)); });
  function radius(n) {
    var rel = maxValue[n.role] > 0 ? Math.sqrt(Math.abs(n.value) / maxValue[n.role]) : 0.5;
    return {user: 15, interest: 6 + 13 * rel, item: 4 + 6 * rel, recommendation: 7 + 8 * rel, other: 5}[n.role] || 5;
  }
  var maxWeight = {};
  ego.edges.forEach(function (e) { maxWeight[e.kind] = Math.max(maxWeight[e.kind] || 0, Math.abs(e.weight)); });

  var edgeEls = ego.edges.map(function (e) {
    var a = ego.nodes[e.s], b = ego.nodes[e.t];
    var kind = KINDS.indexOf(e.kind) >= 0 ? e.kind : "other";
    var line = el("line", {"class": "edge k-" + kind + (e.paths.length ? " on-path" : ""), x1: a.x * unit, y1: -a.y * unit, x2: b.x * unit, y2: -b.y * unit,
      "stroke-width": 0.8 + 3 * (maxWeight[e.kind] > 0 ? Math.abs(e.weight) / maxWeight[e.kind] : 0.5)}, edgeLayer);
    line.addEventListener("mouseenter", function (evt) {
      showTip(evt, e.kind + " edge", [a.label + " \u2194 " + b.label, "weight " + fmt(e.weight)].concat(e.paths.length ? ["on the paths of recommendation(s) " + e.paths.join(", ")] : []));
    });
    line.addEventListener("mousemove", moveTip);
    line.addEventListener("mouseleave", hideTip);
    return line;
  });

  var nodeEls = ego.nodes.map(function (n) {
    var role = ROLES.indexOf(n.role) >= 0 ? n.role : "other";
    var g = el("g", {"class": "node r-" + role, transform: "translate(" + n.x * unit + "," + -n.y * unit + ")"}, nodeLayer);
    var r = radius(n);
    el("circle", {r: r}, g);
    el("title", {}, g).textContent = n.label;
    var label = el("text", {x: 0, y: r + 11, "text-anchor": "middle"}, g);
    label.textContent = short(n.role === "recommendation" ? "#" + n.details.rank + " " + n.label : n.label, 28);
    g.addEventListener("mouseenter", function (evt) {
      var lines = [role + (n.type !== role ? " (" + n.type + ")" : "") + " \u00b7 id " + n.id];
      Object.keys(n.details || {}).forEach(function (k) { lines.push(k + ": " + fmt(n.details[k])); });
      showTip(evt, n.label, lines);
    });
    g.addEventListener("mousemove", moveTip);
    g.addEventListener("mouseleave", hideTip);
    if (role === "recommendation") {
      g.addEventListener("click", function (evt) { evt.stopPropagation(); select(n.details.rank); });
    }
    byKey[n.key] = g;
    return g;
  });

  var items = [];
  var list = document.getElementById("ig-recs");
  (ego.recommendations || []).forEach(function (rec) {
    var li = html("li", "", list);
    html("div", "", li, "#" + rec.rank + " " + rec.title);
    html("div", "ig-score", li, "score " + fmt(rec.score) + " from " + rec.n_paths.toLocaleString() + " walks");
    rec.reasons.forEach(function (why) {
      var reason = why.reason.indexOf("interest: ") === 0 ? "because you like " + why.reason.slice(10) : "via " + why.reason.replace(/^\(|\)$/g, "");
      html("div", "ig-why", li, reason + " (" + (why.contribution >= 0 ? "+" : "") + fmt(why.contribution) + ")");
    });
    li.addEventListener("click", function () { select(rec.rank); });
    items.push(li);
  });
  if (!(ego.recommendations || []).length) {
    html("li", "ig-empty", list, data.model ? "No recommendation drawn." : "Recommendations need a trained model.");
  }

  var selected = null;
  function select(rank) {
    selected = selected === rank ? null : rank;
    var onNodes = {};
    ego.edges.forEach(function (e, k) {
      var hit = selected !== null && e.paths.indexOf(selected) >= 0;
      edgeEls[k].classList.toggle("hl", hit);
      edgeEls[k].classList.toggle("dim", selected !== null && !hit);
      if (hit) { onNodes[e.s] = true; onNodes[e.t] = true; }
    });
    nodeEls.forEach(function (g, k) {
      g.classList.toggle("hl", selected !== null && !!onNodes[k]);
      g.classList.toggle("dim", selected !== null && !onNodes[k]);
    });
    (ego.recommendations || []).forEach(function (rec, k) { items[k].classList.toggle("active", rec.rank === selected); });
    document.body.setAttribute("data-ig-selected", selected === null ? "" : String(selected));
  }
  window.igSelect = select;

  // pan and zoom
  var drag = null;
  svg.addEventListener("pointerdown", function (evt) {
    if (evt.target.closest && evt.target.closest(".node")) return;
    drag = {x: evt.clientX, y: evt.clientY, vx: view.x, vy: view.y, moved: false};
    svg.classList.add("dragging");
  });
  window.addEventListener("pointermove", function (evt) {
    if (!drag) return;
    view.x = drag.vx + evt.clientX - drag.x; view.y = drag.vy + evt.clientY - drag.y;
    drag.moved = drag.moved || Math.abs(evt.clientX - drag.x) + Math.abs(evt.clientY - drag.y) > 3;
    applyView();
  });
  window.addEventListener("pointerup", function () {
    if (drag && !drag.moved && selected !== null) select(selected);
    drag = null; svg.classList.remove("dragging");
  });
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var box = svg.getBoundingClientRect();
    var px = evt.clientX - box.left, py = evt.clientY - box.top;
    var k = Math.max(0.2, Math.min(8, view.k * Math.exp(-evt.deltaY * 0.0015)));
    view.x = px - (px - view.x) * k / view.k; view.y = py - (py - view.y) * k / view.k; view.k = k;
    applyView();
  }, {passive: false});

  var legend = document.getElementById("ig-legend");
  [["user", "the user"], ["interest", "top interests (size: w(v|u))"], ["item", "their items behind them"], ["recommendation", "recommendations (size: score)"], ["other", "on a path only"]].forEach(function (r) {
    var s = html("span", "", legend); var sw = html("span", "sw", s); sw.style.background = "var(--" + r[0] + ")"; s.appendChild(document.createTextNode(r[1]));
  });
  [["#e07b00", "user\u2013interest w(v|u)"], ["#8c8c8c", "item\u2013interest"], ["#8e5bb5", "interest\u2013interest similarity (dashed)"], ["#9dbde8", "user\u2013item"], ["#d62728", "explanation path (click a recommendation)"]].forEach(function (r) {
    var s = html("span", "", legend); var ln = html("span", "ln", s); ln.style.borderColor = r[0]; s.appendChild(document.createTextNode(r[1]));
  });

  function fromHash() {  // user42.html#select=2 opens (or switches) to #2's paths highlighted; an unknown rank is ignored
    var wanted = /(?:^#|&)select=(\d+)/.exec(window.location.hash);
    var rank = wanted ? Number(wanted[1]) : null;
    var known = (ego.recommendations || []).some(function (rec) { return rec.rank === rank; });
    if (known && selected !== rank) select(rank);
  }
  fromHash();
  window.addEventListener("hashchange", fromHash);
  document.body.setAttribute("data-ig-nodes", String(nodeEls.length));
  document.body.setAttribute("data-ig-edges", String(edgeEls.length));
})();
