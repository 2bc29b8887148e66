// A walk of 20 Stripe resources outside Financial Connections with the GA stripe-node SDK
// against a running fake-stripe: create, retrieve, update, list and, where Stripe's API has
// it, delete. Prints one JSON line per resource: {resource, steps, error}.
// Usage: node walk.js (STRIPE_NODE: the installed package's directory; FAKE_STRIPE_URL)
"use strict";

const Stripe = require(process.env.STRIPE_NODE);
const url = new URL(process.env.FAKE_STRIPE_URL);
const stripe = new Stripe("sk_test_node_walk_" + process.pid, {
  host: url.hostname,
  port: url.port,
  protocol: url.protocol.replace(":", ""),
  maxNetworkRetries: 0,
});

const made = {};

// [name, the SDK resource, create params, update params, has delete]
const RESOURCES = [
  ["products", (s) => s.products, () => ({ name: "T-shirt" }), true],
  ["prices", (s) => s.prices, () => ({ currency: "usd", unit_amount: 1200, product: made.product }), false],
  ["coupons", (s) => s.coupons, () => ({ percent_off: 10, duration: "once" }), true],
  ["plans", (s) => s.plans, () => ({ amount: 500, currency: "usd", interval: "month", product: made.product }), true],
  ["taxRates", (s) => s.taxRates, () => ({ display_name: "VAT", inclusive: false, percentage: 19.5 }), false],
  ["shippingRates", (s) => s.shippingRates, () => ({ display_name: "Ground", type: "fixed_amount", fixed_amount: { amount: 500, currency: "usd" } }), false],
  ["invoices", (s) => s.invoices, () => ({ customer: made.customer }), true],
  ["invoiceItems", (s) => s.invoiceItems, () => ({ customer: made.customer, amount: 300, currency: "usd" }), true],
  ["subscriptions", (s) => s.subscriptions, () => ({ customer: made.customer, items: [{ price: made.prices }] }), false],
  ["promotionCodes", (s) => s.promotionCodes, () => ({ coupon: made.coupon }), false],
  ["paymentLinks", (s) => s.paymentLinks, () => ({ line_items: [{ price: made.prices, quantity: 1 }] }), false],
  ["refunds", (s) => s.refunds, () => ({ amount: 100, payment_intent: made.paymentIntent }), false],
  ["transfers", (s) => s.transfers, () => ({ amount: 400, currency: "usd", destination: made.account }), false],
  ["topups", (s) => s.topups, () => ({ amount: 2000, currency: "usd" }), false],
  ["quotes", (s) => s.quotes, () => ({ customer: made.customer }), false],
  ["subscriptionSchedules", (s) => s.subscriptionSchedules, () => ({ customer: made.customer, start_date: "now", phases: [{ items: [{ price: made.prices }] }] }), false],
  ["terminal.locations", (s) => s.terminal.locations, () => ({ display_name: "Shop", address: { line1: "1 Main St", city: "Springfield", country: "US", postal_code: "12345", state: "IL" } }), true],
  ["terminal.readers", (s) => s.terminal.readers, () => ({ registration_code: "simulated-wpe", location: made.location }), true],
  ["radar.valueLists", (s) => s.radar.valueLists, () => ({ alias: "blocked_emails", name: "Blocked" }), true],
  ["issuing.cardholders", (s) => s.issuing.cardholders, () => ({ name: "Jenny Rosen", type: "individual", billing: { address: { line1: "1 Main St", city: "Springfield", country: "US", postal_code: "12345" } } }), false],
];

async function walk([name, resource, createParams, deletes]) {
  const api = resource(stripe);
  const steps = [];
  try {
    const created = await api.create(createParams());
    steps.push("create");
    made[name] = created.id;
    const got = await api.retrieve(created.id);
    if (got.id !== created.id) throw new Error(`retrieve answered ${got.id}`);
    steps.push("retrieve");
    const updated = await api.update(created.id, { metadata: { walk: "node" } });
    if (updated.metadata.walk !== "node") throw new Error("update lost the metadata");
    steps.push("update");
    const listed = await api.list({ limit: 3 });
    if (!listed.data.some((o) => o.id === created.id)) throw new Error("list misses the object");
    steps.push("list");
    if (deletes) {
      const gone = await api.del(created.id);
      if (!gone.deleted) throw new Error("delete did not say deleted");
      steps.push("delete");
    }
    return { resource: name, steps, error: null };
  } catch (err) {
    return { resource: name, steps, error: String(err && err.message ? err.message : err) };
  }
}

(async () => {
  made.customer = (await stripe.customers.create({ email: "walk@example.com" })).id;
  // What the walked objects name must exist, as at Stripe; the walked product, coupon and
  // location are deleted, so what names one gets one of its own.
  made.product = (await stripe.products.create({ name: "Plan" })).id;
  made.coupon = (await stripe.coupons.create({ percent_off: 10, duration: "once" })).id;
  const address = { line1: "1 Main St", city: "Springfield", country: "US", postal_code: "12345", state: "IL" };
  made.location = (await stripe.terminal.locations.create({ display_name: "Till", address })).id;
  made.account = (await stripe.accounts.create({ type: "custom", country: "US" })).id;
  made.paymentIntent = (await stripe.paymentIntents.create({ amount: 1000, currency: "usd" })).id;
  for (const spec of RESOURCES) {
    console.log(JSON.stringify(await walk(spec)));
  }
})();
