/* 一企一县 pairing (/coop/pairing).
 *
 * The plan page: <div id="pairing-chart" data-source="pairing-chart-data"> — per county, the points
 * of its paired firms stacked by component (chain fit, capacity, efficiency, pairing, distance,
 * within-city bonus), drawn through shanhaiChart (shanhai.js sets data-rendered="1" when ECharts
 * has finished); the number of counties drawn is put in data-counties.
 *
 * The planner form: the minimum firms per county may not exceed the maximum (the browser says so
 * before the form is sent; the server checks again).
 */
(function () {
  "use strict";

  function drawChart(el) {
    var d = shanhaiData(el.dataset.source);
    if (!d || typeof echarts === "undefined") { return; }
    var en = d.lang === "en";
    var option = {
      animation: false,
      legend: { top: 0 },
      grid: { left: 110, right: 24, top: 36, bottom: 28 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", name: en ? "points" : "得分", nameLocation: "end" },
      yAxis: { type: "category", data: d.counties, inverse: true },
      series: d.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "points", data: s.data, itemStyle: { color: s.color },
                 emphasis: { focus: "series" } };
      })
    };
    shanhaiChart(el, option);
    el.dataset.counties = String(d.counties.length);
  }

  function checkForm(form) {
    var lo = form.querySelector("[name=per_county_min]");
    var hi = form.querySelector("[name=per_county_max]");
    if (!lo || !hi) { return; }
    var en = document.body.getAttribute("data-lang") === "en";
    function check() {
      var bad = Number(lo.value) > Number(hi.value);
      lo.setCustomValidity(bad ? (en ? "The minimum exceeds the maximum." : "最少企业数不能大于最多企业数。") : "");
    }
    lo.addEventListener("input", check);
    hi.addEventListener("input", check);
    check();
  }

  function init() {
    var el = document.getElementById("pairing-chart");
    if (el) { drawChart(el); }
    var form = document.getElementById("pairing-form");
    if (form) { checkForm(form); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
