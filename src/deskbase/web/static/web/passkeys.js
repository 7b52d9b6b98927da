// deskbase passkeys (WebAuthn): adding one on the security page, using one to sign in.
// The server makes the options and checks every answer; this file only carries them
// between the browser's authenticator and the server (base64url <-> ArrayBuffer).
(function () {
  "use strict";

  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function call(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.detail || ""); }
        return data;
      });
    });
  }

  function credentialJSON(credential) {
    var r = credential.response, out = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(), response: {
        clientDataJSON: toText(r.clientDataJSON)
      }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return out;
  }

  // The page's words, translated in the button's data attributes (data-added ...).
  function word(button, key) { return button.getAttribute("data-" + key) || ""; }

  function say(el, text) {
    var box = document.getElementById(el.dataset.status);
    if (box) { box.textContent = text; box.hidden = !text; }
  }

  function add(button) {
    var nameInput = document.getElementById(button.dataset.name);
    call(button.dataset.options).then(function (options) {
      options.challenge = toBuffer(options.challenge);
      options.user.id = toBuffer(options.user.id);
      (options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
      return navigator.credentials.create({publicKey: options});
    }).then(function (credential) {
      return call(button.dataset.url, {
        name: nameInput ? nameInput.value : "", credential: credentialJSON(credential)
      });
    }).then(function (data) {
      if (data.codes && data.codes.length) {
        var list = document.getElementById("new-recovery-codes");
        data.codes.forEach(function (code) {
          var li = document.createElement("li"), c = document.createElement("code");
          c.textContent = code; li.appendChild(c); list.appendChild(li);
        });
        document.getElementById("new-codes").hidden = false;
        say(button, word(button, "added"));
      } else {
        window.location.reload();
      }
    }).catch(function (error) { say(button, error.message || word(button, "refused")); });
  }

  function use(button) {
    fetch(button.dataset.options, {credentials: "same-origin"}).then(function (r) {
      return r.json();
    }).then(function (options) {
      options.challenge = toBuffer(options.challenge);
      (options.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
      return navigator.credentials.get({publicKey: options});
    }).then(function (credential) {
      return call(button.dataset.url, {credential: credentialJSON(credential)});
    }).then(function (data) {
      window.location.assign(data.redirect);
    }).catch(function (error) { say(button, error.message || word(button, "refused")); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey]");
    if (!button) { return; }
    event.preventDefault();
    if (!window.PublicKeyCredential) { say(button, word(button, "unsupported")); return; }
    (button.dataset.passkey === "add" ? add : use)(button);
  });
})();
