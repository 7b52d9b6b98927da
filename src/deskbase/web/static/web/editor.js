// deskbase reply editor: a small rich-text box over the plain reply textarea.
// Without JavaScript the textarea is the editor (plain text). With it, a toolbar
// (bold, italic, lists, link, inline code, code block) edits a contenteditable box;
// on sending, its HTML goes in "body_html" (the server sanitizes it with nh3) and its
// text in "body". Pasted images and files dropped on the box become attachments of
// the reply (the file input), shown as thumbnails in the timeline once sent.
(function () {
  "use strict";

  var BUTTONS = [
    ["bold", "B", "Bold"], ["italic", "I", "Italic"],
    ["insertUnorderedList", "•", "Bulleted list"], ["insertOrderedList", "1.", "Numbered list"],
    ["link", "Link", "Link"], ["code", "</>", "Inline code"], ["pre", "{ }", "Code block"]
  ];

  function addFiles(input, files) {
    if (!input || !files || !files.length || typeof DataTransfer === "undefined") { return; }
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
    Array.prototype.forEach.call(files, function (f) { all.items.add(f); });
    input.files = all.files;
    input.dispatchEvent(new Event("change", {bubbles: true}));
  }

  function wrapSelection(tag) {
    var sel = window.getSelection();
    if (!sel || !sel.rangeCount) { return; }
    var range = sel.getRangeAt(0);
    var el = document.createElement(tag);
    if (tag === "pre") {
      var code = document.createElement("code");
      code.textContent = range.toString() || "\u200b";
      el.appendChild(code);
    } else {
      el.textContent = range.toString() || "\u200b";
    }
    range.deleteContents();
    range.insertNode(el);
  }

  function setText(box, text) {
    box.textContent = "";
    (text || "").split("\n").forEach(function (line, i) {
      if (i) { box.appendChild(document.createElement("br")); }
      box.appendChild(document.createTextNode(line));
    });
  }

  function setUp(form) {
    var area = form.querySelector("#reply-body");
    if (!area || form.querySelector(".rich-editor")) { return; }
    var labels = JSON.parse(form.getAttribute("data-editor-labels") || "{}");
    var files = form.querySelector("#reply-files");
    var wrap = document.createElement("div");
    wrap.className = "rich-editor";
    var bar = document.createElement("div");
    bar.className = "toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", labels.toolbar || "Formatting");
    var box = document.createElement("div");
    box.id = "reply-editor";
    box.className = "editor-box";
    box.contentEditable = "true";
    box.setAttribute("role", "textbox");
    box.setAttribute("aria-multiline", "true");
    box.setAttribute("aria-label", labels.message || "Message");
    BUTTONS.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small";
      button.textContent = b[1];
      button.title = labels[b[0]] || b[2];
      button.setAttribute("aria-label", labels[b[0]] || b[2]);
      button.addEventListener("mousedown", function (e) { e.preventDefault(); });
      button.addEventListener("click", function () {
        box.focus();
        if (b[0] === "link") {
          var url = window.prompt(labels.linkPrompt || "Link address (https://…)", "https://");
          if (url && /^(https?:|mailto:)/i.test(url)) { document.execCommand("createLink", false, url); }
        } else if (b[0] === "code" || b[0] === "pre") {
          wrapSelection(b[0]);
        } else {
          document.execCommand(b[0], false, null);
        }
      });
      bar.appendChild(button);
    });
    var html = document.createElement("input");
    html.type = "hidden";
    html.name = "body_html";
    wrap.appendChild(bar);
    wrap.appendChild(box);
    area.parentNode.insertBefore(wrap, area);
    form.appendChild(html);
    area.hidden = true;
    area.required = false;
    setText(box, area.value);
    // New lines as paragraphs (<p> is kept by the sanitizer; <div> is not).
    box.addEventListener("focus", function () {
      document.execCommand("defaultParagraphSeparator", false, "p");
    });

    box.addEventListener("paste", function (e) {
      var items = e.clipboardData && e.clipboardData.files;
      if (items && items.length) {
        e.preventDefault();
        addFiles(files, items);
      }
    });
    ["dragover", "drop"].forEach(function (type) {
      box.addEventListener(type, function (e) {
        if (e.dataTransfer && e.dataTransfer.types && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) {
          e.preventDefault();
          if (type === "drop") { addFiles(files, e.dataTransfer.files); }
        }
      });
    });
    form.addEventListener("submit", function () {
      area.value = box.innerText.trim();
      html.value = area.value ? box.innerHTML : "";
    });
    // The canned picker fills the textarea (htmx swaps it): show it in the box.
    document.body.addEventListener("htmx:afterSwap", function () {
      var fresh = form.querySelector("#reply-body");
      if (fresh && !fresh.hidden) {
        setText(box, fresh.value);
        fresh.hidden = true;
        fresh.required = false;
        area = fresh;
      }
    });
    // Key "r" (app.js) focuses the reply: the box stands in for the hidden textarea.
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
      if (e.key === "r" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing) {
        e.preventDefault();
        box.focus();
        box.scrollIntoView({block: "center"});
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("reply-form");
    if (form) { setUp(form); }
  });
})();
