/*
 * fake-stripe: a stand-in for https://js.stripe.com/v3/ served by the fake at /v3/ (and for
 * https://js.stripe.com/<release>/stripe.js at /<release>/stripe.js).
 *
 * Stripe(publishableKey, options) with collectFinancialConnectionsAccounts({clientSecret}), and
 * for ACH Direct Debit collectBankAccountForPayment({clientSecret, params}) and
 * confirmUsBankAccountPayment(clientSecret, data), which resolve {paymentIntent} or {error},
 * and verifyMicrodepositsForPayment / verifyMicrodepositsForSetup(clientSecret, {amounts} or
 * {descriptor_code}), which resolve {paymentIntent} / {setupIntent} or {error}.
 * The authentication flow runs in a full-viewport iframe served by the fake; the client secret
 * reaches it by postMessage (never in a URL) once the iframe says it is ready. The promise
 * resolves as Stripe.js does: {financialConnectionsSession} whose `accounts` is an array, or
 * {error}. Closing the flow resolves with zero accounts and no error.
 */
(function () {
  "use strict";

  // The server writes its own origin here when it serves this file.
  var ORIGIN = "__FAKE_STRIPE_ORIGIN__";
  var FLOW_URL = ORIGIN + "/_stripejs/flow";
  var MSG = "fake-stripe:";
  var LOAD_TIMEOUT_MS = 15000;
  var current = null;

  function integrationError(message) {
    var err = new Error(message);
    err.name = "IntegrationError";
    return err;
  }

  function describe(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "an array";
    return typeof value === "string" ? JSON.stringify(value) : typeof value;
  }

  function settle(result) {
    if (result && result.error) return { error: result.error };
    return { financialConnectionsSession: result.financialConnectionsSession };
  }

  function openFlow(publishableKey, apiVersion, clientSecret) {
    return new Promise(function (resolve) {
      var body = document.body;
      var iframe = document.createElement("iframe");
      var previousOverflow = body.style.overflow;
      var previousFocus = document.activeElement;
      var finished = false;

      iframe.src = FLOW_URL;
      iframe.name = "fake-stripe-financial-connections";
      iframe.title = "Link your bank account";
      iframe.setAttribute("allowtransparency", "true");
      iframe.setAttribute(
        "style",
        "position:fixed;inset:0;width:100%;height:100%;border:0;margin:0;padding:0;" +
          "z-index:2147483647;background:transparent;color-scheme:normal;"
      );

      function finish(result) {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        document.removeEventListener("keydown", onKeyDown, true);
        iframe.remove();
        body.style.overflow = previousOverflow;
        current = null;
        if (previousFocus && typeof previousFocus.focus === "function") previousFocus.focus();
        resolve(settle(result));
      }

      function onMessage(event) {
        if (event.source !== iframe.contentWindow || event.origin !== ORIGIN) return;
        var data = event.data || {};
        if (data.type === MSG + "ready") {
          clearTimeout(timer);
          iframe.contentWindow.postMessage(
            {
              type: MSG + "init",
              clientSecret: clientSecret,
              publishableKey: publishableKey,
              apiVersion: apiVersion,
            },
            ORIGIN
          );
          iframe.focus();
        } else if (data.type === MSG + "result") {
          finish(data.result || {});
        }
      }

      // Escape while the merchant page still has focus: the flow decides what closing means.
      function onKeyDown(event) {
        if (event.key !== "Escape" || !iframe.contentWindow) return;
        event.preventDefault();
        event.stopPropagation();
        iframe.contentWindow.postMessage({ type: MSG + "close" }, ORIGIN);
      }

      var timer = setTimeout(function () {
        finish({
          error: {
            type: "api_connection_error",
            message: "The authentication flow could not be loaded from " + ORIGIN + ".",
          },
        });
      }, LOAD_TIMEOUT_MS);

      window.addEventListener("message", onMessage);
      document.addEventListener("keydown", onKeyDown, true);
      body.style.overflow = "hidden";
      body.appendChild(iframe);
      current = iframe;
    });
  }

  // Stripe's form encoding: a[b][c]=v, arrays as a[0]=x.
  function encode(value, prefix, out) {
    if (value === undefined || value === null) return out;
    if (typeof value === "object") {
      Object.keys(value).forEach(function (k) {
        encode(value[k], prefix ? prefix + "[" + k + "]" : k, out);
      });
    } else {
      out.push(encodeURIComponent(prefix) + "=" + encodeURIComponent(String(value)));
    }
    return out;
  }

  function request(publishableKey, apiVersion, method, path, params) {
    var body = encode(params, "", []).join("&");
    var headers = { Authorization: "Bearer " + publishableKey };
    if (apiVersion) headers["Stripe-Version"] = apiVersion;
    var url = ORIGIN + "/_stripejs/v1" + path;
    var init = { method: method, headers: headers };
    if (method === "GET") {
      url += "?" + body;
    } else {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = body;
    }
    return fetch(url, init).then(
      function (resp) {
        return resp.json().then(function (json) {
          return resp.ok ? { data: json } : { error: json.error || { type: "api_error" } };
        });
      },
      function (e) {
        return { error: { type: "api_connection_error", message: String(e && e.message) } };
      }
    );
  }

  function intentId(clientSecret) {
    return clientSecret.split("_secret_")[0];
  }

  function checkSecret(name, clientSecret, prefix) {
    var shape = new RegExp("^" + (prefix || "pi") + "_[^_]+_secret_");
    if (typeof clientSecret !== "string" || !shape.test(clientSecret)) {
      throw integrationError(
        "Invalid value for " + name + ": clientSecret should be a client secret of the form " +
          "${id}_secret_${secret}. You specified: " + describe(clientSecret) + "."
      );
    }
  }

  function intentResult(r) {
    return r.error ? { error: r.error } : { paymentIntent: r.data };
  }

  function Stripe(publishableKey, options) {
    if (typeof publishableKey !== "string" || publishableKey === "") {
      throw integrationError(
        "Please call Stripe() with your publishable key. You used " + describe(publishableKey) + "."
      );
    }
    if (/^(sk|rk)_/.test(publishableKey)) {
      throw integrationError(
        "You should not use your secret key with Stripe.js. Please pass a publishable key instead."
      );
    }
    var apiVersion = (options && options.apiVersion) || null;

    function collectFinancialConnectionsAccounts(opts) {
      var name = "collectFinancialConnectionsAccounts";
      if (!opts || typeof opts !== "object") {
        throw integrationError(
          "Invalid value for " + name + ": options should be an object. You specified: " +
            describe(opts) + "."
        );
      }
      if (typeof opts.clientSecret !== "string" || opts.clientSecret === "") {
        throw integrationError(
          "Invalid value for " + name + ": clientSecret should be a client secret of the form " +
            "${id}_secret_${secret}. You specified: " + describe(opts.clientSecret) + "."
        );
      }
      if (current) {
        return Promise.resolve({
          error: {
            type: "invalid_request_error",
            message: "The authentication flow is already open on this page.",
          },
        });
      }
      return openFlow(publishableKey, apiVersion, opts.clientSecret);
    }

    function call(method, path, params) {
      return request(publishableKey, apiVersion, method, path, params);
    }

    // The FC modal for the intent, then the linked account attached to it as its PaymentMethod
    // (status requires_confirmation); a closed modal leaves the intent as it was.
    function collectBankAccountForPayment(opts) {
      var name = "collectBankAccountForPayment";
      if (!opts || typeof opts !== "object") {
        throw integrationError("Invalid value for " + name + ": options should be an object.");
      }
      checkSecret(name, opts.clientSecret);
      var params = opts.params || {};
      if (params.payment_method_type !== "us_bank_account") {
        throw integrationError(
          "Invalid value for " + name + ": params.payment_method_type should be " +
            "us_bank_account. You specified: " + describe(params.payment_method_type) + "."
        );
      }
      var billing = (params.payment_method_data || {}).billing_details || {};
      if (typeof billing.name !== "string" || billing.name === "") {
        throw integrationError(
          "Invalid value for " + name + ": params.payment_method_data.billing_details.name " +
            "is required."
        );
      }
      if (current) {
        return Promise.resolve({
          error: {
            type: "invalid_request_error",
            message: "The authentication flow is already open on this page.",
          },
        });
      }
      var secret = opts.clientSecret;
      var pi = "/payment_intents/" + encodeURIComponent(intentId(secret));
      return call("POST", pi + "/link_account_sessions", { client_secret: secret }).then(
        function (las) {
          if (las.error) return { error: las.error };
          return openFlow(publishableKey, apiVersion, las.data.client_secret).then(function (r) {
            if (r.error) return { error: r.error };
            var accounts = (r.financialConnectionsSession || {}).accounts || [];
            if (!accounts.length) {
              return call("GET", pi, { client_secret: secret }).then(intentResult);
            }
            var attach = { client_secret: secret, billing_details: billing };
            var metadata = (params.payment_method_data || {}).metadata;
            if (metadata !== undefined) attach.metadata = metadata;
            return call(
              "POST",
              pi + "/link_account_sessions/" + las.data.id + "/attach",
              attach
            ).then(intentResult);
          });
        }
      );
    }

    // Confirms with the confirm parameters given (`setup_future_usage`, `return_url`, ...) and
    // the mandate accepted in this browser unless `mandate_data` is given (Stripe fills in the
    // address). `payment_method` is an id, or the bank details of a new us_bank_account
    // PaymentMethod (`{us_bank_account: {...}, billing_details: {...}}`), sent as
    // `payment_method_data`.
    function confirmUsBankAccountPayment(clientSecret, data) {
      checkSecret("confirmUsBankAccountPayment", clientSecret);
      var given = data && typeof data === "object" ? data : {};
      var params = {};
      Object.keys(given).forEach(function (key) {
        if (key !== "payment_method") params[key] = given[key];
      });
      params.client_secret = clientSecret;
      if (params.mandate_data === undefined) {
        params.mandate_data = {
          customer_acceptance: {
            type: "online",
            online: { user_agent: navigator.userAgent },
          },
        };
      }
      var pm = given.payment_method;
      if (typeof pm === "string") {
        params.payment_method = pm;
      } else if (pm && typeof pm === "object") {
        var pmData = { type: "us_bank_account" };
        Object.keys(pm).forEach(function (key) {
          pmData[key] = pm[key];
        });
        params.payment_method_data = pmData;
      }
      var pi = "/payment_intents/" + encodeURIComponent(intentId(clientSecret));
      return call("POST", pi + "/confirm", params).then(intentResult);
    }

    // The customer's microdeposit values: `amounts` (two integers, in cents) or
    // `descriptor_code`, as the API takes them.
    function verifyParams(clientSecret, data) {
      var params = { client_secret: clientSecret };
      if (data && data.amounts !== undefined) params.amounts = data.amounts;
      if (data && data.descriptor_code !== undefined) params.descriptor_code = data.descriptor_code;
      return params;
    }

    function verifyMicrodepositsForPayment(clientSecret, data) {
      checkSecret("verifyMicrodepositsForPayment", clientSecret, "pi");
      var path = "/payment_intents/" + encodeURIComponent(intentId(clientSecret));
      return call("POST", path + "/verify_microdeposits", verifyParams(clientSecret, data)).then(
        intentResult
      );
    }

    function verifyMicrodepositsForSetup(clientSecret, data) {
      checkSecret("verifyMicrodepositsForSetup", clientSecret, "seti");
      var path = "/setup_intents/" + encodeURIComponent(intentId(clientSecret));
      return call("POST", path + "/verify_microdeposits", verifyParams(clientSecret, data)).then(
        function (r) {
          return r.error ? { error: r.error } : { setupIntent: r.data };
        }
      );
    }

    return {
      _apiKey: publishableKey,
      verifyMicrodepositsForPayment: verifyMicrodepositsForPayment,
      verifyMicrodepositsForSetup: verifyMicrodepositsForSetup,
      collectFinancialConnectionsAccounts: collectFinancialConnectionsAccounts,
      collectBankAccountForPayment: collectBankAccountForPayment,
      confirmUsBankAccountPayment: confirmUsBankAccountPayment,
      // @stripe/stripe-js reports itself here after construction.
      _registerWrapper: function () {},
    };
  }

  // The server writes the release train here: the current one ("endive") at /v3/ and
  // /endive/stripe.js, a train's own name at /<train>/stripe.js.
  Stripe.version = "__FAKE_STRIPE_JS_VERSION__";
  window.Stripe = Stripe;
})();
