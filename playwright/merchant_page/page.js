/* The sample merchant page: Stripe's relink guide's client code around stripe.collectFinancialConnectionsAccounts. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("config").textContent);
  var stripe = Stripe(cfg.publishableKey);
  var payments = cfg.useCase === "payments";
  var list = document.getElementById("accounts");
  var message = document.getElementById("message");
  var mandate = document.getElementById("mandate");
  var pendingMandate = null;

  document.getElementById("use-case").textContent = payments ? "ACH Direct Debit" : "Account data";
  document.getElementById("intro").textContent = payments
    ? "We debit your linked bank account for your orders."
    : "We read balances and transactions from your linked bank accounts to build your reports.";

  function call(method, path, body) {
    return fetch(cfg.base + path, {
      method: method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (resp) {
      return resp.json().then(function (json) {
        if (!resp.ok) throw new Error((json.error && json.error.message) || resp.statusText);
        return json;
      });
    });
  }

  function show(kind, text) {
    message.hidden = false;
    message.className = "message " + kind;
    message.textContent = text;
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function button(label, onclick, primary) {
    var b = el("button", "button" + (primary ? " primary" : ""), label);
    b.type = "button";
    b.addEventListener("click", function () {
      b.disabled = true;
      Promise.resolve(onclick()).catch(function (e) {
        show("error", "Something went wrong: " + e.message);
      }).then(function () { b.disabled = false; });
    });
    return b;
  }

  function render(accounts) {
    list.replaceChildren();
    accounts.forEach(function (a) {
      var li = el("li", "account");
      var logo = el("span", "bank-logo", a.institution.charAt(0));
      logo.setAttribute("aria-hidden", "true");
      var text = el("div", "account-text");
      var title = el("div", "account-title");
      title.append(el("strong", null, a.institution), " " + a.display_name + " \u2022\u2022\u2022\u2022" + a.last4);
      var pill = el("span", "pill " + a.status, a.status === "active" ? "Active" : "Inactive");
      title.append(" ", pill);
      text.append(title);
      if (a.reason) text.append(el("div", "muted", a.reason));
      if (a.payment_method) {
        text.append(el("div", "muted", "Payments debit account \u2022\u2022\u2022\u2022" + a.payment_method.last4));
      }
      li.append(logo, text);
      if (a.action === "relink") li.append(button("Re-link your bank account", function () { return relink(a); }, true));
      if (a.action === "connect") li.append(button("Connect a bank account", connect, true));
      list.append(li);
    });
    document.getElementById("empty").hidden = accounts.length > 0;
    var add = document.getElementById("add");
    add.replaceChildren();
    add.hidden = accounts.length > 0;
    if (!accounts.length) add.append(button("Connect a bank account", connect, true));
  }

  function refresh() {
    return call("GET", "/accounts").then(function (state) {
      render(state.accounts);
      return payments ? renderCheckout(state.accounts) : null;
    });
  }

  // ---- ACH Direct Debit: pay for an order by bank ----------------------------------------------

  var STATUS = {
    processing: "Processing",
    succeeded: "Paid",
    requires_payment_method: "Failed",
    requires_confirmation: "Not confirmed",
    canceled: "Canceled",
  };

  function renderCheckout(accounts) {
    var checkout = document.getElementById("checkout");
    checkout.hidden = false;
    var buttons = document.getElementById("pay-buttons");
    buttons.replaceChildren(button("Pay $10 by bank", payByBank, true));
    accounts.forEach(function (a) {
      if (!a.payment_method) return;
      buttons.append(button("Pay $10 with " + a.institution + " \u2022\u2022\u2022\u2022" +
        a.payment_method.last4, function () { return payWith(a.payment_method.id); }));
    });
    return call("GET", "/payments").then(function (state) {
      var ul = document.getElementById("payments");
      ul.replaceChildren();
      document.getElementById("no-payments").hidden = state.payments.length > 0;
      state.payments.forEach(function (p) {
        var li = el("li", "account");
        var text = el("div", "account-text");
        var title = el("div", "account-title");
        title.append(el("strong", null, "$" + (p.amount / 100).toFixed(2)),
          p.last4 ? " " + p.bank_name + " \u2022\u2022\u2022\u2022" + p.last4 : "");
        var ok = p.status === "succeeded" || p.status === "processing";
        title.append(" ", el("span", "pill " + (ok ? "active" : "inactive"),
          STATUS[p.status] || p.status));
        text.append(title);
        if (p.failure) text.append(el("div", "muted", p.failure));
        li.append(text);
        ul.append(li);
      });
    });
  }

  function payWith(paymentMethod) {
    message.hidden = true;
    return call("POST", "/payments", { payment_method: paymentMethod }).then(function (r) {
      if (r.status === "failed") show("error", "Your bank refused the payment: " + r.message);
      else show("success", "Thank you! Your payment of $10.00 is processing.");
      return refresh();
    });
  }

  var pendingPayment = null;

  function payByBank() {
    message.hidden = true;
    return call("POST", "/payments", {}).then(function (created) {
      return stripe.collectBankAccountForPayment({
        clientSecret: created.client_secret,
        params: {
          payment_method_type: "us_bank_account",
          payment_method_data: { billing_details: { name: "Jenny Rosen", email: "jenny@example.com" } },
        },
      }).then(function (result) {
        if (result.error) {
          show("error", "Your bank account could not be linked: " + result.error.message);
        } else if (result.paymentIntent.status === "requires_confirmation") {
          pendingPayment = created.client_secret;
          document.getElementById("pay-mandate-text").textContent =
            "By clicking Accept and pay, you authorize " + cfg.merchant + " to debit the bank " +
            "account you linked for $10.00 now and for future orders, until this authorization " +
            "is revoked.";
          document.getElementById("pay-mandate").hidden = false;
          show("info", "One more step: accept the mandate to pay by bank.");
          document.getElementById("pay-accept").focus();
        } else {
          show("failure", "No bank account was linked. You can try again at any time.");
          offerTyped();
        }
      });
    });
  }

  document.getElementById("pay-accept").addEventListener("click", function () {
    var secret = pendingPayment;
    if (!secret) return;
    pendingPayment = null;
    document.getElementById("pay-mandate").hidden = true;
    stripe.confirmUsBankAccountPayment(secret).then(function (result) {
      if (result.error) show("error", "The payment failed: " + result.error.message);
      else if (result.paymentIntent.status === "processing") {
        show("success", "Thank you! Your payment of $10.00 is processing.");
      } else show("info", "Payment status: " + result.paymentIntent.status);
      return refresh();
    });
  });

  // ---- the relink guide's client code -----------------------------------------------------------

  function relink(account) {
    message.hidden = true;
    return call("POST", "/sessions", { account: account.id }).then(collect);
  }

  function connect() {
    message.hidden = true;
    return call("POST", "/sessions", {}).then(collect);
  }

  function collect(created) {
    // Fetch existing accounts on the authorization to determine whether the linked account is new.
    var existing_account_ids = created.existing_account_ids;
    var relinking = existing_account_ids.length > 0;
    return stripe.collectFinancialConnectionsAccounts({ clientSecret: created.client_secret })
      .then(function (result) {
        var financialConnectionsSession = result.financialConnectionsSession;
        var error = result.error;
        if (error) {
          // The session failed for some reason.
          show("error", "Your bank account could not be linked: " + error.message);
          if (payments) offerTyped();
        } else if (financialConnectionsSession.accounts.length > 0) {
          var accounts = financialConnectionsSession.accounts;
          if (!payments) {
            return reload_accounts(accounts).then(function () {
              show("success", (relinking ? "Data access restored for " : "Connected ") +
                accounts.length + (accounts.length === 1 ? " account." : " accounts."));
            });
          }
          var is_new = existing_account_ids.indexOf(accounts[0].id) < 0;
          if (is_new) {
            // You must surface the mandate for new accounts to process ACH payments.
            return surface_mandate(accounts[0]);
          }
          // User has reauthorized an existing payment account.
          return reload_account(accounts[0].id).then(function () {
            show("success", "Your bank account is reconnected. Payments will continue as usual.");
          });
        } else {
          // The session failed to connect an account.
          show("failure", "No bank account was connected. You can try again at any time.");
          if (payments) offerTyped();
        }
      })
      .then(refresh);
  }

  function reload_account(id) {
    return call("POST", "/reload", { accounts: [id] });
  }

  function reload_accounts(accounts) {
    return call("POST", "/reload", { accounts: accounts.map(function (a) { return a.id; }) });
  }

  function surface_mandate(account) {
    pendingMandate = account;
    document.getElementById("mandate-text").textContent =
      "By clicking Accept, you authorize " + cfg.merchant + " to debit the bank account " +
      account.institution_name + " " + account.display_name + " ending in " + account.last4 +
      " for any amount owed for charges arising from your use of " + cfg.merchant +
      "'s services and/or purchase of products from " + cfg.merchant + ", pursuant to " +
      cfg.merchant + "'s website and terms, until this authorization is revoked. You may amend " +
      "or cancel this authorization at any time by providing notice to " + cfg.merchant +
      " with 30 (thirty) days notice.";
    mandate.hidden = false;
    show("info", "One more step: accept the mandate to use your new bank account for payments.");
    document.getElementById("mandate-accept").focus();
  }

  document.getElementById("mandate-accept").addEventListener("click", function () {
    var account = pendingMandate;
    if (!account) return;
    pendingMandate = null;
    mandate.hidden = true;
    call("POST", "/mandate", { account: account.id }).then(function (pm) {
      show("success", "Bank account saved. Payments will be debited from " + pm.bank_name +
        " \u2022\u2022\u2022\u2022" + pm.last4 + ".");
      return refresh();
    }).catch(function (e) { show("error", "The mandate could not be saved: " + e.message); });
  });

  document.getElementById("mandate-decline").addEventListener("click", function () {
    pendingMandate = null;
    mandate.hidden = true;
    show("failure", "The new bank account was linked but not saved for payments.");
  });

  // ---- the fallback when nothing was linked: numbers by hand, verified with microdeposits -------

  var pendingSetup = null;

  function offerTyped() {
    document.getElementById("typed").hidden = false;
  }

  document.getElementById("typed-form").addEventListener("submit", function (event) {
    event.preventDefault();
    call("POST", "/typed", {
      routing: document.getElementById("typed-routing").value,
      account: document.getElementById("typed-account").value,
    }).then(function (setup) {
      document.getElementById("typed").hidden = true;
      pendingSetup = setup.client_secret;
      var arrival = new Date(setup.arrival_date * 1000).toDateString();
      document.getElementById("verify-text").textContent =
        "We sent a deposit of $0.01 to your account. It arrives by " + arrival + ": enter the " +
        "6-character code starting with SM from its description.";
      document.getElementById("verify").hidden = false;
      show("info", "One more step: verify your bank account.");
    }).catch(function (e) { show("error", "Your bank details were not saved: " + e.message); });
  });

  document.getElementById("verify-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!pendingSetup) return;
    var code = document.getElementById("verify-code").value;
    stripe.verifyMicrodepositsForSetup(pendingSetup, { descriptor_code: code })
      .then(function (result) {
        if (result.error) {
          show("error", "Verification failed: " + result.error.message);
          if (result.error.code !== "payment_method_microdeposit_verification_descriptor_code_mismatch") {
            document.getElementById("verify").hidden = true;
            pendingSetup = null;
          }
        } else {
          document.getElementById("verify").hidden = true;
          pendingSetup = null;
          show("success", "Bank account verified. Payments will be debited from it.");
        }
        return refresh();
      });
  });

  refresh().catch(function (e) { show("error", "Could not load your bank accounts: " + e.message); });
})();
