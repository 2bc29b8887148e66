#!/usr/bin/env bash
# Throughput of GET /v1/customers/{id} and cold start of `fake-stripe serve`, on loopback.
# Needs wrk (Debian package). Usage: bench/serve_bench.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; conns=${2:-64}
start=$(date +%s%N)
.venv/bin/fake-stripe serve --port 0 > /tmp/fake-stripe-bench.out 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until grep -q "listening on" /tmp/fake-stripe-bench.out; do sleep 0.005; done
url=$(awk '{print $NF}' /tmp/fake-stripe-bench.out)
until curl -sf -o /dev/null -u sk_test_bench: "$url/v1/customers"; do sleep 0.002; done
ready=$(date +%s%N)
echo "cold start to first 200 (GET /v1/customers): $(( (ready - start) / 1000000 )) ms"
id=$(curl -s -u sk_test_bench: "$url/v1/customers" -d email=bench@example.com | sed 's/.*"id":"\([^"]*\)".*/\1/')
wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer sk_test_bench" "$url/v1/customers/$id"
