// deskbase ticket page: the properties panel saves each control as it changes.
// htmx posts the whole form on "change"; this names the control that changed
// ("field"), so the server saves that one value at the version the panel shows.
// A stale edit (409) or a refused value (422) is answered with the panel again,
// showing both values or the error: swap it like a success.
(function () {
  "use strict";

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var origin = event.detail.triggeringEvent && event.detail.triggeringEvent.target;
    if (elt && elt.id === "properties-form" && origin && origin.name) {
      event.detail.parameters.field = origin.name;
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if ((status === 409 || status === 422) && target && target.id === "properties") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
