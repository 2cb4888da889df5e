/* The carbon screens (/carbon and /carbon/firms/{uscc}): data from <script type=application/json>
   blocks the server wrote (the caller's region only); drawn through shanhaiChart (shanhai.js), so
   browser tests can wait on data-rendered. /carbon: the county choropleth (served GeoJSON; counties
   outside the region grey) of carbon intensity or low-carbon share, the industries' intensity
   against the 0.6 t/万元 line, and the firms by grade. Firm page: L, industry L and K by year. */
(function () {
  "use strict";
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  function draw(el, option) {
    if (typeof shanhaiChart === "function") { return shanhaiChart(el, option); }
    var c = echarts.init(el); c.setOption(option); el.dataset.rendered = "1"; return c;
  }
  function fmt(v, digits) { return (v === null || v === undefined || isNaN(v)) ? "—" : Number(v).toFixed(digits); }

  function countyMap(el, d) {
    var zh = d.lang !== "en";
    var byCode = {};
    (d.counties || []).forEach(function (c) { byCode[c.adcode] = c; });
    var select = document.getElementById("carbon-metric");
    var metric = (select && select.value) || "intensity";
    fetch("/static/geo/zhejiang_counties.geojson", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("geojson " + r.status); } return r.json(); })
      .then(function (geo) {
        echarts.registerMap("zhejiang-carbon", geo);
        var names = {};
        geo.features.forEach(function (f) { names[f.properties.adcode] = f.properties.name; });
        function option() {
          var values = [];
          var rows = geo.features.map(function (f) {
            var row = byCode[f.properties.adcode];
            var v = row ? row[metric] : null;
            if (v !== null && v !== undefined) { values.push(v); }
            return { name: f.properties.adcode, value: (v === null || v === undefined) ? NaN : v };
          });
          var lo = values.length ? Math.min.apply(null, values) : 0, hi = values.length ? Math.max.apply(null, values) : 1;
          if (lo === hi) { hi = lo + 1; }
          var share = metric === "share";
          return {
            tooltip: { trigger: "item", formatter: function (p) {
              var row = byCode[p.name], title = names[p.name] || p.name;
              if (!row) { return title + "<br>" + (zh ? "不在您的数据范围或无数据" : "outside your region or no data"); }
              return title + "<br>" + (zh ? "碳排放强度 " : "intensity ") + fmt(row.intensity, 3) + " t/万元<br>" +
                (zh ? "低碳产业占比 " : "low-carbon share ") + (row.share === null ? "—" : fmt(100 * row.share, 1) + "%") +
                (row.meets_target === null ? "" : (row.meets_target ? (zh ? "（达标）" : " (meets target)") : (zh ? "（未达标）" : " (below target)")));
            } },
            visualMap: { type: "continuous", min: lo, max: hi, left: 8, bottom: 8, calculable: true,
                         text: [share ? fmt(100 * hi, 0) + "%" : fmt(hi, 2), share ? fmt(100 * lo, 0) + "%" : fmt(lo, 2)],
                         inRange: { color: share ? ["#f7fcf5", "#a1d99b", "#31a354", "#006d2c"]
                                                 : ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"] } },
            series: [{ type: "map", map: "zhejiang-carbon", nameProperty: "adcode", roam: false, selectedMode: false,
                       data: rows, itemStyle: { areaColor: "#e0e0e0", borderColor: "#fff", borderWidth: 0.8 },
                       emphasis: { label: { show: true, formatter: function (p) { return names[p.name] || p.name; } } } }]
          };
        }
        var chart = draw(el, option());
        el.dataset.counties = String(geo.features.length);
        if (select) {
          select.addEventListener("change", function () { metric = select.value; chart.setOption(option(), { notMerge: true }); });
        }
        window.addEventListener("resize", function () { chart.resize(); });
      })
      .catch(function (e) {
        el.innerHTML = '<div class="sh-empty">' + (zh ? "地图数据加载失败：" : "The map could not be loaded: ") + e.message + "</div>";
      });
  }

  function industries(el, d) {
    var zh = d.lang !== "en";
    var rows = d.industries.slice().reverse();
    el.style.height = Math.max(320, rows.length * 16 + 60) + "px";
    draw(el, {
      grid: { left: 170, right: 64, top: 28, bottom: 30 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", name: "t/万元" },
      yAxis: { type: "category", axisLabel: { fontSize: 10, interval: 0 },
               data: rows.map(function (r) { return r.code + " " + (r.name || ""); }) },
      series: [{ type: "bar", barMaxWidth: 12,
                 data: rows.map(function (r) { return { value: r.intensity, itemStyle: { color: r.low ? "#1a9850" : "#d73027" } }; }),
                 markLine: { symbol: "none", data: [{ xAxis: d.line, name: zh ? "低碳线" : "line" }],
                             label: { position: "end", formatter: (zh ? "低碳线 " : "line ") + d.line } } }]
    });
  }

  function grades(el, d) {
    var zh = d.lang !== "en";
    draw(el, {
      grid: { left: 50, right: 20, top: 26, bottom: 30 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.grades.map(function (g) { return g.grade === "none" ? (zh ? "不评级" : "none") : g.grade + (zh ? "级" : ""); }) },
      yAxis: { type: "value" },
      series: [{ type: "bar", barMaxWidth: 40, data: d.grades.map(function (g) { return { value: g.n, itemStyle: { color: g.color } }; }),
                 label: { show: true, position: "top" } }]
    });
  }

  function history(el, d) {
    var zh = d.lang !== "en";
    draw(el, {
      grid: { left: 50, right: 50, top: 30, bottom: 30 },
      tooltip: { trigger: "axis" },
      legend: { data: zh ? ["企业 L", "行业 L", "K"] : ["firm L", "industry L", "K"] },
      xAxis: { type: "category", data: d.years.map(String) },
      yAxis: [{ type: "value", name: "t/万元" }, { type: "value", name: "K" }],
      series: [{ name: zh ? "企业 L" : "firm L", type: "bar", data: d.intensity },
               { name: zh ? "行业 L" : "industry L", type: "line", data: d.industry },
               { name: "K", type: "line", yAxisIndex: 1, data: d.k }]
    });
  }

  var m = document.getElementById("carbon-map"), md = data("carbon-map-data");
  if (m && md && typeof echarts !== "undefined") { countyMap(m, md); }
  var cd = data("carbon-chart-data");
  var ind = document.getElementById("carbon-industries");
  if (ind && cd && typeof echarts !== "undefined") { industries(ind, cd); }
  var gr = document.getElementById("carbon-grades");
  if (gr && cd && typeof echarts !== "undefined") { grades(gr, cd); }
  var h = document.getElementById("carbon-history"), hd = data("carbon-history-data");
  if (h && hd && typeof echarts !== "undefined") { history(h, hd); }
})();
