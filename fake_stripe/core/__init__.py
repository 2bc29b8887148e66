"""The core floor: errors, object models' base, the store and tenants, form decoding, the
parameter language, rendering, faults, the event log and the request context. Imports nothing
else of the package."""
