// deskbase web: the queue's bulk bar. Ticking rows (or "select all on this page")
// counts them; the action's own field is shown beside it. Without JavaScript every
// field is shown and the form still works.
(function () {
  "use strict";

  function picks() {
    return Array.prototype.slice.call(document.querySelectorAll("input.pick"));
  }

  function count() {
    var ticked = picks().filter(function (box) { return box.checked; }).length;
    var label = document.getElementById("bulk-count");
    // "{n} selected", translated in the label's data-selected attribute.
    if (label) {
      label.textContent = (label.getAttribute("data-selected") || "{n} selected").replace("{n}", ticked);
    }
    var all = document.getElementById("select-page");
    if (all) {
      all.checked = ticked > 0 && ticked === picks().length;
      all.indeterminate = ticked > 0 && ticked < picks().length;
    }
  }

  function showArgs() {
    var action = document.getElementById("bulk-action");
    if (!action) { return; }
    document.querySelectorAll(".bulk-arg").forEach(function (arg) {
      var wanted = (arg.getAttribute("data-for") || "").split(" ");
      arg.hidden = wanted.indexOf(action.value) < 0;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      picks().forEach(function (box) { box.checked = target.checked; });
      count();
    } else if (target.classList && target.classList.contains("pick")) {
      count();
    } else if (target.id === "bulk-action") {
      showArgs();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { count(); showArgs(); });
})();
