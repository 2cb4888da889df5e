/* 山海产业大脑 — shared page scripts (no inline scripts: the CSP allows only files from /static).
 *
 * shanhaiChart(el, option): an ECharts instance on `el` that marks `el.dataset.rendered = '1'`
 * once drawn (the `finished` handler is attached BEFORE setOption, so a fast first render is
 * not missed; browser tests wait on it). Returns the chart.
 * shanhaiData(id): the JSON inside <script type="application/json" id="…">, for page data.
 * shanhaiFetch(url, options): fetch with the page's CSRF token on state-changing requests.
 */
(function () {
  'use strict';

  function csrfToken() {
    return document.body ? document.body.getAttribute('data-csrf') || '' : '';
  }

  window.shanhaiChart = function (el, option, opts) {
    if (typeof el === 'string') { el = document.getElementById(el); }
    if (!el || !window.echarts) { return null; }
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, opts || { renderer: 'canvas' });
    el.dataset.rendered = '0';
    chart.off('finished');
    chart.on('finished', function () { el.dataset.rendered = '1'; });
    chart.setOption(option, true);
    if (!el.dataset.resizeBound) {
      el.dataset.resizeBound = '1';
      window.addEventListener('resize', function () { chart.resize(); });
    }
    return chart;
  };

  window.shanhaiData = function (id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  };

  window.shanhaiFetch = function (url, options) {
    options = options || {};
    var method = (options.method || 'GET').toUpperCase();
    options.credentials = 'same-origin';
    options.headers = options.headers || {};
    if (method !== 'GET' && method !== 'HEAD') { options.headers['X-CSRF-Token'] = csrfToken(); }
    return fetch(url, options);
  };

  // forms asking for confirmation: <form data-confirm="…">
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // background job page: poll its status until it ends
  function pollJob(panel) {
    var url = panel.getAttribute('data-job-poll');
    var zh = document.body.getAttribute('data-lang') !== 'en';
    var labels = { queued: zh ? '排队中' : 'queued', running: zh ? '运行中' : 'running',
                   done: zh ? '已完成' : 'done', failed: zh ? '失败' : 'failed' };
    function q(sel) { return panel.querySelector(sel); }
    function tick() {
      fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          q('[data-job-bar]').style.width = job.percent + '%';
          q('[data-job-percent]').textContent = job.percent + '%';
          q('[data-job-message]').textContent = job.message || '';
          var status = q('[data-job-status]');
          status.textContent = labels[job.status] || job.status;
          status.className = 'badge status-' + job.status;
          if (job.status === 'failed') {
            var err = q('[data-job-error]'); err.textContent = job.error || ''; err.hidden = false;
          }
          if (job.status === 'done' && job.url) {
            q('[data-job-link]').setAttribute('href', job.url); q('[data-job-done]').hidden = false;
          }
          panel.dataset.status = job.status;
          if (job.status === 'queued' || job.status === 'running') { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    tick();
  }

  document.addEventListener('DOMContentLoaded', function () {
    var panels = document.querySelectorAll('[data-job-poll]');
    for (var i = 0; i < panels.length; i++) { pollJob(panels[i]); }
  });
})();
