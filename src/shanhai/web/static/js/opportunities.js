/* 一县一业 (/opportunities): every manufacturing class of the county at (feasibility = density,
 * attractiveness = complexity outlook gain), sized by the county's value; the county's present
 * classes, the others, the suggestions to develop and to strengthen, and the declared lead
 * industries (purple diamonds) as separate series. Data: <script id="opportunity-data">; drawn
 * through shanhaiChart (shanhai.js: `finished` handler before setOption, data-rendered="1"). */
(function () {
  "use strict";

  function init() {
    var el = document.getElementById("opportunity-chart");
    var d = el && shanhaiData(el.dataset.source);
    if (!d || typeof echarts === "undefined") { return; }
    var en = d.lang === "en";
    function T(zh, e) { return en ? e : zh; }
    var most = 0;
    d.points.forEach(function (p) { most = Math.max(most, p.value || 0); });
    function size(p) { return most > 0 && p.value ? 6 + 22 * Math.sqrt(p.value / most) : 5; }
    function item(p) { return { value: [p.x, p.y], name: p.code + " " + p.name, info: p }; }
    function pick(test) { return d.points.filter(test).map(item); }
    var series = [
      { name: T("本县未有", "absent"), color: "#c3ccd8", data: pick(function (p) { return !p.present && !p.top; }) },
      { name: T("本县已有优势", "present (RCA ≥ 1)"), color: "#4575b4", data: pick(function (p) { return p.present && !p.top; }) },
      { name: T("建议培育", "develop"), color: "#1a9850", data: pick(function (p) { return p.top === "develop"; }) },
      { name: T("建议做强", "strengthen"), color: "#f39c12", data: pick(function (p) { return p.top === "strengthen"; }) }
    ].map(function (s) {
      return { name: s.name, type: "scatter", data: s.data, itemStyle: { color: s.color, opacity: 0.85 },
               symbolSize: function (v, params) { return size(params.data.info); } };
    });
    series.push({ name: T("主导产业", "declared lead"), type: "scatter", symbol: "diamond", z: 5,
                  data: pick(function (p) { return !!p.lead; }),
                  itemStyle: { color: "rgba(0,0,0,0)", borderColor: "#6a1b9a", borderWidth: 2 },
                  symbolSize: function (v, params) { return size(params.data.info) + 6; } });
    var option = {
      animation: false,
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var i = p.data.info;
          function f(v, n) { return v === null || v === undefined ? "—" : Number(v).toFixed(n); }
          return "<b>" + i.code + " " + i.name + "</b><br>" + T("可行性", "density") + " " + f(i.x, 3) + " · COG " + f(i.y, 3) +
                 "<br>PCI " + f(i.pci, 2) + " · RCA " + f(i.rca, 2) + "<br>" + d.measure + " " + f(i.value, 1) + " " + d.unit +
                 (i.lead ? "<br>" + T("主导产业：", "lead: ") + i.lead : "") + (i.rank ? "<br>#" + i.rank : "");
        }
      },
      xAxis: { type: "value", name: T("可行性（密度）", "feasibility (density)"), nameLocation: "middle", nameGap: 28, scale: true },
      yAxis: { type: "value", name: T("吸引力（机会增益 COG）", "attractiveness (COG)"), scale: true,
               nameLocation: "middle", nameGap: 40 },
      series: series
    };
    shanhaiChart(el, option);
    el.dataset.points = String(d.points.length);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
