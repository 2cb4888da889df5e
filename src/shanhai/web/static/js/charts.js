/* The screens' charts. Each chart is an element with data-chart="kind" and
   data-source="id of a <script type=application/json>" the server wrote; every chart goes
   through shanhaiChart (shanhai.js). Also: <select data-autosubmit> submits its form
   (no inline handlers: the CSP forbids them), and a[data-confirm] asks first. */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").slice(0, 2) !== "en";
  function T(a, b) { return zh ? a : b; }

  function data(el) {
    var src = document.getElementById(el.dataset.source);
    return src ? JSON.parse(src.textContent) : null;
  }

  function draw(el, option) {
    if (typeof shanhaiChart === "function") { return shanhaiChart(el, option); }
    var c = echarts.init(el); c.setOption(option); el.dataset.rendered = "1"; return c;
  }

  var kinds = {
    /* firms by per-mu band, stacked by class */
    bands: function (d) {
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 48 },
        xAxis: { type: "category", data: d.labels, name: d.unit, nameLocation: "middle", nameGap: 30 },
        yAxis: { type: "value", name: T("企业数（家）", "firms") },
        series: d.classes.map(function (c) {
          return { name: c.code + " " + (zh ? c.label : (c.label_en || c.label)), type: "bar", stack: "all",
                   itemStyle: { color: c.color }, data: d.counts[c.code] || [] };
        })
      };
    },
    /* one firm over the years: per-mu figures */
    history: function (d) {
      return {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 56, right: 56, top: 36, bottom: 30 },
        xAxis: { type: "category", data: d.years },
        yAxis: [{ type: "value", name: T("万元/亩", "万元/mu") }],
        series: [
          { name: T("亩均税收", "Tax per mu"), type: "line", data: d.tax_per_mu, connectNulls: false },
          { name: T("亩均增加值", "Value added per mu"), type: "line", data: d.value_added_per_mu, connectNulls: false }
        ]
      };
    },
    /* collection progress: share of firms with this year's data */
    progress: function (d) {
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
                   valueFormatter: function (v) { return v === null ? "—" : v.toFixed(1) + "%"; } },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 80 },
        xAxis: { type: "category", data: d.names, axisLabel: { rotate: 45, fontSize: 10 } },
        yAxis: { type: "value", max: 100, name: "%" },
        series: [
          { name: T("已报数据", "reported"), type: "bar", data: d.reported, itemStyle: { color: "#2c7fb8" } },
          { name: T("已确认", "confirmed"), type: "bar", data: d.confirmed, itemStyle: { color: "#1a9850" } }
        ]
      };
    },
    /* firms per class */
    classes: function (d) {
      return {
        tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["40%", "70%"], label: { formatter: "{b}\n{c}（{d}%）" },
                   data: d.map(function (c) { return { name: c.code + " " + c.label, value: c.firms, itemStyle: { color: c.color } }; }) }]
      };
    }
  };

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (el) {
      var make = kinds[el.dataset.chart];
      var d = data(el);
      if (!make || !d || typeof echarts === "undefined") { return; }
      var chart = draw(el, make(d));
      window.addEventListener("resize", function () { if (chart && chart.resize) { chart.resize(); } });
    });
    Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (s) {
      s.addEventListener("change", function () { if (s.form) { s.form.submit(); } });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-confirm]"), function (a) {
      a.addEventListener("click", function (e) { if (!window.confirm(a.dataset.confirm)) { e.preventDefault(); } });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
