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

  // <form data-confirm="..."> asks before it is sent (no inline onsubmit handlers).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
