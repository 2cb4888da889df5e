/* The targets screens' charts (/targets and /targets/indicators/{id}): data from
   <script type=application/json> blocks the server wrote, drawn through shanhaiChart
   (shanhai.js, which marks data-rendered once ECharts has finished). Also submits
   <select data-autosubmit> forms (no inline handlers: the CSP forbids them). */
(function () {
  "use strict";

  function data(el) { return shanhaiData(el.dataset.source); }

  function indexChart(el, d) {
    var zh = d.lang !== "en";
    var rows = d.rows.filter(function (r) { return r.index !== null; });
    el.style.height = Math.max(240, rows.length * 18 + 60) + "px";
    return shanhaiChart(el, {
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "<br>" + (zh ? "指数 " : "index ") + p.value.toFixed(2); } },
      grid: { left: 130, right: 40, top: 10, bottom: 24 },
      xAxis: { type: "value", min: 50, max: 100 },
      yAxis: { type: "category", inverse: true, axisLabel: { fontSize: 10, interval: 0 },
               data: rows.map(function (r) { return r.rank + ". " + r.name; }) },
      series: [{ type: "bar", barMaxWidth: 14, data: rows.map(function (r) { return r.index; }),
                 itemStyle: { color: "#2c7fb8" },
                 label: { show: true, position: "right", fontSize: 10, formatter: function (p) { return p.value.toFixed(1); } } }],
      animation: false
    });
  }

  function indicatorChart(el, d) {
    var zh = d.lang !== "en";
    var months = [];
    for (var m = 1; m <= 12; m++) { months.push(zh ? m + "月" : String(m)); }
    var series = [];
    if (d.series.length) {
      d.series.forEach(function (s) {
        series.push({ name: String(s.year), type: "line", data: s.values, connectNulls: false,
                      lineStyle: { width: s.year === d.year ? 3 : 1.5 }, symbolSize: s.year === d.year ? 6 : 3 });
      });
      if (d.path) {
        series.push({ name: zh ? "序时目标" : "target by calendar", type: "line", data: d.path.values,
                      lineStyle: { type: "dashed", color: "#888" }, itemStyle: { color: "#888" }, symbol: "none" });
      }
      if (d.goal !== null && d.goal !== undefined) {
        var goal = [];
        for (var g = 0; g < 12; g++) { goal.push(null); }
        goal[11] = d.goal;
        series.push({ name: zh ? "全年目标" : "year target", type: "scatter", data: goal, symbol: "diamond",
                      symbolSize: 12, itemStyle: { color: "#1a9850" } });
      }
      if (d.forecast) {
        var band = [], point = [];
        for (var i = 0; i < 12; i++) { band.push(null); point.push(null); }
        point[11] = d.forecast.point;
        series.push({ name: zh ? "年末预计" : "year-end forecast", type: "scatter", data: point, symbolSize: 10,
                      itemStyle: { color: "#d73027" } });
        if (d.forecast.low !== null && d.forecast.high !== null) {
          var low = band.slice(), width = band.slice();
          low[11] = d.forecast.low; width[11] = d.forecast.high - d.forecast.low;
          series.push({ name: "band-low", type: "bar", stack: "band", data: low, itemStyle: { color: "transparent" },
                        barWidth: 14, tooltip: { show: false } });
          series.push({ name: zh ? "预计区间" : "forecast interval", type: "bar", stack: "band", data: width,
                        itemStyle: { color: "rgba(215,48,39,0.25)" }, barWidth: 14 });
        }
      }
      return shanhaiChart(el, {
        tooltip: { trigger: "axis" },
        legend: { top: 0, data: series.map(function (s) { return s.name; }).filter(function (n) { return n !== "band-low"; }) },
        grid: { left: 70, right: 24, top: 40, bottom: 30 },
        xAxis: { type: "category", data: months },
        yAxis: { type: "value", name: d.unit, scale: true },
        series: series, animation: false
      });
    }
    var years = Object.keys(d.annual);
    return shanhaiChart(el, {
      tooltip: { trigger: "axis" }, grid: { left: 70, right: 24, top: 30, bottom: 30 },
      xAxis: { type: "category", data: years }, yAxis: { type: "value", name: d.unit, scale: true },
      series: [{ name: d.unit, type: "line", data: years.map(function (y) { return d.annual[y]; }) }], animation: false
    });
  }

  function init() {
    var idx = document.getElementById("targets-index-chart");
    if (idx) { indexChart(idx, data(idx)); }
    var ind = document.getElementById("indicator-chart");
    if (ind) { indicatorChart(ind, data(ind)); }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { if (s.form) { s.form.submit(); } });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
