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

  // A table wider than the screen scrolls in its own box (app.css); the keyboard must
  // reach that box too, so a box that scrolls takes the focus (tabindex 0).
  function focusableScrollers() {
    var boxes = document.querySelectorAll("main table, main .table-scroll");
    Array.prototype.forEach.call(boxes, function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 &&
        window.getComputedStyle(box).overflowX === "auto";
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && box.hasAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", focusableScrollers);
  window.addEventListener("resize", focusableScrollers);
  document.addEventListener("htmx:afterSettle", focusableScrollers);

  // An htmx request the server refused (403, 404, 500 ...) swaps nothing: say so above
  // the page, with the error page's own (translated) heading and message.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var main = document.getElementById("main");
    if (!xhr || !main) {
      return;
    }
    var text = "";
    try {
      var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var card = page.querySelector(".error-page");
      if (card) {
        text = Array.prototype.map.call(card.querySelectorAll("h1, p:first-of-type"), function (el) {
          return el.textContent.trim();
        }).join(": ");
      }
    } catch (ignored) {
      text = "";
    }
    var box = document.getElementById("request-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "request-error";
      box.className = "request-error";
      box.setAttribute("role", "alert");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text || (xhr.status + " " + xhr.statusText);
  });
})();
