// fake-stripe: the hosted microdeposit verification page. The link in the address is the only
// credential; every request goes to this origin under it.
(function () {
  "use strict";

  var base = window.location.pathname.replace(/\/+$/, "");
  var $ = function (id) { return document.getElementById(id); };

  function show(id, on) { $(id).hidden = !on; }

  function money(amount, currency) {
    if (amount == null) return "";
    return (amount / 100).toFixed(2) + " " + String(currency || "").toUpperCase();
  }

  function day(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 10);
  }

  function render(page) {
    var waiting = page.status === "requires_action" && page.microdeposit_type;
    var what = page.amount != null ? "a payment of " + money(page.amount, page.currency)
      : "future payments";
    show("code-form", waiting && page.microdeposit_type === "descriptor_code");
    show("amounts-form", waiting && page.microdeposit_type === "amounts");
    if (waiting) {
      $("summary").textContent = "We sent a deposit to your bank account to confirm it is yours, " +
        "for " + what + ". It should arrive by " + day(page.arrival_date) + ".";
      show("done", false);
      return;
    }
    $("summary").textContent = "";
    if (page.status === "succeeded" || page.status === "processing") {
      $("done").textContent = "Your bank account is verified. You can close this page.";
      show("done", true);
    } else if (page.failure) {
      $("error").textContent = page.failure;
      show("error", true);
    } else {
      $("summary").textContent = "There is nothing to verify on this link.";
    }
  }

  function failed(body, status) {
    var err = (body && body.error) || {};
    $("error").textContent = err.message || ("The request failed (" + status + ").");
    show("error", true);
  }

  function call(method, path, form) {
    var init = { method: method, headers: {} };
    if (form) {
      init.body = form;
      init.headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    return fetch(base + path, init).then(function (resp) {
      return resp.json().then(function (body) { return { ok: resp.ok, status: resp.status, body: body }; });
    });
  }

  function load() {
    call("GET", "/intent").then(function (r) {
      if (r.ok) render(r.body); else { $("summary").textContent = ""; failed(r.body, r.status); }
    });
  }

  function submit(form, encoded) {
    show("error", false);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    call("POST", "/verify", encoded).then(function (r) {
      button.disabled = false;
      if (r.ok) render(r.body); else { failed(r.body, r.status); load(); }
    });
  }

  $("code-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = $("code").value.trim().toUpperCase();
    submit(event.target, "descriptor_code=" + encodeURIComponent(code));
  });
  $("amounts-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var amounts = [$("amount-1").value.trim(), $("amount-2").value.trim()];
    submit(event.target, amounts.map(function (a) {
      return "amounts[]=" + encodeURIComponent(a);
    }).join("&"));
  });
  $("use-amounts").addEventListener("click", function () {
    show("code-form", false); show("amounts-form", true); $("amount-1").focus();
  });
  $("use-code").addEventListener("click", function () {
    show("amounts-form", false); show("code-form", true); $("code").focus();
  });

  load();
})();
