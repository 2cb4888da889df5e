/* The zone evaluation charts (/zones and /zones/{zone_id}): data from <script type=application/json>
   blocks the server wrote; drawn through shanhaiChart (shanhai.js), so browser tests can wait on
   data-rendered. Ranking: one horizontal bar chart per comparison group (score by rank, coloured
   by tier, the caller's own zones and bottom-N zones marked). Zone: points by group against the
   maximum, and score/rank by year. */
(function () {
  "use strict";
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  function ranking(el, d) {
    var zh = d.lang !== "en";
    var names = [], values = [];
    var grids = [], xs = [], ys = [], series = [];
    var n = d.groups.length, gap = 4, h = (100 - gap * (n + 1)) / Math.max(n, 1);
    d.groups.forEach(function (g, i) {
      var top = gap + i * (h + gap);
      grids.push({ left: 150, right: 24, top: top + "%", height: (h - 3) + "%" });
      xs.push({ type: "value", gridIndex: i, max: 100, splitNumber: 5, axisLabel: { show: i === n - 1 } });
      ys.push({ type: "category", gridIndex: i, inverse: true, axisLabel: { fontSize: 10, interval: 0 },
                name: g.label, nameLocation: "start", nameTextStyle: { fontWeight: "bold" },
                data: g.zones.map(function (z) { return z.rank + ". " + z.name + (z.bottom ? " ●" : ""); }) });
      series.push({ type: "bar", xAxisIndex: i, yAxisIndex: i, barMaxWidth: 14,
                    data: g.zones.map(function (z) {
                      return { value: z.score, tier: z.tier,
                               itemStyle: { color: z.color, borderColor: z.mine ? "#111" : z.color, borderWidth: z.mine ? 2 : 0 } };
                    }),
                    label: { show: true, position: "right", fontSize: 10, formatter: function (p) { return p.value.toFixed(1); } } });
    });
    var rows = d.groups.reduce(function (a, g) { return a + g.zones.length; }, 0);
    el.style.height = Math.max(320, rows * 18 + n * 60) + "px";
    return shanhaiChart(el, {
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "<br>" + (zh ? "总分 " : "score ") + p.value.toFixed(2) + " · " + p.data.tier; } },
      grid: grids, xAxis: xs, yAxis: ys, series: series, animation: false
    });
  }

  function groups(el, d) {
    var zh = d.lang !== "en";
    return shanhaiChart(el, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 90, right: 24, top: 30, bottom: 24 },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: d.groups.map(function (g) { return g.label; }) },
      series: [
        { name: zh ? "满分" : "maximum", type: "bar", data: d.groups.map(function (g) { return g.max; }), itemStyle: { color: "#dfe3ea" }, barGap: "-100%" },
        { name: zh ? "得分" : "points", type: "bar", data: d.groups.map(function (g) { return g.points; }), itemStyle: { color: "#2c7fb8" } }
      ], animation: false
    });
  }

  function history(el, d) {
    var zh = d.lang !== "en";
    return shanhaiChart(el, {
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 30 },
      xAxis: { type: "category", data: d.years },
      yAxis: [{ type: "value", name: zh ? "总分" : "score", min: 0 }, { type: "value", name: zh ? "名次" : "rank", inverse: true, minInterval: 1 }],
      series: [{ name: zh ? "总分" : "score", type: "line", data: d.scores },
               { name: zh ? "名次" : "rank", type: "line", yAxisIndex: 1, data: d.ranks }],
      animation: false
    });
  }

  function init() {
    var draws = { "zones-chart": ranking, "zone-groups-chart": groups, "zone-history-chart": history };
    Array.prototype.forEach.call(document.querySelectorAll("input[type=checkbox][data-autosubmit]"), function (c) {
      c.addEventListener("change", function () { if (c.form) { c.form.submit(); } });
    });
    Object.keys(draws).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var d = data(el.dataset.source);
      if (d) { draws[id](el, d); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
