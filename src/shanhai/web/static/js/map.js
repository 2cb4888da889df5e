/* The overview's county choropleth (ECharts, served GeoJSON: nothing leaves the host).
   Data: <script id="map-data" type="application/json"> written by the server with the run's
   county figures inside the user's region only; counties outside it are drawn grey.
   The 26 mountain counties are outlined by a second, silent geo layer over the map series. */
(function () {
  "use strict";
  var el = document.getElementById("county-map");
  var src = document.getElementById("map-data");
  if (!el || !src || typeof echarts === "undefined") { return; }
  var payload = JSON.parse(src.textContent);
  var lang = (document.documentElement.lang || "zh").slice(0, 2);
  var zh = lang !== "en";
  var metrics = {};
  (payload.metrics || []).forEach(function (m) { metrics[m.id] = m; });
  var byCode = {};
  (payload.counties || []).forEach(function (c) { byCode[c.adcode] = c; });
  var region = payload.region || {};
  var select = document.getElementById("metric-switch");
  var metric = (select && select.value) || el.dataset.metric || "tax_per_mu";

  function fmt(v, unit) {
    if (v === null || v === undefined || isNaN(v)) { return zh ? "无数据" : "no data"; }
    var digits = Math.abs(v) >= 100 ? 1 : 2;
    return v.toLocaleString("zh-CN", { maximumFractionDigits: digits, minimumFractionDigits: digits }) + " " + unit;
  }

  function palette(id) {
    if (id === "tax_growth" || id === "value_added_growth") {
      return ["#1a9850", "#a6d96a", "#ffffbf", "#fdae61", "#d73027"];   // fall green, rise red
    }
    if (id === "share_bottom") { return ["#fff5eb", "#fdbe85", "#fd8d3c", "#d94701", "#8c2d04"]; }
    return ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];       // YlGnBu
  }

  function build(geo) {
    // every county of the province is drawn; below the province the view zooms on the city
    var features = geo.features;
    var mapName = "zhejiang";
    var cityCode = region.level === "city" ? region.adcode
      : (region.level === "county" || region.level === "town") ? region.city_adcode : null;
    echarts.registerMap(mapName, geo);
    var names = {}, cityOf = {};
    features.forEach(function (f) { names[f.properties.adcode] = f.properties.name; cityOf[f.properties.adcode] = f.properties.city_adcode; });
    function bbox(list) {
      var b = [Infinity, Infinity, -Infinity, -Infinity];
      function walk(c) {
        if (typeof c[0] === "number") {
          b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
        } else { c.forEach(walk); }
      }
      list.forEach(function (f) { walk(f.geometry.coordinates); });
      return b;
    }
    var focus = {};
    if (cityCode) {
      var all = bbox(features);
      var part = bbox(features.filter(function (f) { return f.properties.city_adcode === cityCode; }));
      var zoom = 0.9 * Math.min((all[2] - all[0]) / (part[2] - part[0]), (all[3] - all[1]) / (part[3] - part[1]));
      focus = { center: [(part[0] + part[2]) / 2, (part[1] + part[3]) / 2], zoom: Math.max(1, zoom) };
    }
    var mountain = {};
    (payload.mountain26 || []).forEach(function (a) { mountain[a] = true; });
    var selected = region.level === "county" ? region.adcode : (region.level === "town" ? region.county_adcode : null);

    function option() {
      var m = metrics[metric] || { label: metric, unit: "" };
      var values = [];
      var data = features.map(function (f) {
        var code = f.properties.adcode;
        var row = byCode[code];
        var v = row ? row[metric] : null;
        if (v !== null && v !== undefined) { values.push(v); }
        var item = { name: code, value: (v === null || v === undefined) ? NaN : v };
        if (code === selected) { item.itemStyle = { borderColor: "#111", borderWidth: 2.5 }; }
        return item;
      });
      // the colour scale spans the 5th to 95th percentile: one outlier must not wash out the rest
      var sorted = values.slice().sort(function (a, b) { return a - b; });
      function pct(q) { return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] : 0; }
      var lo = sorted.length > 10 ? pct(0.05) : (sorted.length ? sorted[0] : 0);
      var hi = sorted.length > 10 ? pct(0.95) : (sorted.length ? sorted[sorted.length - 1] : 1);
      if (metric === "tax_growth" || metric === "value_added_growth") {
        var a = Math.max(Math.abs(lo), Math.abs(hi)) || 1; lo = -a; hi = a;
      }
      if (lo === hi) { hi = lo + 1; }
      data.forEach(function (item) {
        if (!isNaN(item.value)) { item.value = Math.min(hi, Math.max(lo, item.value)); }   // the tooltip shows the real value
      });
      var outline = features.filter(function (f) { return mountain[f.properties.adcode]; }).map(function (f) {
        return { name: f.properties.adcode, itemStyle: { borderColor: "#6a1b9a", borderWidth: 2.2, areaColor: "rgba(0,0,0,0)" } };
      });
      var layout = Object.assign({ layoutCenter: ["50%", "52%"], layoutSize: "96%" }, focus);
      return {
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            var row = byCode[p.name];
            var title = names[p.name] || p.name;
            if (mountain[p.name]) { title += zh ? "（山区26县）" : " (mountain county)"; }
            if (!row) { return title + "<br>" + (zh ? "不在您的数据范围或无数据" : "outside your region or no data"); }
            return title + "<br>" + (zh ? m.label : (m.label_en || m.label)) + "：" + fmt(row[metric], m.unit) +
              "<br>" + (zh ? "企业 " : "firms ") + (row.firms || 0).toLocaleString() +
              (zh ? " 家，规上亩均税收 " : ", tax/mu ") + fmt(row.tax_per_mu, "万元/亩");
          }
        },
        visualMap: {
          // one county with data (a county user's map): a colour scale over one value says nothing
          show: sorted.length > 1,
          type: "continuous", min: lo, max: hi, left: 8, bottom: 8, calculable: true, seriesIndex: 0,
          text: ["≥ " + fmt(hi, m.unit), "≤ " + fmt(lo, m.unit)], inRange: { color: palette(metric) },
          outOfRange: { color: "#e0e0e0" }
        },
        geo: Object.assign({
          map: mapName, nameProperty: "adcode", silent: true, z: 5, roam: false,
          itemStyle: { areaColor: "rgba(0,0,0,0)", borderColor: "rgba(0,0,0,0)", borderWidth: 0 },
          emphasis: { disabled: true }, select: { disabled: true }, label: { show: false },
          regions: outline
        }, layout),
        series: [Object.assign({
          type: "map", map: mapName, nameProperty: "adcode", roam: false, z: 2, selectedMode: false,
          data: data,
          itemStyle: { areaColor: "#e0e0e0", borderColor: "#ffffff", borderWidth: 0.8 },
          emphasis: { label: { show: true, formatter: function (p) { return names[p.name] || p.name; } },
                      itemStyle: { areaColor: "#ffd54f" } },
          label: { show: !!cityCode, fontSize: 10, color: "#333",
                   formatter: function (p) { return cityOf[p.name] === cityCode ? (names[p.name] || p.name) : ""; } }
        }, layout)]
      };
    }

    var chart = (typeof shanhaiChart === "function") ? shanhaiChart(el, option()) : null;
    if (!chart || typeof chart.setOption !== "function") { chart = echarts.getInstanceByDom(el) || echarts.init(el); if (!el.dataset.rendered) { chart.setOption(option()); } }
    el.dataset.counties = String(features.length);

    chart.on("click", function (p) {
      var code = p.name;
      if (!byCode[code]) { return; }
      if (el.dataset.link) {      // a page listing counties (/coop): a county opens its own page (row.href), if any
        if (byCode[code].href) { window.location.href = byCode[code].href; }
        return;
      }
      // province: a county opens its city; a city: the county; a county: its neighbour county
      var target = (region.level === "province") ? byCode[code].city_adcode : code;
      var q = new URLSearchParams(window.location.search);
      q.set("region", target);
      q.set("metric", metric);
      if (el.dataset.run) { q.set("run", el.dataset.run); }
      window.location.search = q.toString();
    });
    if (select) {
      select.addEventListener("change", function () {
        metric = select.value;
        chart.setOption(option(), { notMerge: true });
        var q = new URLSearchParams(window.location.search);
        q.set("metric", metric);
        window.history.replaceState(null, "", "?" + q.toString());
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }

  fetch("/static/geo/zhejiang_counties.geojson", { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("geojson " + r.status); } return r.json(); })
    .then(build)
    .catch(function (e) {
      el.innerHTML = '<div class="sh-empty">' + (zh ? "地图数据加载失败：" : "The map could not be loaded: ") + e.message + "</div>";
    });
})();
