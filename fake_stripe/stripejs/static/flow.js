/*
 * fake-stripe: the Financial Connections authentication flow (runs in the Stripe.js iframe).
 *
 * consent -> bank picker (new sessions only) -> sign in (Sandbox Bank usernames: mfa,
 * incorrect, error) -> verification code -> account selection -> success.
 * Closing (the X, or Escape at any step) cancels the session unless it already ended.
 */
(function () {
  "use strict";

  var MSG = "fake-stripe:";
  var PERMISSIONS = {
    payment_method: ["Account details", "Account and routing numbers, to set up payments"],
    balances: ["Balances", "Current and available balances"],
    ownership: ["Account ownership", "Names, addresses and contact details on the account"],
    transactions: ["Transactions", "Past and future transactions"],
    account_numbers: ["Account numbers", "Account and routing numbers"],
  };
  var SUBCATEGORY = {
    checking: "Checking",
    savings: "Savings",
    credit_card: "Credit card",
    line_of_credit: "Line of credit",
    mortgage: "Mortgage",
    other: "Account",
  };
  var BANK_COLORS = {
    fcinst_StripeBank: "#635bff",
    fcinst_TestOAuthInstitution: "#0a2540",
    fcinst_Chase: "#117aca",
    fcinst_PNCBank: "#ef7622",
    fcinst_DownBankError: "#df1b41",
  };

  var pane = document.getElementById("pane");
  var modal = document.getElementById("modal");
  var backButton = document.getElementById("back");
  var closeButton = document.getElementById("close");

  var st = {
    secret: null,
    key: null,
    version: null,
    parentOrigin: null,
    session: null,
    institution: null,
    credentials: null,
    linkedBefore: [], // keys of the accounts the authorization already had
    result: null, // set once the session has ended: closing resolves with it
    busy: false,
    closeRequested: false, // Escape or Close while a request was in flight
    back: null,
  };

  // ---- DOM helpers ---------------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    var a = attrs || {};
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "className") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { if (c) el.appendChild(c); });
      else el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return el;
  }

  function icon(path, className) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", className || "icon");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }

  function bankLogo(inst, size) {
    var initials = inst.name.replace(/\(.*\)/, "").trim().split(/\s+/).map(function (w) {
      return w.charAt(0);
    }).join("").slice(0, 2).toUpperCase();
    return h("span", {
      className: "bank-logo" + (size ? " " + size : ""),
      style: "background:" + (BANK_COLORS[inst.id] || "#30313d"),
      "aria-hidden": "true",
    }, initials);
  }

  function host(url) {
    try { return new URL(url).host.replace(/^www\./, ""); } catch (e) { return "Test institution"; }
  }

  function render(title, body, actions, options) {
    var opts = options || {};
    pane.replaceChildren();
    pane.appendChild(h("div", { className: "pane-body" },
      opts.hero || null,
      h("h1", { id: "pane-title", tabindex: "-1", text: title }),
      body));
    if (actions) pane.appendChild(h("div", { className: "pane-actions" }, actions));
    st.back = opts.back || null;
    backButton.hidden = !st.back;
    var target = pane.querySelector(opts.focus || "input:not([disabled]), .primary");
    (target || document.getElementById("pane-title")).focus();
  }

  function loading(text) {
    pane.replaceChildren(h("div", { className: "loading", role: "status" },
      h("span", { className: "spinner", "aria-hidden": "true" }), text || "Loading…"));
    backButton.hidden = true;
  }

  function primary(label, onclick, attrs) {
    var a = attrs || {};
    a.type = a.type || "button";
    a.className = "button primary";
    a.text = label;
    if (onclick) a.onclick = onclick;
    return h("button", a);
  }

  function setBusy(button, busy) {
    if (!button) return;
    button.disabled = busy;
    button.classList.toggle("is-busy", busy);
  }

  // ---- talking to the fake -------------------------------------------------------------------

  // Runs `then` with the response, then honours a close the user asked for meanwhile.
  function step(path, params, then) {
    st.busy = true;
    return api(path, params).then(function (r) {
      st.busy = false;
      then(r);
      if (st.closeRequested) dismiss();
    });
  }

  function api(path, params) {
    var body = new URLSearchParams();
    body.append("client_secret", st.secret);
    Object.keys(params || {}).forEach(function (k) {
      var v = params[k];
      if (Array.isArray(v)) v.forEach(function (x) { body.append(k + "[]", x); });
      else if (v !== null && v !== undefined) body.append(k, v);
    });
    var headers = {
      Authorization: "Bearer " + st.key,
      "Content-Type": "application/x-www-form-urlencoded",
    };
    if (st.version) headers["Stripe-Version"] = st.version;
    return fetch("v1/" + path, {
      method: "POST", headers: headers, body: body, cache: "no-store", credentials: "omit",
    }).then(function (resp) {
      return resp.json().then(function (json) { return { ok: resp.ok, body: json }; });
    }).catch(function () {
      return {
        ok: false,
        body: { error: { type: "api_connection_error", message: "Could not reach Stripe." } },
      };
    });
  }

  function post(result) {
    st.secret = null;
    window.parent.postMessage({ type: MSG + "result", result: result }, st.parentOrigin);
  }

  // ---- panes ---------------------------------------------------------------------------------

  function start() {
    loading();
    step("session", null, function (r) {
      if (!r.ok) return post({ error: r.body.error });
      st.session = r.body;
      consent();
    });
  }

  function consent() {
    var s = st.session;
    var inst = s.institution;
    var hero = h("div", { className: "hero" },
      h("span", { className: "merchant-logo", "aria-hidden": "true" },
        icon("M4 10h16v10H4zM3 10l2-6h14l2 6M9 20v-5h6v5", "icon")),
      h("span", { className: "hero-link", "aria-hidden": "true" }, icon("M9 12h6M7 8l-3 4 3 4M17 8l3 4-3 4")),
      inst ? bankLogo(inst, "large") : h("span", { className: "bank-logo large generic", "aria-hidden": "true" },
        icon("M3 10h18M5 10v8M9 10v8M15 10v8M19 10v8M3 20h18M12 3l9 5H3z", "icon")));
    var title = s.relink && inst ? "Reconnect your " + inst.name + " account"
      : inst ? "Connect your " + inst.name + " account" : "Connect your bank account";
    var items = s.permissions.map(function (p) {
      var d = PERMISSIONS[p] || [p, ""];
      return h("li", null, icon("M5 12.5l4.5 4.5L19 7.5", "icon check"),
        h("span", null, h("strong", { text: d[0] }), h("span", { className: "muted", text: d[1] })));
    });
    var body = h("div", null,
      h("p", { className: "lead" }, s.relink
        ? "Your connection to " + inst.name + " needs your permission again. This site uses " +
          "Stripe to reconnect your accounts."
        : "This site uses Stripe to connect your accounts."),
      h("section", { className: "consent", "aria-labelledby": "data-requested" },
        h("h2", { id: "data-requested", text: "Data requested" }),
        h("ul", { className: "permissions" }, items)),
      h("p", { className: "fine-print" },
        "You can disconnect at any time. By continuing, you agree to Stripe's End User Terms " +
        "and Privacy Policy."));
    render(title, body, primary("Agree and continue", function () {
      if (inst) signIn(inst); else picker("");
    }), { hero: hero });
  }

  function picker(query) {
    var all = st.session.institutions;
    var list = h("ul", { className: "bank-list", "aria-label": "Banks" });
    var empty = h("p", { className: "empty", role: "status" });
    var search = h("input", {
      type: "search", id: "bank-search", placeholder: "Search", autocomplete: "off",
      spellcheck: "false", value: query || "",
    });
    function matches() {
      var q = search.value.trim().toLowerCase();
      return all.filter(function (i) {
        return !q || i.name.toLowerCase().indexOf(q) >= 0 || (i.url || "").indexOf(q) >= 0;
      });
    }
    function draw() {
      var found = matches();
      list.replaceChildren.apply(list, found.map(function (inst) {
        return h("li", null, h("button", {
          type: "button", className: "bank", onclick: function () { signIn(inst); },
        }, bankLogo(inst), h("span", { className: "bank-text" },
          h("span", { className: "bank-name", text: inst.name }),
          h("span", { className: "muted", text: inst.url ? host(inst.url) : "Test institution" })),
          icon("M9 6l6 6-6 6", "icon chevron")));
      }));
      empty.textContent = found.length ? "" : "No banks match \u201c" + search.value.trim() + "\u201d.";
    }
    search.addEventListener("input", draw);
    search.addEventListener("keydown", function (e) {
      var found = matches();
      if (e.key === "Enter" && found.length === 1) { e.preventDefault(); signIn(found[0]); }
    });
    var body = h("div", null,
      h("label", { className: "search" , for: "bank-search" },
        h("span", { className: "visually-hidden", text: "Search for your bank" }),
        icon("M10.5 17a6.5 6.5 0 1 1 0-13 6.5 6.5 0 0 1 0 13zM15.5 15.5 20 20", "icon search-icon"),
        search),
      list, empty);
    draw();
    render("Select your bank", body, null, { back: consent, focus: "#bank-search" });
  }

  function signIn(inst, retryMessage) {
    st.institution = inst;
    var alert = h("p", { className: "alert", role: "alert" }, retryMessage || "");
    if (!retryMessage) alert.hidden = true;
    var username = h("input", { id: "username", name: "username", autocomplete: "off", required: true,
      spellcheck: "false" });
    var password = h("input", { id: "password", name: "password", type: "password",
      autocomplete: "off" });
    var submit = primary("Sign in", null, { type: "submit", form: "login" });
    var form = h("form", { id: "login", className: "form", novalidate: true, onsubmit: function (e) {
      e.preventDefault();
      if (st.busy) return;
      if (!username.value.trim()) {
        alert.hidden = false;
        alert.textContent = "Enter your username.";
        username.focus();
        return;
      }
      st.credentials = { username: username.value, password: password.value };
      authenticate(submit, null);
    } },
      h("div", { className: "field" }, h("label", { for: "username", text: "Username" }), username),
      h("div", { className: "field" }, h("label", { for: "password", text: "Password" }), password));
    var body = h("div", null,
      h("p", { className: "lead", text: "Enter your " + inst.name + " online banking credentials." }),
      alert,
      form,
      h("p", { className: "hint" },
        h("strong", { text: "Test mode: " }),
        "any username signs in. ", h("code", { text: "mfa" }), " asks for a code, ",
        h("code", { text: "incorrect" }), " lets you retry, ", h("code", { text: "error" }),
        " fails."));
    render("Sign in to " + inst.name, body, submit, {
      hero: h("div", { className: "hero single" }, bankLogo(inst, "large")),
      back: st.session.institution ? null : function () { picker(""); },
    });
  }

  function authenticate(button, code) {
    setBusy(button, true);
    var params = {
      institution: st.institution.id,
      username: st.credentials.username,
      password: st.credentials.password,
    };
    if (code !== null) params.code = code;
    step("authenticate", params, function (r) {
      setBusy(button, false);
      if (!r.ok) return failed(r.body.error);
      var b = r.body;
      if (b.status === "retry") signIn(st.institution, b.message);
      else if (b.status === "mfa_required") verify();
      else accounts(b.accounts);
    });
  }

  function verify() {
    var inst = st.institution;
    var code = h("input", { id: "code", name: "code", inputmode: "numeric",
      autocomplete: "one-time-code", maxlength: "8", required: true });
    var alert = h("p", { className: "alert", role: "alert", hidden: true });
    var submit = primary("Verify", null, { type: "submit", form: "mfa" });
    var form = h("form", { id: "mfa", className: "form", novalidate: true, onsubmit: function (e) {
      e.preventDefault();
      if (st.busy) return;
      if (!code.value.trim()) {
        alert.hidden = false;
        alert.textContent = "Enter the code we sent you.";
        code.focus();
        return;
      }
      authenticate(submit, code.value.trim());
    } }, h("div", { className: "field" },
      h("label", { for: "code", text: "Verification code" }), code));
    render("Verify it's you", h("div", null,
      h("p", { className: "lead", text: inst.name + " sent a 6-digit code to the phone number " +
        "ending in 42. Any code works in test mode." }),
      alert, form), submit, { hero: h("div", { className: "hero single" }, bankLogo(inst, "large")) });
  }

  function accounts(list) {
    var s = st.session;
    var inst = st.institution;
    var limit = s.account_limit;
    st.linkedBefore = list.filter(function (a) { return a.previously_linked; })
      .map(function (a) { return a.key; });
    var submit = primary(limit === 1 ? "Connect account" : "Connect accounts", function () {
      if (st.busy) return;
      var keys = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      setBusy(submit, true);
      step("complete", { accounts: keys }, function (r) {
        setBusy(submit, false);
        if (!r.ok) return failed(r.body.error);
        succeeded(r.body);
      });
    });
    var boxes = [];
    var note = h("p", { className: "muted small", id: "limit-note" });
    function enforce() {
      var count = boxes.filter(function (b) { return b.checked; }).length;
      boxes.forEach(function (b) {
        if (b.dataset.selectable === "true") b.disabled = !b.checked && limit !== null && count >= limit;
      });
      note.textContent = limit === null ? count + " selected"
        : count + " of " + limit + " selected" + (count >= limit ? " \u00b7 the maximum for this site" : "");
    }
    var items = list.map(function (a, i) {
      var id = "account-" + i;
      var box = h("input", { type: "checkbox", id: id, value: a.key,
        "aria-describedby": id + "-meta", "data-selectable": a.selectable ? "true" : "false" });
      box.checked = a.selected;
      box.disabled = !a.selectable;
      box.addEventListener("change", enforce);
      boxes.push(box);
      var meta = (SUBCATEGORY[a.subcategory] || a.subcategory) +
        (a.previously_linked ? " \u00b7 Previously connected" : "") +
        (a.selectable ? "" : " \u00b7 Can't be connected to this site");
      return h("li", { className: "account" + (a.selectable ? "" : " is-disabled") },
        box,
        h("label", { for: id },
          h("span", { className: "account-name", text: a.display_name + " \u2022\u2022\u2022\u2022" + a.last4 })),
        h("span", { className: "account-meta muted", id: id + "-meta", text: meta }));
    });
    enforce();
    var title = limit === 1 ? "Select an account" : "Select accounts";
    var body = h("div", null,
      h("p", { className: "lead", text: s.relink
        ? "Choose the accounts to reconnect. You can also pick another account at " + inst.name + "."
        : "Choose the accounts you want to connect." }),
      h("fieldset", { className: "accounts" },
        h("legend", { className: "visually-hidden", text: "Accounts at " + inst.name }),
        h("ul", null, items)),
      note);
    render(title, body, submit, { focus: "input:not([disabled])" });
  }

  function succeeded(session) {
    st.result = { financialConnectionsSession: session };
    var n = session.accounts.length;
    var done = primary("Done", dismiss);
    if (!n) {
      render("No accounts connected", h("p", { className: "lead",
        text: "You didn't select an account, so nothing was shared with this site." }), done,
        { hero: h("div", { className: "hero single" }, h("span", { className: "status-icon neutral" },
          icon("M12 7v6M12 17h.01"))) });
      return;
    }
    var relinked = session.accounts.every(function (a) { return st.linkedBefore.indexOf(a.id) >= 0; });
    var verb = relinked ? "reconnected" : "connected";
    render(n === 1 ? "Account " + verb : n + " accounts " + verb, h("div", null,
      h("p", { className: "lead", text: "Your " + st.institution.name + " " +
        (n === 1 ? "account is" : "accounts are") + " " + verb + " to this site." }),
      h("ul", { className: "summary" }, session.accounts.map(function (a) {
        return h("li", null, bankLogo(st.institution, "small"),
          h("span", { text: a.display_name + " \u2022\u2022\u2022\u2022" + (a.last4 || "") }));
      }))), done,
      { hero: h("div", { className: "hero single" }, h("span", { className: "status-icon success" },
        icon("M5 12.5l4.5 4.5L19 7.5"))) });
  }

  function failed(error) {
    st.result = { error: error };
    render("Something went wrong", h("p", { className: "lead", text: error.message ||
      "The session could not be completed." }), primary("Return to site", dismiss), {
      hero: h("div", { className: "hero single" }, h("span", { className: "status-icon error" },
        icon("M12 7v6M12 17h.01"))),
    });
  }

  // Close, Escape, Done: hand the outcome to Stripe.js. Before the end that means cancelling.
  function dismiss() {
    if (!st.parentOrigin || !st.secret) return;
    if (st.result) return post(st.result);
    if (st.busy || !st.session) {
      st.closeRequested = true;
      return;
    }
    st.closeRequested = false;
    loading("Closing…");
    step("cancel", null, function (r) {
      post(r.ok ? { financialConnectionsSession: r.body } : { error: r.body.error });
    });
  }

  // ---- wiring --------------------------------------------------------------------------------

  closeButton.addEventListener("click", dismiss);
  backButton.addEventListener("click", function () { if (st.back && !st.busy) st.back(); });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      e.preventDefault();
      dismiss();
    } else if (e.key === "Tab") {
      // keep focus inside the modal
      var f = Array.prototype.filter.call(modal.querySelectorAll(
        "button, input, [tabindex='0']"), function (el) {
        return !el.disabled && !el.hidden && el.offsetParent !== null;
      });
      if (!f.length) return;
      var first = f[0], last = f[f.length - 1];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
    }
  });

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.source === window) return;
    var data = event.data || {};
    if (data.type === MSG + "init" && !st.parentOrigin) {
      st.parentOrigin = event.origin;
      st.secret = data.clientSecret;
      st.key = data.publishableKey;
      st.version = data.apiVersion || null;
      start();
    } else if (data.type === MSG + "close" && event.origin === st.parentOrigin) {
      dismiss();
    }
  });

  if (window.parent !== window) window.parent.postMessage({ type: MSG + "ready" }, "*");
})();
