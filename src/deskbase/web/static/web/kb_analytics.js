// deskbase knowledge base analytics: draws the charts from the page's <script
// type="application/json" id="kb-analytics-data"> block (json_script), the way the
// dashboard does (dashboard.js). No inline script: the page's Content-Security-Policy
// forbids it. Every chart has a table or figures beside it.
(function () {
  "use strict";

  var COLORS = ["#0b5cad", "#1a7f37", "#9a6700", "#cf222e", "#8250df", "#57606a", "#bf3989"];

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas && window.Chart) {
      new window.Chart(canvas, config);
    }
  }

  function start() {
    var source = document.getElementById("kb-analytics-data");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var words = data.words;  // translated with the data (views/manage/knowledge.py)
    draw("chart-kb-views", {
      type: "line",
      data: {
        labels: data.views.labels,
        datasets: [
          {label: words.views, data: data.views.views, borderColor: COLORS[0],
           backgroundColor: COLORS[0], tension: 0.2, pointRadius: 0},
          {label: words.visitors, data: data.views.visitors, borderColor: COLORS[1],
           backgroundColor: COLORS[1], tension: 0.2, pointRadius: 0}
        ]
      },
      options: {animation: false, responsive: true, interaction: {mode: "index", intersect: false},
                scales: {y: {beginAtZero: true}}}
    });
    draw("chart-kb-helpful", {
      type: "bar",
      data: {
        labels: data.helpful.labels,
        datasets: [
          {label: words.helpful, data: data.helpful.helpful, backgroundColor: COLORS[1]},
          {label: words.not_helpful, data: data.helpful.not_helpful, backgroundColor: COLORS[3]}
        ]
      },
      options: {animation: false, responsive: true, indexAxis: "y",
                scales: {x: {stacked: true, beginAtZero: true}, y: {stacked: true}}}
    });
    draw("chart-kb-deflection", {
      type: "bar",
      data: {
        labels: data.deflection.labels,
        datasets: [{label: words.forms, data: data.deflection.counts,
                    backgroundColor: [COLORS[0], COLORS[4], COLORS[1], COLORS[2]]}]
      },
      options: {animation: false, responsive: true, scales: {y: {beginAtZero: true}}}
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
