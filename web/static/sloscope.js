// sloscope dashboard: time range picker, query box, and plotly charts from embedded JSON.
// Loaded as a file (the Content-Security-Policy forbids inline scripts).
(function () {
  "use strict";

  function rangeArgs() {
    var params = new URLSearchParams(window.location.search);
    var keep = new URLSearchParams();
    ["range", "from", "to", "refresh"].forEach(function (name) {
      if (params.has(name)) keep.set(name, params.get(name));
    });
    var text = keep.toString();
    return text ? "?" + text : "";
  }

  function setUpTimeRange() {
    var form = document.getElementById("time-range-form");
    if (!form) return;
    var custom = form.querySelector(".custom-range");
    form.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.name === "range" && select.value === "custom") {
          custom.hidden = false;
          custom.querySelectorAll("input").forEach(function (i) { i.disabled = false; });
          return; // wait for the dates and "Apply"
        }
        form.submit();
      });
    });
  }

  function setUpQueryBox() {
    document.querySelectorAll("textarea[data-submit-on-enter]").forEach(function (box) {
      box.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          box.form.submit();
        }
      });
    });
  }

  function onClick(element, kind) {
    element.on("plotly_click", function (event) {
      var id = event.points && event.points[0] && event.points[0].customdata;
      if (!id) return;
      if (kind === "trace") {
        window.location.href = "/traces/" + encodeURIComponent(id) + rangeArgs();
      } else if (kind === "span") {
        var details = document.getElementById("span-" + id);
        if (details) {
          details.open = true;
          details.scrollIntoView({ behavior: "smooth", block: "center" });
        }
      }
    });
  }

  function drawCharts() {
    if (typeof window.Plotly === "undefined") return;
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-figure"));
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
      window.Plotly.newPlot(element, figure.data, figure.layout, config).then(function () {
        var kind = element.getAttribute("data-click");
        if (kind) onClick(element, kind);
        element.setAttribute("data-rendered", "true");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpTimeRange();
    setUpQueryBox();
    drawCharts();
  });
})();
