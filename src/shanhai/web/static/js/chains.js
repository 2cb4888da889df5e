/* The industrial-chain screens (/chains).
 *
 * The panorama's chain diagram: <div id="chain-diagram" data-source="chain-diagram-data"> with the
 * segments the server wrote (stage, parent, status, firms). Upstream → midstream → downstream are
 * three columns, a sub-segment sits indented under its parent, nodes are coloured by status (the
 * legend) and labelled with their firm counts. Drawn through shanhaiChart (shanhai.js), which
 * attaches ECharts' `finished` handler before setOption and sets data-rendered="1"; the number of
 * segment nodes drawn is put in data-nodes. Clicking a node (or a segment's "firms" link in the
 * table) loads that segment's firm list (an HTML fragment from the server) into #segment-firms.
 *
 * Everywhere: changing the data year clears the per-mu run (a run evaluates one year).
 */
(function () {
  "use strict";

  var STAGES = ["upstream", "midstream", "downstream"];
  var COL = 330, ROW = 78, INDENT = 34;

  function layout(d) {
    var known = {};
    d.segments.forEach(function (s) { known[s.id] = s; });
    var nodes = [], links = [], tops = {}, rowsMax = 1;
    var statusIndex = {};
    d.statuses.forEach(function (s, i) { statusIndex[s.id] = i; });
    STAGES.forEach(function (stage, col) {
      var label = (d.stages.filter(function (x) { return x.id === stage; })[0] || { label: stage }).label;
      nodes.push({ name: "stage:" + stage, x: col * COL, y: -ROW * 0.8, symbol: "rect", symbolSize: [120, 26],
                   stageHeader: true, itemStyle: { color: "#e8eef7", borderColor: "#c3d0e6" },
                   label: { show: true, position: "inside", formatter: label, fontSize: 14, fontWeight: "bold", color: "#0b3d91" },
                   tooltip: { show: false }, emphasis: { disabled: true } });
      var top = d.segments.filter(function (s) { return s.stage === stage && !(s.parent && known[s.parent]); });
      tops[stage] = top;
      var row = 0;
      top.forEach(function (s) {
        nodes.push(node(s, col * COL, row * ROW, false));
        row += 1;
        d.segments.filter(function (c) { return c.parent === s.id; }).forEach(function (c) {
          nodes.push(node(c, col * COL + INDENT, row * ROW, true));
          links.push({ source: s.id, target: c.id, lineStyle: { type: "dashed", color: "#9aa5b1" }, symbol: ["none", "none"] });
          row += 1;
        });
      });
      rowsMax = Math.max(rowsMax, row);
    });
    for (var i = 0; i + 1 < STAGES.length; i++) {
      tops[STAGES[i]].forEach(function (a) {
        tops[STAGES[i + 1]].forEach(function (b) { links.push({ source: a.id, target: b.id }); });
      });
    }
    function node(s, x, y, sub) {
      var firms = s.firms + (d.lang === "en" ? " firms" : " 家") + (s.above ? (d.lang === "en" ? " (" + s.above + " above-scale)" : "（规上 " + s.above + "）") : "");
      return { name: s.id, segment: s.id, x: x, y: y, category: statusIndex[s.status],
               symbol: "roundRect", symbolSize: sub ? [170, 46] : [200, 54],
               value: s.firms, info: s,
               label: { show: true, formatter: s.name + "\n" + firms, width: sub ? 160 : 190, overflow: "truncate",
                        color: "#fff", fontSize: sub ? 11 : 12, lineHeight: 16 } };
    }
    return { nodes: nodes, links: links, rows: rowsMax };
  }

  function drawDiagram(el) {
    var d = shanhaiData(el.dataset.source);
    if (!d || typeof echarts === "undefined") { return; }
    var g = layout(d);
    el.style.height = Math.max(300, 110 + g.rows * ROW) + "px";
    var segments = g.nodes.filter(function (n) { return !n.stageHeader; }).length;
    var byStatus = {};
    d.statuses.forEach(function (s) { byStatus[s.id] = s.label; });
    var option = {
      animation: false,
      tooltip: {
        formatter: function (p) {
          if (p.dataType !== "node" || !p.data.info) { return ""; }
          var s = p.data.info, en = d.lang === "en";
          return "<b>" + s.name + "</b><br>" + byStatus[s.status] + "<br>" + (en ? "firms " : "企业 ") + s.firms +
                 (en ? ", above-scale " : "，规上 ") + s.above + (en ? ", leaders " : "，链主 ") + s.leaders;
        }
      },
      legend: [{ data: d.statuses.map(function (s) { return s.label; }), top: 0, selectedMode: false }],
      series: [{
        type: "graph", layout: "none", roam: false, top: 48, bottom: 16, left: 110, right: 110,
        categories: d.statuses.map(function (s) { return { name: s.label, itemStyle: { color: s.color } }; }),
        data: g.nodes, links: g.links,
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8,
        lineStyle: { color: "#7f8c9a", width: 1.2, opacity: 0.8 },
        emphasis: { focus: "adjacency" }
      }]
    };
    var chart = shanhaiChart(el, option);
    el.dataset.nodes = String(segments);
    if (!chart) { return; }
    chart.on("click", function (p) {
      if (p.dataType === "node" && p.data && p.data.segment) { loadFirms(d.fragment_url, p.data.segment); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-segment-link]"), function (a) {
      a.addEventListener("click", function (e) {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) { return; }
        e.preventDefault();
        loadFirms(d.fragment_url, a.getAttribute("data-segment-link"));
      });
    });
  }

  function loadFirms(template, segment) {
    var box = document.getElementById("segment-firms");
    if (!box) { return; }
    box.dataset.loaded = "";
    box.setAttribute("aria-busy", "true");
    var url = template.replace("{id}", encodeURIComponent(segment));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text().then(function (text) { return { ok: r.ok, text: text }; }); })
      .then(function (res) {
        if (res.ok) {
          box.innerHTML = res.text;
        } else {
          box.textContent = document.body.getAttribute("data-lang") === "en"
            ? "The firm list could not be loaded." : "企业名单加载失败。";
        }
        box.dataset.loaded = segment;
        box.removeAttribute("aria-busy");
        if (box.scrollIntoView) { box.scrollIntoView({ behavior: "smooth", block: "nearest" }); }
      });
  }

  function init() {
    var el = document.getElementById("chain-diagram");
    if (el) { drawDiagram(el); }
    // a per-mu run evaluates one year: a new year clears the run, then the form is sent
    Array.prototype.forEach.call(document.querySelectorAll("select[data-chain-year]"), function (s) {
      s.addEventListener("change", function () {
        var run = s.form && s.form.querySelector("[data-chain-run]");
        if (run) { run.value = ""; }
        if (s.form) { s.form.submit(); }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
