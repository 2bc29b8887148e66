// The fake-stripe dashboard: one tenant's world, drawn from the fake's own APIs and driven
// through its test helpers. Everything shown is built with DOM nodes and textContent: account
// names, metadata and error messages are user input and must never be parsed as markup.
"use strict";

(() => {
  // The relink fields are only rendered for a preview version (the server fills it in).
  const PREVIEW = "__FAKE_STRIPE_PREVIEW_VERSION__";
  const TH = "/v1/test_helpers/financial_connections";
  const POLL_MS = 1000;
  const MAX_DELIVERIES = 200;
  const REASONS = [
    ["token_expired", "OAuth token expired / inactivity"],
    ["mfa_changed", "Institution changed MFA requirements"],
    ["account_locked", "Account locked for suspicious activity"],
    ["account_closed", "Account closed at the institution"],
    ["credentials_changed", "Username or password changed"],
    ["access_revoked", "User revoked access"],
    ["permanent", "Permanent loss"],
  ];
  const CAUSES = [
    "access_expired", "institution_requirement", "account_unavailable",
    "account_closed", "access_denied", "unspecified",
  ];
  const NEW_OUTCOMES = ["link", "no_accounts", "failure", "cancel"];
  const RELINK_OUTCOMES = ["relink_same", "relink_new", "no_accounts", "failure", "cancel"];
  // The settle helper's outcomes; "" sends none, so the bank account's state decides.
  const SETTLE_OUTCOMES = [
    ["succeeded", "succeeded"],
    ["insufficient_funds", "insufficient_funds"],
    ["account_closed", "account_closed"],
    ["no_account", "no_account"],
    ["debit_not_authorized", "debit_not_authorized"],
    ["invalid_currency", "invalid_currency"],
    ["bank_account_unusable", "bank_account_unusable"],
    ["", "as the bank account's state says"],
  ];
  const MAX_TOASTS = 3;

  const state = {
    key: null, // the open tenant's API key, as given (never shown)
    ref: null, // how the server names that tenant: {id, label}
    keys: new Map(), // tenant id -> the key this page was given for it
    worldJson: "",
    eventsJson: "",
    seq: 0, // the last delivery-journal entry shown
    timer: null,
    inflight: null, // the load in progress
  };
  const $ = (id) => document.getElementById(id);

  // ---- DOM building (no markup parsing anywhere) ---------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (name === "text") el.textContent = String(value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const anchor = (id) => h("a", { href: "#" + id, class: "mono" }, id);
  const badge = (status) => h("span", { class: "badge badge-" + String(status) }, status);
  const time = (unix) =>
    unix === null || unix === undefined
      ? "—"
      : new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  const select = (id, label, options, chosen) => [
    h("label", { for: id }, label),
    h("select", { id },
      options.map(([value, text]) => h("option", { value, selected: value === chosen }, text))),
  ];
  const pairs = (values) => values.map((v) => [v, v]);
  // "a · b · c", wrapping only at the separators: a narrow column never strands a lone value
  // ("pending_webhooks" at the end of one line, "0" alone on the next).
  const facts = (tag, ...parts) => h(tag, { class: "muted" },
    parts.filter((p) => p !== null).map((p, i) => [i ? " · " : "", h("span", { class: "nowrap" }, p)]));

  // ---- talking to the fake -------------------------------------------------------------------
  class StripeError extends Error {
    constructor(status, error, requestId) {
      super((error && error.message) || "HTTP " + status);
      this.status = status;
      this.error = error || {};
      this.requestId = requestId;
    }
  }

  // Stripe's bracket encoding: a[b]=1, a[0]=x.
  function encode(params, prefix, out) {
    out = out || new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      const key = prefix ? `${prefix}[${name}]` : name;
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) {
        value.forEach((v, i) => {
          if (v !== null && typeof v === "object") encode(v, `${key}[${i}]`, out);
          else out.append(`${key}[${i}]`, String(v));
        });
      } else if (typeof value === "object") encode(value, key, out);
      else out.append(key, String(value));
    }
    return out;
  }

  async function call(method, path, params, { tenant = true, key = state.key } = {}) {
    const headers = { "Stripe-Version": PREVIEW };
    if (tenant) headers.Authorization = "Bearer " + key;
    const form = encode(params).toString();
    let url = path;
    let body;
    if (method === "GET" || method === "DELETE") {
      if (form) url += "?" + form;
    } else {
      body = form;
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    const resp = await fetch(url, { method, headers, body, cache: "no-store" });
    let data = null;
    try {
      data = await resp.json();
    } catch (_) {
      data = null;
    }
    if (!resp.ok) {
      throw new StripeError(resp.status, data && data.error, resp.headers.get("Request-Id"));
    }
    return data;
  }

  // ---- toasts: every action answers ----------------------------------------------------------
  function toast(kind, title, lines) {
    // A notice goes in the rail beside the panels (never over them): the newest on top.
    // A message reads as a sentence; the facts after it (code, param, ...) as a short list.
    const message = lines.length && lines[0][0] === "message" ? lines[0][1] : null;
    const rest = message === null ? lines : lines.slice(1);
    const box = h("div", { class: "toast toast-" + kind, role: kind === "error" ? "alert" : "status" },
      h("p", { class: "toast-title" }, title),
      message === null ? null : h("p", { class: "toast-message" }, message),
      rest.length ? h("dl", {}, rest.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : null);
    const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss: " + title,
      onclick: () => box.remove() }, "×");
    box.prepend(close);
    $("toasts").prepend(box);
    if (kind !== "error") setTimeout(() => box.remove(), 5000);
    // The newest few only: the rail is read at a glance, not scrolled.
    while ($("toasts").children.length > MAX_TOASTS) $("toasts").lastChild.remove();
  }

  function showError(what, err) {
    if (err instanceof StripeError) {
      const e = err.error;
      const lines = [["message", e.message || err.message]];
      if (e.code) lines.push(["code", e.code]);
      if (e.param) lines.push(["param", e.param]);
      lines.push(["type", e.type || "—"], ["HTTP status", String(err.status)]);
      if (err.requestId) lines.push(["request", err.requestId]);
      toast("error", what + ": failed", lines);
    } else {
      toast("error", what + ": failed", [["message", String(err && err.message || err)]]);
    }
  }

  // Runs an action, reports it, and redraws at once; says whether it went through.
  async function act(what, run, describe) {
    try {
      const result = await run();
      toast("ok", what + ": done", describe ? describe(result) : []);
      await refresh();
      return true;
    } catch (err) {
      showError(what, err);
      return false;
    }
  }

  // ---- the tenant picker ---------------------------------------------------------------------
  // The server lists tenants by an opaque id and a short fingerprint, never by key: opening one
  // takes its key, which the page then remembers (in memory, for this tab) to reopen it.
  async function loadTenants() {
    const sel = $("tenant-select");
    try {
      const list = await call("GET", "/_fake/tenants", null, { tenant: false });
      sel.replaceChildren(h("option", { value: "" }, "Choose a tenant…"));
      for (const t of list.data) sel.append(tenantOption(t));
      if (state.ref && !list.data.some((t) => t.id === state.ref.id)) sel.append(tenantOption(state.ref));
      sel.value = state.ref ? state.ref.id : "";
    } catch (err) {
      showError("List the tenants", err);
    }
  }

  const tenantOption = (t) =>
    h("option", { value: t.id }, state.keys.has(t.id) ? `Tenant ${t.label}` : `Tenant ${t.label} (needs its key)`);

  function pick(id) {
    if (state.keys.has(id)) return openKey(state.keys.get(id));
    const option = [...$("tenant-select").options].find((o) => o.value === id);
    $("tenant-select").value = state.ref ? state.ref.id : "";
    toast("info", `Open ${option ? option.textContent.replace(/ \(needs its key\)$/, "") : "the tenant"}`,
      [["how", "Enter its key in “Open by key”: the list never shows keys."]]);
    $("key-input").focus();
  }

  // Asks the server first, with the key as given: it refuses live, publishable and malformed
  // keys as the API does, and its answer is shown as a notice.
  async function openKey(given) {
    const key = given.trim();
    if (!key) {
      toast("error", "Open a tenant: failed", [["message", "Give a test-mode key such as sk_test_abc."]]);
      return;
    }
    let snap;
    try {
      snap = await call("GET", "/_fake/dashboard/tenant", null, { key });
    } catch (err) {
      showError("Open a tenant", err);
      return;
    }
    state.key = key;
    state.ref = snap.tenant;
    state.keys.set(snap.tenant.id, key);
    state.worldJson = state.eventsJson = "";
    state.seq = 0;
    $("deliveries").replaceChildren();
    const url = new URL(location.href);
    url.searchParams.set("tenant", key.replace(/^(sk|rk)_test_/, ""));
    history.replaceState(null, "", url);
    $("tenant-key").textContent = snap.tenant.label;
    $("empty").hidden = true;
    $("board").hidden = false;
    const sel = $("tenant-select");
    const known = [...sel.options].find((o) => o.value === snap.tenant.id);
    if (known) known.replaceWith(tenantOption(snap.tenant));
    else sel.append(tenantOption(snap.tenant));
    sel.value = snap.tenant.id;
    drawSnapshot(snap);
    await refresh();
    schedule();
  }

  // ---- polling -------------------------------------------------------------------------------
  function schedule() {
    clearTimeout(state.timer);
    if ($("live").checked && state.key) state.timer = setTimeout(tick, POLL_MS);
  }

  async function tick() {
    await refresh();
    schedule();
  }

  // One load at a time; a refresh asked for meanwhile (after an action) waits for it and runs
  // again, so what the action changed is always drawn.
  async function refresh() {
    if (!state.key) return;
    while (state.inflight) await state.inflight;
    state.inflight = load();
    try {
      await state.inflight;
    } finally {
      state.inflight = null;
    }
  }

  async function load() {
    const key = state.key;
    try {
      const [snap, attempts] = await Promise.all([call("GET", "/_fake/dashboard/tenant"), journal()]);
      if (key !== state.key) return;
      drawSnapshot(snap);
      drawDeliveries(attempts);
      $("poll-status").textContent = "";
    } catch (err) {
      $("poll-status").textContent = "Update failed: " + (err && err.message);
    }
  }

  // The attempts since the last one shown (the journal lists them oldest first); only the
  // newest MAX_DELIVERIES are kept on the page.
  async function journal() {
    let after = state.seq;
    let found = [];
    for (let page = 0; page < 20; page++) {
      const list = await call("GET", "/_fake/webhooks/deliveries", { after, limit: 5000 });
      found = found.concat(list.data).slice(-MAX_DELIVERIES);
      if (!list.has_more || !list.data.length) break;
      after = list.data[list.data.length - 1].seq;
    }
    return found;
  }

  // Redrawing replaces nodes; what the user was typing, choosing or reading stays as it was.
  function preserving(root, draw) {
    const values = new Map();
    const open = new Set();
    for (const el of root.querySelectorAll("input[id], select[id]")) values.set(el.id, el.value);
    for (const el of root.querySelectorAll("details[id][open]")) open.add(el.id);
    const focused = document.activeElement && root.contains(document.activeElement)
      ? document.activeElement.id : null;
    draw();
    for (const [id, value] of values) {
      const el = document.getElementById(id);
      if (el && root.contains(el)) el.value = value;
    }
    for (const id of open) {
      const el = document.getElementById(id);
      if (el) el.open = true;
    }
    if (focused) {
      const el = document.getElementById(focused);
      if (el) el.focus();
    }
  }

  function drawSnapshot(snap) {
    $("clock-now").textContent = time(snap.now);
    $("clock-now").setAttribute("datetime", new Date(snap.now * 1000).toISOString());
    const world = JSON.stringify([snap.customers, snap.accounts, snap.authorizations,
      snap.sessions, snap.payment_methods, snap.faults, snap.webhook_endpoints,
      snap.payment_intents, snap.charges]);
    if (world !== state.worldJson) {
      state.worldJson = world;
      preserving($("board"), () => {
        drawWorld(snap);
        drawSessions(snap);
        drawPayments(snap);
        drawFaults(snap.faults.data);
        drawEndpoints(snap.webhook_endpoints);
      });
    }
    const events = JSON.stringify(snap.events.map((e) => [e.id, e.pending_webhooks]));
    if (events !== state.eventsJson) {
      state.eventsJson = events;
      preserving($("events"), () => drawEvents(snap.events));
    }
  }

  // ---- customers → authorizations → accounts -------------------------------------------------
  function drawWorld(snap) {
    const byAuth = new Map();
    for (const a of snap.accounts) {
      if (!byAuth.has(a.authorization)) byAuth.set(a.authorization, []);
      byAuth.get(a.authorization).push(a);
    }
    const pmsByAccount = new Map();
    for (const pm of snap.payment_methods) {
      const fca = pm.us_bank_account && pm.us_bank_account.financial_connections_account;
      if (!fca) continue;
      if (!pmsByAccount.has(fca)) pmsByAccount.set(fca, []);
      pmsByAccount.get(fca).push(pm);
    }
    const holderOf = (x) => (x.account_holder && (x.account_holder.customer || x.account_holder.account)) || "";
    const out = [];
    const holders = snap.customers.map((c) => c.id);
    for (const auth of snap.authorizations) {
      const holder = holderOf(auth);
      if (!holders.includes(holder)) holders.push(holder);
    }
    for (const holder of holders) {
      const customer = snap.customers.find((c) => c.id === holder);
      const auths = snap.authorizations.filter((a) => holderOf(a) === holder);
      const title = customer
        ? [customer.name || customer.email || "Customer", " "]
        : [holder ? "Account holder " : "No account holder", " "];
      const hid = "h-" + (holder || "none");
      out.push(h("article", { class: "customer", id: holder || null, "aria-labelledby": hid },
        h("h3", { id: hid }, title, holder ? h("span", { class: "mono muted" }, holder) : null),
        customer && customer.email && customer.name ? h("p", { class: "muted" }, customer.email) : null,
        auths.length
          ? auths.map((auth) => drawAuthorization(auth, byAuth.get(auth.id) || [], pmsByAccount))
          : h("p", { class: "muted" }, "No linked accounts.")));
    }
    if (!out.length) out.push(h("p", { class: "muted" }, "No customers or linked accounts yet."));
    $("world").replaceChildren(...out);
  }

  function statusDetails(details) {
    if (!details) return "—";
    const parts = [];
    if (details.inactive) {
      const cause = details.inactive.cause; // an authorization's has none
      parts.push(`inactive${cause ? ": " + cause : ""}, action ${details.inactive.action}`);
    }
    if (details.active) {
      const a = details.active;
      parts.push(`deactivation expected ${time(a.expected_deactivation_date)}` +
        (a.cause ? ` (${a.cause}` + `, action ${a.action})` : `, action ${a.action}`));
    }
    return parts.length ? parts.join("; ") : "—";
  }

  function drawAuthorization(auth, accounts, pmsByAccount) {
    const hid = "h-" + auth.id;
    const relinkable = auth.status !== "disconnected";
    return h("section", { class: "authorization", id: auth.id, "aria-labelledby": hid },
      h("h4", { id: hid }, `${auth.institution_name} authorization `,
        h("span", { class: "mono muted" }, auth.id), " ", badge(auth.status)),
      h("p", {}, "Status details: ", statusDetails(auth.status_details)),
      h("div", { class: "actions", role: "group", "aria-label": "Authorization actions " + auth.id },
        relinkable ? h("button", { type: "button", id: "relink-" + auth.id, onclick: () => relink(auth, accounts, true) },
          "Relink (relink_same)") : null,
        relinkable ? h("button", { type: "button", id: "start-relink-" + auth.id, onclick: () => relink(auth, accounts, false) },
          "Start relink session") : null,
        select("cause-" + auth.id, "Cause", pairs(CAUSES), "access_expired"),
        h("button", { type: "button", id: "deactivate-" + auth.id, onclick: () => deactivateAuthorization(auth) },
          "Deactivate authorization")),
      accounts.length
        ? accounts.map((a) => drawAccount(a, pmsByAccount.get(a.id) || []))
        : h("p", { class: "muted" }, "No accounts."));
  }

  function drawAccount(a, pms) {
    const hid = "h-" + a.id;
    const name = `${a.display_name || a.subcategory} ••••${a.last4 || "????"}`;
    const tokenized = (a.account_numbers || []).some((n) => n.identifier_type === "tokenized_account_number");
    const numbers = (a.account_numbers || []).map((n) =>
      h("li", {}, `${n.identifier_type}, ${n.status}`,
        n.expected_expiry_date ? `, expires ${time(n.expected_expiry_date)}` : ""));
    const methods = pms.map((pm) => {
      const blocked = pm.us_bank_account.status_details && pm.us_bank_account.status_details.blocked;
      return h("li", { id: pm.id }, h("span", { class: "mono" }, pm.id), " ",
        blocked ? badge("blocked") : badge("usable"),
        blocked ? ` ${blocked.reason || ""}` : "",
        pm.customer ? [" · customer ", anchor(pm.customer)] : "");
    });
    return h("article", { class: "account", id: a.id, "aria-labelledby": hid },
      h("h5", { id: hid }, name, " ", badge(a.status)),
      h("dl", { class: "facts" },
        h("dt", {}, "ID"), h("dd", { class: "mono" }, a.id),
        h("dt", {}, "Status details"), h("dd", {}, statusDetails(a.status_details)),
        h("dt", {}, "Institution"), h("dd", {}, a.institution_name, " ",
          h("span", { class: "mono muted" }, a.institution || "")),
        h("dt", {}, "Subcategory"), h("dd", {}, a.subcategory),
        h("dt", {}, "Permissions"), h("dd", {}, (a.permissions || []).join(", ") || "—"),
        h("dt", {}, "Account numbers"), h("dd", {}, numbers.length ? h("ul", {}, numbers) : "—"),
        h("dt", {}, "Payment methods"), h("dd", {}, methods.length ? h("ul", {}, methods) : "—")),
      h("div", { class: "actions", role: "group", "aria-label": "Account actions " + a.id },
        select("reason-" + a.id, "Reason", REASONS, "token_expired"),
        h("button", { type: "button", id: "deactivate-" + a.id, onclick: () => deactivate(a) }, "Deactivate"),
        h("label", { for: "days-" + a.id }, "In days"),
        h("input", { id: "days-" + a.id, type: "number", min: "1", max: "3650", value: "7", size: "4" }),
        h("button", { type: "button", id: "schedule-" + a.id, onclick: () => scheduleDeactivation(a) }, "Schedule deactivation"),
        tokenized
          ? h("button", { type: "button", id: "expire-" + a.id, onclick: () => expireNumbers(a) }, "Expire account numbers")
          : null));
  }

  // ---- actions on accounts and authorizations ------------------------------------------------
  const accountLines = (a) => [["account", a.id], ["status", a.status],
    ["status details", statusDetails(a.status_details)]];

  function deactivate(a) {
    const reason = $("reason-" + a.id).value;
    return act(`Deactivate ${a.id} (${reason})`,
      () => call("POST", `${TH}/accounts/${a.id}/deactivate`, { reason }), accountLines);
  }

  function deactivateAuthorization(auth) {
    const cause = $("cause-" + auth.id).value;
    return act(`Deactivate authorization ${auth.id} (${cause})`,
      () => call("POST", `${TH}/authorizations/${auth.id}/deactivate`, { cause }),
      (r) => [["status", r.status], ["status details", statusDetails(r.status_details)]]);
  }

  function scheduleDeactivation(a) {
    const days = $("days-" + a.id).value;
    return act(`Schedule a deactivation of ${a.id} in ${days} days`,
      () => call("POST", `${TH}/accounts/${a.id}/schedule_deactivation`, { days }), accountLines);
  }

  function expireNumbers(a) {
    return act(`Expire the account numbers of ${a.id}`,
      () => call("POST", `${TH}/accounts/${a.id}/expire_account_numbers`), accountLines);
  }

  function relink(auth, accounts, complete) {
    const permissions = [...new Set(accounts.flatMap((a) => a.permissions || []))];
    const what = complete ? `Relink ${auth.id} (relink_same)` : `Start a relink session for ${auth.id}`;
    return act(what, async () => {
      const session = await call("POST", "/v1/financial_connections/sessions", {
        permissions: permissions.length ? permissions : ["payment_method"],
        relink_options: { authorization: auth.id },
      });
      if (!complete) return session;
      return call("POST", `${TH}/sessions/${session.id}/complete`, { outcome: "relink_same" });
    }, sessionLines);
  }

  // ---- sessions ------------------------------------------------------------------------------
  function sessionLines(s) {
    const lines = [["session", s.id], ["status", s.status || "—"]];
    if (s.relink_result) {
      const r = s.relink_result;
      lines.push(["relink_result", `account ${r.account || "—"}, authorization ${r.authorization || "—"}` +
        (r.failure_reason ? `, failure_reason ${r.failure_reason}` : "")]);
    }
    return lines;
  }

  function drawSessions(snap) {
    if (!snap.sessions.length) {
      $("sessions").replaceChildren(h("p", { class: "muted" }, "No sessions yet."));
      return;
    }
    const rows = snap.sessions.map((s) => {
      const relink = s.relink_options ? s.relink_options.authorization : null;
      const holder = s.account_holder && (s.account_holder.customer || s.account_holder.account);
      const hid = "h-" + s.id;
      const linked = (s.accounts && s.accounts.data || []).map((a) => a.id);
      return h("li", { class: "session", "aria-labelledby": hid },
        h("p", { id: hid }, h("span", { class: "mono" }, s.id), " ", badge(s.status),
          relink ? [" relink of ", anchor(relink)] : " new link",
          holder ? [" · ", anchor(holder)] : ""),
        s.relink_result ? h("p", { class: "muted" }, sessionLines(s).slice(2).map((l) => l.join(": "))) : null,
        linked.length ? h("p", { class: "muted" }, "accounts: ", linked.map((id, i) => [i ? ", " : "", anchor(id)])) : null,
        s.status === "pending"
          ? h("div", { class: "actions", role: "group", "aria-label": "Complete " + s.id },
            select("outcome-" + s.id, "Outcome", pairs(relink ? RELINK_OUTCOMES : NEW_OUTCOMES)),
            h("button", { type: "button", id: "complete-" + s.id, onclick: () => completeSession(s) }, "Complete session"))
          : null);
    });
    $("sessions").replaceChildren(h("ul", { class: "sessions" }, rows));
  }

  function completeSession(s) {
    const outcome = $("outcome-" + s.id).value;
    return act(`Complete ${s.id} (${outcome})`,
      () => call("POST", `${TH}/sessions/${s.id}/complete`, { outcome }), sessionLines);
  }

  // ---- the clock -----------------------------------------------------------------------------
  function advance(event) {
    event.preventDefault();
    const amount = parseInt($("advance-amount").value, 10);
    const unit = parseInt($("advance-unit").value, 10);
    const label = $("advance-unit").selectedOptions[0].textContent;
    return act(`Advance the clock by ${amount} ${label}`,
      () => call("POST", "/v1/test_helpers/clock/advance", { seconds: amount * unit }),
      (r) => [["now", time(r.now)]]);
  }

  // ---- payments: ACH PaymentIntents, settled through the test helper ------------------------
  const money = (amount, currency) =>
    `${(amount / 100).toFixed(2)} ${String(currency || "").toUpperCase()}`;
  const last4Of = (charge) => {
    const details = charge && charge.payment_method_details;
    return details && details.us_bank_account ? details.us_bank_account.last4 : null;
  };
  const failureOf = (pi) => (pi.last_payment_error && pi.last_payment_error.code) || null;

  // Short: the toast's title names the intent, and its row shows the failure's message.
  function paymentLines(pi, charge) {
    const lines = [["status", pi.status], ["amount", money(pi.amount, pi.currency)]];
    const last4 = last4Of(charge);
    if (last4) lines.push(["charged", `••••${last4}`]);
    if (failureOf(pi)) lines.push(["failure code", failureOf(pi)]);
    return lines;
  }

  function drawPayments(snap) {
    const charges = new Map(snap.charges.map((c) => [c.id, c]));
    const rows = snap.payment_intents.map((pi) => {
      const charge = charges.get(pi.latest_charge);
      const last4 = last4Of(charge);
      const failure = failureOf(pi);
      const hid = "h-" + pi.id;
      return h("li", { class: "payment", id: pi.id, "aria-labelledby": hid },
        h("p", { id: hid }, h("span", { class: "mono" }, pi.id), " ", badge(pi.status), " ",
          h("strong", {}, money(pi.amount, pi.currency)),
          last4 ? ` from ••••${last4}` : "",
          pi.customer ? [" · ", anchor(pi.customer)] : ""),
        h("p", { class: "muted" },
          pi.payment_method
            ? ["payment method ", h("span", { class: "mono" }, pi.payment_method)]
            : ["no payment method", charge && charge.payment_method
              ? [" (charged ", h("span", { class: "mono" }, charge.payment_method), ")"] : ""],
          charge ? [" · charge ", h("span", { class: "mono" }, charge.id), ` ${charge.status}`] : "",
          ` · created ${time(pi.created)}`),
        failure
          ? h("p", { class: "failure" }, "Failure code: ", h("span", { class: "mono" }, failure),
            pi.last_payment_error.message ? ` (${pi.last_payment_error.message})` : "")
          : null,
        pi.status === "processing"
          ? h("div", { class: "actions", role: "group", "aria-label": "Settle " + pi.id },
            select("settle-" + pi.id, "Outcome", SETTLE_OUTCOMES, "succeeded"),
            h("button", { type: "button", id: "settle-button-" + pi.id, onclick: () => settle(pi) }, "Settle"))
          : null);
    });
    $("payments-list").replaceChildren(rows.length
      ? h("ul", { class: "payments" }, rows)
      : h("p", { class: "muted" }, "No PaymentIntents yet."));
  }

  async function settle(pi) {
    const outcome = $("settle-" + pi.id).value;
    const done = await act(`Settle ${pi.id} (${outcome || "by the account's state"})`,
      () => call("POST", `/v1/test_helpers/payment_intents/${pi.id}/settle`,
        { outcome: outcome || undefined, expand: ["latest_charge"] }),
      (settled) => paymentLines(settled, settled.latest_charge));
    // A refused settle (the intent settled meanwhile, say) redraws it as it is now.
    if (!done) await refresh();
  }

  // ---- faults --------------------------------------------------------------------------------
  function drawFaults(rules) {
    $("faults-list").replaceChildren(rules.length
      ? h("ul", {}, rules.map((r) => h("li", { class: "mono" },
        `${r.method} ${r.path} → ${r.status === null ? "delay only" : r.status}` +
        `${r.delay_ms ? `, +${r.delay_ms} ms` : ""}, ${r.when}, ${r.count} left`)))
      : h("p", { class: "muted" }, "No faults armed."));
  }

  function addFault(event) {
    event.preventDefault();
    const params = {
      method: $("fault-method").value,
      path: $("fault-path").value,
      count: $("fault-count").value,
      when: $("fault-when").value,
    };
    if ($("fault-status").value) params.status = $("fault-status").value;
    if ($("fault-delay").value && $("fault-delay").value !== "0") params.delay_ms = $("fault-delay").value;
    return act(`Arm a fault on ${params.method} ${params.path}`,
      () => call("POST", "/v1/test_helpers/faults", params),
      (r) => [["status", r.status === null ? "delay only" : String(r.status)], ["count", String(r.count)]]);
  }

  function clearFaults() {
    return act("Clear the faults", () => call("DELETE", "/_fake/faults"),
      (r) => [["removed", String(r.data.length)]]);
  }

  // ---- the timeline: events and webhook deliveries -------------------------------------------
  function drawEvents(events) {
    const items = events.map((e) => {
      const obj = e.data && e.data.object || {};
      return h("li", { class: "event" },
        h("details", { id: "ev-" + e.id },
          h("summary", {},
            h("span", { class: "event-type" }, e.type), " ",
            h("span", { class: "mono" }, obj.id || ""), " ",
            facts("span", time(e.created), e.api_version || "—",
              e.request && e.request.id ? e.request.id : "automatic",
              `pending_webhooks ${e.pending_webhooks}`)),
          h("p", {}, h("span", { class: "mono" }, e.id), obj.id ? [" on ", anchor(obj.id)] : ""),
          h("pre", { class: "json" }, JSON.stringify(e, null, 2))));
    });
    $("events").replaceChildren(...(items.length ? items : [h("li", { class: "muted" }, "No events yet.")]));
  }

  function drawEndpoints(list) {
    $("endpoints").replaceChildren(list.length
      ? h("ul", { class: "endpoints" }, list.map((ep) => h("li", {},
        h("span", { class: "mono" }, ep.id), " ", badge(ep.status), " ", h("span", { class: "mono" }, ep.url),
        ` (${ep.enabled_events.join(", ")})`)))
      : h("p", { class: "muted" }, "No webhook endpoints: register one with POST /v1/webhook_endpoints."));
  }

  function drawDeliveries(attempts) {
    if (!attempts.length) return;
    const list = $("deliveries");
    for (const a of attempts) {
      state.seq = Math.max(state.seq, a.seq);
      list.prepend(delivery(a));
    }
    while (list.children.length > MAX_DELIVERIES) list.lastChild.remove();
  }

  function delivery(a) {
    const result = a.status_code !== null ? `HTTP ${a.status_code}` : a.error || "no answer";
    const kinds = [a.duplicate ? "duplicate" : "", a.redelivery ? "redelivery" : ""].filter(Boolean);
    const payload = h("pre", { class: "json" }, "…");
    const payloadBox = h("details", { id: `payload-${a.seq}` }, h("summary", {}, "Payload"), payload);
    payloadBox.addEventListener("toggle", async () => {
      if (!payloadBox.open || payload.dataset.loaded) return;
      try {
        const body = await call("GET", "/_fake/webhooks/payload", { event: a.event, endpoint: a.endpoint });
        payload.textContent = body.payload;
        payload.dataset.loaded = "1";
      } catch (err) {
        payload.textContent = "Could not load the payload: " + (err && err.message);
      }
    });
    return h("li", { class: "delivery delivery-" + a.outcome, "aria-label": `Delivery of ${a.type} ${a.event}, attempt ${a.attempt}: ${a.outcome}` },
      h("p", {}, badge(a.outcome), " ", h("span", { class: "event-type" }, a.type), " ",
        h("span", { class: "mono" }, a.event), " → ", h("span", { class: "mono" }, a.url)),
      facts("p", time(Math.floor(a.time)),
        `attempt ${a.attempt}${kinds.length ? ` (${kinds.join(", ")})` : ""}`, result, `${a.latency_ms} ms`,
        a.next_attempt_at ? `next attempt ${time(Math.floor(a.next_attempt_at))}` : null),
      h("p", {}, "Stripe-Signature: ", h("code", { class: "signature" }, a.signature || "—")),
      a.response ? h("p", { class: "muted" }, "Response: ", h("code", {}, a.response)) : null,
      payloadBox,
      h("button", { type: "button", onclick: () => redeliver(a) }, "Redeliver"));
  }

  function redeliver(a) {
    return act(`Redeliver ${a.event} to ${a.endpoint}`,
      () => call("POST", "/_fake/webhooks/redeliver", { event: a.event, endpoint: a.endpoint }),
      (r) => [["endpoint", r.endpoint], ["url", r.url]]);
  }

  // ---- start ---------------------------------------------------------------------------------
  function start() {
    $("tenant-select").addEventListener("change", (e) => {
      if (e.target.value) pick(e.target.value);
    });
    $("tenant-refresh").addEventListener("click", loadTenants);
    $("pick").addEventListener("submit", (e) => e.preventDefault());
    $("open-key").addEventListener("submit", (e) => {
      e.preventDefault();
      const key = $("key-input").value;
      $("key-input").value = "";
      openKey(key);
    });
    $("live").addEventListener("change", schedule);
    $("advance").addEventListener("submit", advance);
    $("fault-form").addEventListener("submit", addFault);
    $("faults-clear").addEventListener("click", clearFaults);
    // `?tenant=NAME` (what `fake-stripe dashboard --api-key sk_test_NAME` opens) or a whole key.
    const wanted = new URLSearchParams(location.search).get("tenant");
    loadTenants().then(() => {
      if (wanted) openKey(/^(sk|rk|pk)_(test|live)_/.test(wanted) ? wanted : "sk_test_" + wanted);
    });
  }

  start();
})();
