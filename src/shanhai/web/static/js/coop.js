/* 山海协作 screens (/coop, /coop/counties/{adcode}, /coop/enclaves): the action plan's targets
 * (share achieved against calendar progress 序时进度, coloured by light), a county's per-mu figures
 * against their targets, and the enclaves' returns by year. Data: <script type="application/json">
 * blocks named by each chart's data-source; every chart goes through shanhaiChart (shanhai.js: the
 * `finished` handler is attached before setOption, and data-rendered="1" is set when drawn). The
 * map of /coop is map.js. */
(function () {
  "use strict";

  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(0) + "%"; }
  function num(v, n) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN", { maximumFractionDigits: n }); }

  function progress(el, d) {
    var en = d.lang === "en";
    var items = d.items.slice().reverse();
    return {
      animation: false,
      grid: { left: 8, right: 48, top: 28, bottom: 24, containLabel: true },
      legend: { top: 0, data: [en ? "achieved" : "完成度", en ? "calendar progress" : "序时进度"] },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (ps) {
          var i = items[ps[0].dataIndex];
          return i.label + "<br>" + (en ? "now " : "当前 ") + num(i.actual, 0) + " / " + num(i.target, 0) + " " + i.unit +
                 "<br>" + (en ? "achieved " : "完成度 ") + pct(i.achieved) + " · " + (en ? "calendar " : "序时进度 ") + pct(i.schedule);
        }
      },
      xAxis: { type: "value", max: function (v) { return Math.max(1, v.max); }, axisLabel: { formatter: function (v) { return pct(v); } } },
      yAxis: { type: "category", data: items.map(function (i) { return i.label; }), axisLabel: { width: 260, overflow: "truncate" } },
      series: [
        { name: en ? "achieved" : "完成度", type: "bar", barWidth: 10,
          data: items.map(function (i) { return { value: i.achieved === null ? 0 : i.achieved, itemStyle: { color: i.color } }; }) },
        { name: en ? "calendar progress" : "序时进度", type: "scatter", symbol: "rect", symbolSize: [3, 16],
          itemStyle: { color: "#333" }, data: items.map(function (i) { return i.schedule; }) }
      ]
    };
  }

  function targets(el, d) {
    // the figures have different units (万元/亩, 万元/人): each bar is its figure as a share of its own
    // target, so one axis (%) holds them all, the target is the 100 % line and the tooltip gives both
    var en = d.lang === "en";
    var items = d.items;
    function share(i) { return (i.actual === null || i.actual === undefined || !i.target) ? null : 100 * i.actual / i.target; }
    function num(v) { return (v === null || v === undefined) ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 }); }
    return {
      animation: false,
      grid: { left: 8, right: 24, top: 28, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (ps) {
          var i = items[ps[0].dataIndex];
          return i.label + "<br>" + (en ? "actual " : "当前 ") + num(i.actual) + " " + i.unit + "<br>" +
            (en ? "target " : "目标 ") + num(i.target) + " " + i.unit + "<br>" +
            (en ? "of target " : "完成目标 ") + (share(i) === null ? "—" : share(i).toFixed(1) + "%");
        }
      },
      xAxis: { type: "category", data: items.map(function (i) { return i.label + "（" + i.unit + "）"; }),
               axisLabel: { width: 200, overflow: "break", interval: 0 } },
      yAxis: { type: "value", name: en ? "% of target" : "占目标 %" },
      series: [
        { name: en ? "of target" : "完成目标", type: "bar", barWidth: 28,
          data: items.map(function (i) { return { value: share(i), itemStyle: { color: i.met ? "#1a9850" : "#d73027" } }; }),
          markLine: { symbol: "none", silent: true, lineStyle: { color: "#555", type: "dashed" },
                      label: { formatter: en ? "target" : "目标" }, data: [{ yAxis: 100 }] } }
      ]
    };
  }

  function returns(el, d) {
    var en = d.lang === "en";
    return {
      animation: false,
      grid: { left: 8, right: 24, top: 24, bottom: 24, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.years.map(String) },
      yAxis: { type: "value", name: en ? "万元" : "万元" },
      series: [{ name: en ? "returns" : "返还收益", type: "bar", barMaxWidth: 48, itemStyle: { color: "#2c7fb8" }, data: d.amounts }]
    };
  }

  var charts = { "coop-progress-chart": progress, "coop-targets-chart": targets, "coop-returns-chart": returns };

  function init() {
    if (typeof echarts === "undefined") { return; }
    Object.keys(charts).forEach(function (id) {
      var el = document.getElementById(id);
      var d = el && shanhaiData(el.dataset.source);
      if (!d) { return; }
      shanhaiChart(el, charts[id](el, d));
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
