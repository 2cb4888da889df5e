/* 电力指数 (/indices): the region's composite, year-on-year and fixed-base indices month by month,
 * with the share of firms operating, and the 100 line (the same period a year before). Data:
 * <script id="indices-data">; drawn through shanhaiChart (shanhai.js: `finished` handler before
 * setOption, data-rendered="1"). */
(function () {
  "use strict";

  function init() {
    var el = document.getElementById("indices-chart");
    var d = el && shanhaiData(el.dataset.source);
    if (!d || typeof echarts === "undefined") { return; }
    var en = d.lang === "en";
    function T(zh, e) { return en ? e : zh; }
    function line(name, data, color, dashed) {
      return { name: name, type: "line", data: data, connectNulls: false, symbolSize: 5,
               itemStyle: { color: color }, lineStyle: { color: color, type: dashed ? "dashed" : "solid" } };
    }
    var composite = line(T("运行指数", "composite"), d.composite, "#c0392b", false);
    composite.markLine = { silent: true, symbol: "none", data: [{ yAxis: 100 }], lineStyle: { color: "#7f8c8d" },
                           label: { formatter: T("100 上年同期", "100 = a year before") } };
    var option = {
      animation: false,
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: 40 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); } },
      xAxis: { type: "category", data: d.periods },
      yAxis: { type: "value", scale: true, name: T("指数", "index") },
      series: [composite, line(T("用电同比指数", "y/y index"), d.yoy, "#2980b9", false),
               line(T("定基指数", "fixed base"), d.base, "#8e44ad", true),
               line(T("运行企业占比 %", "operating %"), d.operating, "#27ae60", true)]
    };
    shanhaiChart(el, option);
    el.dataset.points = String(d.periods.length);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
