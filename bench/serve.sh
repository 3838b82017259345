#!/usr/bin/env bash
# Benchmark: GET throughput and latency of `cachectl serve` under wrk, on the
# demo's entries, with a bearer token and an LRU bound, as a deployment
# would run it. Every response is checked: a non-200 answer fails the run.
#
#   bench/serve.sh [SECONDS] [CONNECTIONS]     (default 15 s, 64 connections)
#
# Needs wrk (Debian package) and a free loopback port.
set -euo pipefail

secs=${1:-15}
conns=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }

go build -C "$root" -o "$work/cachectl" ./cmd/cachectl
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token
# demo: the sample entries (aiocache JSON users among them) behind a token.
CACHECTL_TOKEN=$token "$work/cachectl" demo --no-ui --addr "127.0.0.1:$port" >"$work/url" 2>"$work/demo.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
url=$(cat "$work/url")

# The 60 aiocache users (api:user:1..60), in turn; count anything but 200.
cat >"$work/get.lua" <<LUA
local i = 0
local bad = 0
request = function()
  i = i % 60 + 1
  return wrk.format("GET", "/v1/entry?key=api%3Auser%3A" .. i, {["Authorization"] = "Bearer $token"})
end
response = function(status, headers, body)
  if status ~= 200 or #body == 0 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors %d, non-200 %d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, bad))
end
LUA

echo "bench: wrk -t2 -c$conns -d${secs}s against $url ($(nproc) cores)" >&2
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/get.lua" "$url" | tee "$work/wrk.txt"

# Still correct afterwards?
"$work/cachectl" -u "$url" --token "$token" get api:user:7 -o json | grep -q '"found":true,.*"id":7' ||
	{ echo "bench: api:user:7 is wrong after the run" >&2; exit 1; }
grep -q 'non-200 0$' "$work/wrk.txt" || { echo "bench: some requests failed" >&2; exit 1; }
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
echo
echo "serve: $rps GET/s, p99 $p99 (target: >= 20000 GET/s)"
