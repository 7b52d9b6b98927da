// deskbase dashboard: draws the charts from the page's <script type="application/json"
// id="dashboard-data"> block (json_script). No inline script: the page's
// Content-Security-Policy forbids it. Every chart has a table beside it.
(function () {
  "use strict";

  var COLORS = ["#0b5cad", "#1a7f37", "#9a6700", "#cf222e", "#8250df", "#57606a", "#bf3989"];

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas && window.Chart) {
      new window.Chart(canvas, config);
    }
  }

  function bars(labels, datasets, options) {
    return {
      type: "bar",
      data: {labels: labels, datasets: datasets},
      options: Object.assign({animation: false, responsive: true}, options || {})
    };
  }

  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    // The words come translated with the data (deskbase.web.views.dashboard._chart_data).
    var words = data.words;
    var names = {created: words.created, resolved: words.resolved, closed: words.closed,
                 reopened: words.reopened};
    draw("chart-trends", {
      type: "line",
      data: {
        labels: data.trends.labels,
        datasets: Object.keys(names).map(function (key, i) {
          return {label: names[key], data: data.trends.series[key], borderColor: COLORS[i],
                  backgroundColor: COLORS[i], tension: 0.2, pointRadius: 0};
        })
      },
      options: {animation: false, responsive: true, interaction: {mode: "index", intersect: false}}
    });
    draw("chart-sla", bars(data.sla.labels, [
      {label: words.first_response, data: data.sla.first_response, backgroundColor: COLORS[0]},
      {label: words.resolution, data: data.sla.resolution, backgroundColor: COLORS[1]}
    ], {scales: {y: {min: 0, max: 100}}}));
    draw("chart-channels", bars(data.channels.labels, [
      {label: words.tickets, data: data.channels.tickets, backgroundColor: COLORS[0]}
    ]));
    draw("chart-categories", {
      type: "doughnut",
      data: {labels: data.categories.labels,
             datasets: [{label: words.tickets, data: data.categories.tickets, backgroundColor: COLORS}]},
      options: {animation: false, responsive: true}
    });
    draw("chart-csat", bars(data.csat.labels, [
      {label: words.ratings, data: data.csat.counts, backgroundColor: COLORS[2]}
    ]));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
