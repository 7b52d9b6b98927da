// deskbase ticket page: the properties panel saves each control as it changes.
// htmx posts the whole form on "change"; this names the control that changed
// ("field"), so the server saves that one value at the version the panel shows.
// A stale edit (409) or a refused value (422) is answered with the panel again,
// showing both values or the error: swap it like a success.
//
// The answer replaces the whole panel. What the agent is doing meanwhile is kept:
// a control whose value differs from its last-saved one (the value the server
// rendered, or the one just sent) keeps that value in the new panel, and the
// focused control keeps the focus and the caret. After a successful save, each
// such unsaved value is saved in turn (at the new version), since the change
// that the old panel would have posted was dropped with it.
(function () {
  "use strict";

  var FORM = "properties-form";
  var kept = null;
  var unsent = null;
  var settling = null;

  function current(el) {
    return el.type === "checkbox" ? (el.checked ? "on" : "") : el.value;
  }

  function lastSaved(el) {
    if (el.dataset.sent !== undefined) return el.dataset.sent;
    if (el.type === "checkbox") return el.defaultChecked ? "on" : "";
    if (el.tagName === "SELECT") {
      for (var i = 0; i < el.options.length; i++) {
        if (el.options[i].defaultSelected) return el.options[i].value;
      }
      return el.options.length ? el.options[0].value : "";
    }
    return el.defaultValue;
  }

  function controls(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.id && el.name && el.type !== "hidden" && el.type !== "submit";
    });
  }

  function restore(el, value) {
    if (el.type === "checkbox") el.checked = value === "on";
    else el.value = value;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var origin = event.detail.triggeringEvent && event.detail.triggeringEvent.target;
    if (elt && elt.id === FORM && origin && origin.name) {
      event.detail.parameters.field = origin.name;
      origin.dataset.sent = current(origin);
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (!target || target.id !== "properties") return;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    var form = document.getElementById(FORM);
    if (!form) return;
    var active = document.activeElement;
    kept = { ok: status === 200, controls: [] };
    controls(form).forEach(function (el) {
      var pending = current(el) !== lastSaved(el);
      var focused = el === active;
      if (!pending && !focused) return;
      var entry = { id: el.id, pending: pending, focused: focused, value: current(el) };
      if (focused && typeof el.selectionStart === "number") {
        try {
          entry.start = el.selectionStart;
          entry.end = el.selectionEnd;
        } catch (e) { /* no selection on this input type */ }
      }
      kept.controls.push(entry);
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var swapped = event.detail.target;
    if (!swapped || swapped.id !== "properties") return;
    var state = kept;
    kept = null;
    var form = document.getElementById(FORM);
    if (!state || !form) return;
    var resend = [];
    state.controls.forEach(function (entry) {
      var el = document.getElementById(entry.id);
      if (!el || el.form !== form) return;
      if (entry.pending) restore(el, entry.value);
      if (entry.focused) {
        el.focus();
        if (entry.start !== undefined) {
          try { el.setSelectionRange(entry.start, entry.end); } catch (e) { /* ignore */ }
        }
        // Typing goes on here: save it when the control is left, even if the browser
        // sees no change since the value was put back.
        if (entry.pending) el.dataset.unsaved = "1";
      } else if (entry.pending && state.ok) {
        resend.push(el);
      }
    });
    // One at a time (the answer of each keeps and sends what is still unsaved), once
    // htmx has set the new form up (at settle).
    unsent = resend.length ? resend[0] : null;
    settling = state.ok ? form : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // Only the panel's own settle: the timeline's or the presence poll's may come
    // first, before htmx has bound the new form.
    var settled = event.detail.target;
    if (!settled || settled.id !== "properties") return;
    var el = unsent;
    var form = settling;
    unsent = null;
    settling = null;
    // A control changed between the swap and now: htmx had not bound the new form
    // yet, so its change went nowhere. Send it now, like the carried-over ones.
    if (!el && form && form.isConnected) {
      el = controls(form).filter(function (c) {
        return c !== document.activeElement && current(c) !== lastSaved(c);
      })[0];
    }
    if (el && el.isConnected) el.dispatchEvent(new Event("change", { bubbles: true }));
  });

  document.addEventListener("change", function (event) {
    if (event.target && event.target.dataset) delete event.target.dataset.unsaved;
  }, true);

  document.addEventListener("focusout", function (event) {
    var el = event.target;
    if (!el || !el.dataset || el.dataset.unsaved !== "1") return;
    delete el.dataset.unsaved;
    if (el.form && el.form.id === FORM && current(el) !== lastSaved(el)) {
      el.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }, true);
})();
