"""Every operation of Stripe's recorded spec that the fake does not model by hand, answered from
the spec: objects stored as JSON dicts, shaped by the spec's schemas, built from its example
objects, and remembered per tenant (see docs/generic.md)."""
