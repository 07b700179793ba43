/* The statistics page (/stats): draws the four charts with the vendored ECharts from
   the JSON in #stats-charts[data-stats]. The tables beside them hold the same figures. */
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("stats-charts");
    if (!holder || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(holder.getAttribute("data-stats") || "{}");
    var colors = ["#b3261e", "#0b57d0", "#2e7d32", "#8a5300", "#6a1b9a", "#00838f"];
    holder.querySelectorAll("[data-chart]").forEach(function (el) {
      var key = el.getAttribute("data-chart");
      var d = data[key];
      if (!d) { return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var option;
      if (key === "channel") {
        option = {
          color: colors,
          tooltip: { trigger: "item" },
          legend: { bottom: 0 },
          series: [{
            name: "批次", type: "pie", radius: ["35%", "65%"],
            data: d.labels.map(function (l, i) { return { name: l, value: d.batches[i] }; })
          }]
        };
      } else {
        var horizontal = key === "category" || key === "department";
        // Horizontal bars list from the top, in the order of the table beside them.
        var cat = { type: "category", data: d.labels, axisLabel: { interval: 0 }, inverse: horizontal };
        var val = { type: "value", minInterval: 1 };
        option = {
          color: colors,
          tooltip: { trigger: "axis" },
          legend: { bottom: 0 },
          grid: { left: horizontal ? 110 : 40, right: 20, top: 20, bottom: 50 },
          xAxis: horizontal ? val : cat,
          yAxis: horizontal ? cat : val,
          series: [
            { name: "批次", type: key === "month" ? "line" : "bar", barMaxWidth: 28, data: d.batches },
            { name: "人次", type: key === "month" ? "line" : "bar", barMaxWidth: 28, data: d.persons },
            { name: "办结", type: key === "month" ? "line" : "bar", barMaxWidth: 28, data: d.closed }
          ]
        };
      }
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
    holder.setAttribute("data-drawn", "true");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
