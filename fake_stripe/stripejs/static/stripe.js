/*
 * fake-stripe: a stand-in for https://js.stripe.com/v3/ served by the fake at /v3/ (and for
 * https://js.stripe.com/<release>/stripe.js at /<release>/stripe.js).
 *
 * Stripe(publishableKey, options) with collectFinancialConnectionsAccounts({clientSecret}).
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

    return {
      _apiKey: publishableKey,
      collectFinancialConnectionsAccounts: collectFinancialConnectionsAccounts,
      // @stripe/stripe-js reports itself here after construction.
      _registerWrapper: function () {},
    };
  }

  // The server writes 3 here at /v3/, and the release train ("endive") at /endive/stripe.js.
  Stripe.version = "__FAKE_STRIPE_JS_VERSION__";
  window.Stripe = Stripe;
})();
