#!/usr/bin/env bash
# Side by side, in one run, on loopback only: fake-stripe against two peers,
#   localstripe           (PyPI, installed in its own venv, bench/.venv-peers, git-ignored)
#   stripe-stateful-mock  (npm, installed in a temp dir outside the repo)
# For each server, one after the other (never two at once, so they don't share the 2 cores):
#   cold start to the first 200 of GET /v1/customers, one POST /v1/customers, then
#   wrk -t1 -c<connections> -d<seconds>s on GET /v1/customers/{id}, then VmRSS of the server
#   process, then the status of GET /v1/financial_connections/accounts. Prints one Markdown table.
# Needs Debian's wrk, curl, ss, node/npm. Usage: bench/peers.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-10}; conns=${2:-64}
localstripe_spec=${LOCALSTRIPE_SPEC:-localstripe==1.15.10}
ssm_spec=${SSM_SPEC:-stripe-stateful-mock@0.0.16}
peer_venv=$root/bench/.venv-peers
npm_dir=${TMPDIR:-/tmp}/fake-stripe-peers-npm
py=$root/.venv/bin/python
auth="Authorization: Bearer sk_test_bench"

# --- install the peers if missing -------------------------------------------------------
if [ ! -x "$peer_venv/bin/python" ] || ! "$peer_venv/bin/python" -c 'import localstripe' 2>/dev/null; then
  echo "installing $localstripe_spec into $peer_venv" >&2
  python3 -m venv "$peer_venv"
  "$peer_venv/bin/pip" install -q "$localstripe_spec" >&2 2>/dev/null
fi
if [ ! -f "$npm_dir/node_modules/stripe-stateful-mock/package.json" ]; then
  echo "installing $ssm_spec into $npm_dir" >&2
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent "$ssm_spec" >&2)
fi

# --- bookkeeping: every server we start is stopped on exit ---------------------------------
work=$(mktemp -d)
pids=()
pickle_existed=0; [ -e /tmp/localstripe.pickle ] && pickle_existed=1
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # localstripe pickles its store to /tmp/localstripe.pickle on every write; remove ours
  [ "$pickle_existed" = 1 ] || rm -f /tmp/localstripe.pickle
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Each start_* function is run in the background and execs the server, so $! is its PID.
start_fake_stripe() {
  exec "$root/.venv/bin/fake-stripe" serve --host 127.0.0.1 --port "$1"
}
# localstripe's CLI has only --port and binds '::' (all interfaces); so we run its aiohttp app
# ourselves on 127.0.0.1, as its start() does minus the bind address, the per-request access log
# and loading an old /tmp/localstripe.pickle (the same as --from-scratch).
start_localstripe() {
  exec "$peer_venv/bin/python" -c '
import sys
from aiohttp import web
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
' "$1"
}
# stripe-stateful-mock's autostart reads PORT and listens on all interfaces; its README's
# "Custom" usage lets us listen on 127.0.0.1.
start_stripe_stateful_mock() {
  cd "$npm_dir"
  PORT=$1 LOG_LEVEL=warn exec node -e '
require("stripe-stateful-mock").createExpressApp().listen(+process.env.PORT, "127.0.0.1");
'
}

load_before=$(cut -d" " -f1-3 /proc/loadavg)
rows=()
bench_one() {  # name start_function
  local name=$1 starter=$2 port url pid start ready code id rps non2xx sockerr rss fc listen
  port=$(free_port); url=http://127.0.0.1:$port
  start=$(date +%s%N)
  "$starter" "$port" > "$work/$name.log" 2>&1 &
  pid=$!; pids+=("$pid")
  local deadline=$(( $(date +%s) + 30 ))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "$auth" "$url/v1/customers")" = 200 ]; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$name did not answer 200 on $url/v1/customers:" >&2; cat "$work/$name.log" >&2; return 1
    fi
    sleep 0.002
  done
  ready=$(date +%s%N)
  listen=$(ss -Hltnp "sport = :$port" | grep "pid=$pid," | awk '{print $4}' | sort -u | paste -sd' ')
  case "$listen" in 127.0.0.1:"$port") ;; *) echo "$name listens on '$listen', not loopback only" >&2; return 1;; esac
  id=$(curl -s --max-time 5 -H "$auth" "$url/v1/customers" -d email=bench@example.com -d name=Bench \
       | "$py" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "$auth" "$url/v1/customers/$id")
  [ "$code" = 200 ] || { echo "$name: GET /v1/customers/$id gave $code" >&2; return 1; }
  timeout $(( secs + 30 )) wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -H "$auth" \
    "$url/v1/customers/$id" > "$work/$name.wrk"
  rps=$(awk '/^Requests\/sec:/{printf "%d", $2}' "$work/$name.wrk")
  non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$work/$name.wrk"); non2xx=${non2xx:-0}
  sockerr=$(grep -o 'Socket errors:.*' "$work/$name.wrk" || echo none)
  rss=$(awk '/^VmRSS:/{printf "%.0f", $2/1024}' "/proc/$pid/status")
  fc=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "$auth" "$url/v1/financial_connections/accounts")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rows+=("| $name | $(( (ready - start) / 1000000 )) ms | $(echo "$rps" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') | $non2xx | $rss MiB | $fc |")
  [ "$sockerr" = none ] || echo "$name wrk: $sockerr" >&2
}

bench_one fake-stripe start_fake_stripe
bench_one localstripe start_localstripe
bench_one stripe-stateful-mock start_stripe_stateful_mock

fs_v=$("$py" -c 'import importlib.metadata as m; print(m.version("fake-stripe"))')
ls_v=$("$peer_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("localstripe"))')
ssm_v=$(node -p 'require(process.argv[1]).version' "$npm_dir/node_modules/stripe-stateful-mock/package.json")
echo "fake-stripe $fs_v ($(git describe --always --dirty)), localstripe $ls_v ($("$peer_venv/bin/python" -V)), stripe-stateful-mock $ssm_v (node $(node --version)); $(date -u +%F); wrk -t1 -c$conns -d${secs}s; load average before the run: $load_before"
echo
echo "| server | cold start to first 200, \`GET /v1/customers\` | requests/s, \`GET /v1/customers/{id}\` | non-2xx during wrk | RSS after wrk | \`GET /v1/financial_connections/accounts\` |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
