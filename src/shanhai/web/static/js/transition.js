/* The cage-swap ledger chart (/transition): per county, the freed energy quota split into allocated
   and available (tce, the ledger basis), from the <script type=application/json id=transition-data>
   block the server wrote; drawn through shanhaiChart (shanhai.js), so browser tests can wait on
   data-rendered. */
(function () {
  "use strict";
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  function balance(el, d) {
    var zh = d.lang !== "en";
    el.style.height = Math.max(220, d.counties.length * 26 + 70) + "px";
    return shanhaiChart(el, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 110, right: 30, top: 30, bottom: 24 },
      xAxis: { type: "value", name: "tce" },
      yAxis: { type: "category", inverse: true, data: d.counties.map(function (c) { return c.name; }) },
      series: [
        { name: zh ? "已分配" : "allocated", type: "bar", stack: "e", itemStyle: { color: "#2c7fb8" },
          data: d.counties.map(function (c) { return c.allocated; }) },
        { name: zh ? "可用" : "available", type: "bar", stack: "e", itemStyle: { color: "#1a9850" },
          data: d.counties.map(function (c) { return c.available; }) }
      ], animation: false
    });
  }

  function init() {
    var el = document.getElementById("transition-chart");
    if (!el) { return; }
    var d = data(el.dataset.source);
    if (d && d.counties.length) { balance(el, d); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
