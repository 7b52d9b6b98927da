// deskbase web: keyboard shortcuts and confirmations. Loaded from a file (never inline)
// so the page's Content-Security-Policy can forbid inline scripts altogether.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var el;
    if (event.key === "r") {
      el = document.getElementById("reply-body");
      if (el) { event.preventDefault(); el.focus(); el.scrollIntoView({block: "center"}); }
    } else if (event.key === "a") {
      el = document.getElementById("assign-me");
      if (el) { event.preventDefault(); el.requestSubmit(); }
    } else if (event.key === "n" || event.key === "j") {
      el = document.getElementById("next-ticket");
      if (el) { event.preventDefault(); window.location.assign(el.href); }
    } else if (event.key === "/") {
      el = document.getElementById("global-search");
      if (el) { event.preventDefault(); el.focus(); }
    }
  });

  // The header's search suggestions: ArrowDown and ArrowUp move through them, Escape
  // closes them (they are links to the result page, filled by htmx).
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("search-suggestions");
    if (!box || !box.contains(event.target) && event.target.id !== "global-search") {
      return;
    }
    var links = Array.prototype.slice.call(box.querySelectorAll("a"));
    var at = links.indexOf(event.target);
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      (at === 0 ? document.getElementById("global-search") : links[at - 1]).focus();
    } else if (event.key === "Escape") {
      box.innerHTML = "";
      document.getElementById("global-search").focus();
    }
  });

  // A search result reports itself opened (search analytics) as its link is followed:
  // a POST with the CSRF token the page carries for htmx, kept alive past the page's
  // unload. The link works the same without it (nothing is recorded then).
  function reportOpened(event) {
    var link = event.target && event.target.closest && event.target.closest("a[data-opened-url]");
    if (!link || (event.type === "auxclick" && event.button !== 1)) {
      return;
    }
    var headers = {};
    try {
      headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (ignored) {
      headers = {};
    }
    var form = new URLSearchParams();
    form.set("type", link.getAttribute("data-opened-type"));
    form.set("id", link.getAttribute("data-opened-id"));
    fetch(link.getAttribute("data-opened-url"), {
      method: "POST", body: form, headers: headers, credentials: "same-origin", keepalive: true
    }).catch(function () { /* analytics only: the result opens all the same */ });
  }
  document.addEventListener("click", reportOpened);
  document.addEventListener("auxclick", reportOpened);

  // <form data-confirm="..."> asks before it is sent (no inline onsubmit handlers).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
