/* /alerts/{alert_id}: the firm's average daily electricity by month, its baseline (the previous 12
 * months, festival months left out) and the months whose risk score reached the alert line, marked
 * red with the signals that fired in the tooltip. Data: <script type="application/json"
 * id="alert-data">; drawn through shanhaiChart (shanhai.js), which sets data-rendered="1". */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").slice(0, 2) !== "en";
  function T(a, b) { return zh ? a : b; }
  function num(v, n) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN", { maximumFractionDigits: n }); }

  function option(d) {
    var marks = [];
    d.months.forEach(function (m, i) { if (d.alert[i]) { marks.push([m, d.daily[i]]); } });
    return {
      animation: false,
      grid: { left: 64, right: 56, top: 36, bottom: 40 },
      legend: { top: 0 },
      tooltip: {
        trigger: "axis",
        formatter: function (ps) {
          var i = ps[0].dataIndex;
          var sig = d.signals[i].map(function (s) { var p = s.split("/"); return zh ? p[0] : p[1]; });
          return d.months[i] + "<br>" + T("日均用电 ", "daily kWh ") + num(d.daily[i], 1) +
                 "<br>" + T("基线 ", "baseline ") + num(d.baseline[i], 1) +
                 "<br>" + T("风险得分 ", "risk score ") + num(d.score[i], 1) +
                 (sig.length ? "<br>" + T("信号：", "signals: ") + sig.join(T("、", ", ")) : "");
        }
      },
      xAxis: { type: "category", data: d.months },
      yAxis: [{ type: "value", name: T("kWh/日", "kWh/day") },
              { type: "value", name: T("得分", "score"), min: 0, max: 100, splitLine: { show: false } }],
      series: [
        { name: T("日均用电", "daily use"), type: "line", data: d.daily, showSymbol: false, lineStyle: { width: 2 } },
        { name: T("基线", "baseline"), type: "line", data: d.baseline, showSymbol: false, lineStyle: { type: "dashed" } },
        { name: T("风险得分", "risk score"), type: "bar", yAxisIndex: 1, data: d.score, itemStyle: { color: "rgba(215,48,39,0.25)" },
          markLine: { silent: true, symbol: "none", data: [{ yAxis: d.alert_at, name: T("预警线", "alert line") }],
                      lineStyle: { color: "#d73027" } } },
        { name: T("预警月份", "alert months"), type: "scatter", data: marks, symbolSize: 9, itemStyle: { color: "#d73027" } }
      ]
    };
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-alert-chart]"), function (el) {
      var src = document.getElementById(el.dataset.source);
      if (!src || typeof echarts === "undefined") { return; }
      var d = JSON.parse(src.textContent);
      var chart = typeof shanhaiChart === "function" ? shanhaiChart(el, option(d)) : echarts.init(el);
      if (typeof shanhaiChart !== "function") { chart.setOption(option(d)); el.dataset.rendered = "1"; }
      window.addEventListener("resize", function () { if (chart && chart.resize) { chart.resize(); } });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
