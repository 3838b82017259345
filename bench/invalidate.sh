#!/usr/bin/env bash
# Benchmark: `cachectl invalidate PATTERN --yes` (streaming SCAN + pipelined
# UNLINK on Redis, metadump + pipelined quiet md on Memcached) against the
# usual shell pipelines and the Redis server's own floor, on the same data,
# refilled before every run (the fill is never timed), in one run.
#
#   bench/invalidate.sh          (RUNS=3 timed runs per command, median shown)
#
# Redis: 600,000 keys, 300,000 of them match 'inv:*' (DEBUG POPULATE inv/keep).
#   a. cachectl -u redis://… invalidate 'inv:*' --yes
#   b. redis-cli --scan --pattern 'inv:*' | xargs -n 1000 redis-cli unlink
#   c. floor: a server-side Lua SCAN loop (MATCH, COUNT 1000) returning the
#      matching keys to a file, then UNLINK of those known keys (1000 per
#      command) through redis-cli --pipe; all parts timed together.
#   After each: DBSIZE and a server-side SCAN count must show exactly the
#   300,000 keep:* keys and no inv:* key.
# Memcached: 200,000 keys, 100,000 match 'inv:*', a fresh memcached -m 1024
# per run, filled with pipelined quiet meta sets, timed only once a full
# memcached-tool listing shows all 200,000 keys (metadump right after a bulk
# fill can miss items the LRU maintainer is moving).
#   a. cachectl -u memcached://… invalidate 'inv:*' --yes
#   b. memcached-tool HOST keys | sed (inv keys, %3A decoded) |
#      xargs -n 1000 memcrm --servers=HOST
#   After each: curr_items and a memcached-tool listing must show exactly the
#   100,000 keep:* keys and no inv:* key.
#
# Timing is date +%s.%N around each command (not hyperfine: every run needs a
# refill before it and a check after it). cachectl runs under /usr/bin/time
# for its peak RSS. Starts its own redis-server and memcached on free loopback
# ports (nothing else is touched). A failed check is reported, the run goes
# on, and the script exits 1 at the end.
# Needs redis-server, redis-cli, memcached, memcached-tool (memcached
# package), memcrm (libmemcached-tools), perl, python3, GNU time and go.
set -euo pipefail

runs=${RUNS:-3}
rtotal=600000
rhalf=$((rtotal / 2))
mtotal=200000
mhalf=$((mtotal / 2))
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
tool=/usr/share/memcached/scripts/memcached-tool
cleanup() {
	kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true
	kill "$(cat "$work/mc.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for t in redis-server redis-cli memcached python3 perl go awk sed xargs /usr/bin/time "$tool"; do
	command -v "$t" >/dev/null || [ -x "$t" ] || { echo "bench: $t is required" >&2; exit 1; }
done
command -v memcrm >/dev/null || {
	echo "bench: memcrm is required: apt-get install -y libmemcached-tools" >&2
	exit 1
}

# No user config or context may change what -u URL means (read-only, production).
export XDG_CONFIG_HOME="$work/xdg"
unset CACHECTL_CONFIG CACHECTL_CONTEXT

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
note() { echo "bench: $*" >&2; echo "$*" >>"$work/notes"; }

echo "bench: building cachectl" >&2
go build -C "$root" -o "$work/cachectl" ./cmd/cachectl
cachectl="$work/cachectl"

########################################################################
# Redis
########################################################################
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--enable-debug-command local --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
rurl="redis://127.0.0.1:$rport/0"
rcli() { redis-cli -p "$rport" "$@"; }

rfill() {
	rcli flushall sync >/dev/null
	rcli debug populate "$rhalf" inv >/dev/null # inv:0 … inv:299999
	rcli debug populate "$rhalf" keep >/dev/null
	local n
	n=$(rcli dbsize)
	[ "$n" = "$rtotal" ] || { echo "bench: redis fill made $n keys, want $rtotal" >&2; exit 1; }
}

# The floor's server-side listing: SCAN MATCH COUNT 1000 in Lua, keys returned.
scan_lua='local cur, out = "0", {}
repeat
  local r = redis.call("SCAN", cur, "MATCH", ARGV[1], "COUNT", 1000)
  cur = r[1]
  for _, k in ipairs(r[2]) do out[#out + 1] = k end
until cur == "0"
return out'

# rcheck NAME: exactly the 300,000 keep:* keys must remain.
rcheck() {
	local dbsize counts all inv
	dbsize=$(rcli dbsize)
	counts=$(rcli eval "$count_lua" 0 | tr '\n' ' ')
	read -r all inv <<<"$counts"
	if [ "$dbsize" = "$rhalf" ] && [ "$all" = "$rhalf" ] && [ "$inv" = 0 ]; then
		echo "bench:   $1: ok (dbsize $dbsize, scanned $all, inv:* left $inv)" >&2
	else
		fail "redis $1: dbsize $dbsize, scanned $all, inv:* left $inv (want $rhalf, $rhalf, 0)"
	fi
}

# a. cachectl
redis_cachectl() {
	/usr/bin/time -o "$work/rss.tmp" -f %M "$cachectl" -u "$rurl" -o json invalidate 'inv:*' --yes >"$work/out.json"
}
# b. the common shell pipeline (redis-cli --scan uses its default COUNT 10)
redis_pipeline() {
	redis-cli -p "$rport" --scan --pattern 'inv:*' | xargs -n 1000 redis-cli -p "$rport" unlink >/dev/null
}
# c. the floor: server-side Lua SCAN to a file, then UNLINK the known keys.
redis_floor() {
	local t0 t1 t2 t3
	t0=$(date +%s.%N)
	redis-cli -p "$rport" --raw eval "$scan_lua" 0 'inv:*' >"$work/floor.keys"
	t1=$(date +%s.%N)
	LC_ALL=C awk -v n=1000 '
		function emit(   i) {
			printf "*%d\r\n$6\r\nUNLINK\r\n", c + 1
			for (i = 0; i < c; i++) printf "$%d\r\n%s\r\n", length(k[i]), k[i]
			c = 0
		}
		{ k[c++] = $0; if (c == n) emit() }
		END { if (c) emit() }' "$work/floor.keys" >"$work/floor.resp"
	t2=$(date +%s.%N)
	redis-cli -p "$rport" --pipe <"$work/floor.resp" >"$work/floor.out"
	t3=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "%.4f %.4f %.4f\n", b - a, c - b, d - c }' >>"$work/floor.parts"
}

echo "bench: redis $(redis-server --version | grep -o 'v=[0-9.]*'): $rtotal keys, $rhalf match 'inv:*'; $runs runs each" >&2
for i in $(seq "$runs"); do
	rfill
	timed redis_cachectl redis_cachectl
	cat "$work/rss.tmp" >>"$work/rss.redis"
	read -r m d < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["matched"], j["deleted"])' "$work/out.json")
	echo "bench: redis run $i: cachectl $(last redis_cachectl)s (matched $m, deleted $d, peak RSS $(cat "$work/rss.tmp") KiB)" >&2
	{ [ "$m" = "$rhalf" ] && [ "$d" = "$rhalf" ]; } || fail "redis cachectl run $i reported matched $m deleted $d (want $rhalf)"
	rcheck "cachectl run $i"

	rfill
	timed redis_pipeline redis_pipeline
	echo "bench: redis run $i: redis-cli --scan | xargs unlink $(last redis_pipeline)s" >&2
	rcheck "redis-cli pipeline run $i"

	rfill
	timed redis_floor redis_floor
	nk=$(wc -l <"$work/floor.keys")
	echo "bench: redis run $i: floor (Lua SCAN + --pipe UNLINK) $(last redis_floor)s [scan, format, pipe: $(tail -1 "$work/floor.parts")]" >&2
	[ "$nk" = "$rhalf" ] || fail "redis floor run $i: Lua SCAN returned $nk keys (want $rhalf)"
	grep -q "errors: 0, replies: $((rhalf / 1000))" "$work/floor.out" ||
		fail "redis floor run $i: redis-cli --pipe said: $(tr '\n' ' ' <"$work/floor.out")"
	rcheck "floor run $i"
done

# Where cachectl's time goes: its listing alone (SCAN MATCH COUNT 1000 pages,
# no deletes) on the same full keyspace; nothing is deleted, so one fill.
rfill
for i in $(seq "$runs"); do
	timed redis_keys_only sh -c "'$cachectl' -u '$rurl' keys 'inv:*' >/dev/null"
done
kill "$(cat "$work/redis.pid")" 2>/dev/null || true

########################################################################
# Memcached
########################################################################
user=()
[ "$(id -u)" -eq 0 ] && user=(-u root)

mc_stop() {
	local pid
	pid=$(cat "$work/mc.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	rm -f "$work/mc.pid"
}
# mc_start: a fresh memcached on a new free port.
mc_start() {
	mc_stop
	mport=$(free_port)
	memcached -l 127.0.0.1 -p "$mport" -U 0 -m 1024 "${user[@]}" -d -P "$work/mc.pid"
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $mport))" 2>/dev/null && break
		sleep 0.1
	done
	murl="memcached://127.0.0.1:$mport"
	mhost="127.0.0.1:$mport"
}
# mc_fill: inv:%09d and keep:%09d, $mhalf each, pipelined quiet meta sets.
mc_fill() {
	python3 - "$mport" "$mhalf" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
def send(batch):
    s.sendall(b"".join(batch) + b"mn\r\n")
    buf = b""
    while not buf.endswith(b"MN\r\n"):
        r = s.recv(65536)
        if not r:
            sys.exit("fill: the server closed the connection")
        buf += r
    if buf != b"MN\r\n":
        sys.exit("fill: " + buf[:200].decode(errors="replace"))
batch = []
for i in range(n):
    for prefix in (b"inv", b"keep"):
        batch.append(b"ms %s:%09d 12 q\r\nvalue-%06d\r\n" % (prefix, i, i % 1000000))
    if len(batch) >= 10000:
        send(batch)
        batch = []
if batch:
    send(batch)
PY
}
mc_items() {
	python3 - "$mport" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"stats\r\n")
b = b""
while not b.endswith(b"END\r\n"):
    b += s.recv(65536)
print([l.split()[2] for l in b.decode().splitlines() if l.startswith("STAT curr_items ")][0])
PY
}
# mc_list: "ALL INV KEEP" distinct keys in a full memcached-tool listing.
mc_list() {
	"$tool" "$mhost" keys 2>/dev/null | awk '
		!seen[$1]++ { all++; if ($1 ~ /^key=inv%3A/) inv++; else if ($1 ~ /^key=keep%3A/) keep++ }
		END { print all + 0, inv + 0, keep + 0 }'
}
# mc_settle: wait until a full listing shows every key of the fill.
mc_settle() {
	local all inv keep
	for try in $(seq 40); do
		read -r all inv keep < <(mc_list)
		[ "$all" = "$mtotal" ] && return 0
		sleep 0.25
	done
	echo "bench: memcached listing never showed all $mtotal keys (last: $all)" >&2
	exit 1
}
# mc_check NAME: exactly the 100,000 keep:* keys must remain. curr_items is
# exact; the listing (not a snapshot) is retried a few times.
mc_check() {
	local items all inv keep
	items=$(mc_items)
	for _ in 1 2 3; do
		read -r all inv keep < <(mc_list)
		{ [ "$all" = "$mhalf" ] && [ "$keep" = "$mhalf" ] && [ "$inv" = 0 ]; } && break
		sleep 0.25
	done
	if [ "$items" = "$mhalf" ] && [ "$keep" = "$mhalf" ] && [ "$inv" = 0 ]; then
		echo "bench:   $1: ok (curr_items $items, listed keep:* $keep, inv:* $inv)" >&2
		return 0
	fi
	fail "memcached $1: curr_items $items, listed keep:* $keep, inv:* left $inv (want $mhalf, $mhalf, 0)"
	return 1
}

# a. cachectl
mc_cachectl() {
	/usr/bin/time -o "$work/rss.tmp" -f %M "$cachectl" -u "$murl" -o json invalidate 'inv:*' --yes >"$work/out.json"
}
# b. memcached-tool keys | keep the inv keys (":" comes percent-encoded as %3A) | memcrm
mc_pipeline() {
	"$tool" "$mhost" keys 2>/dev/null |
		sed -n '/^key=inv%3A/{s/^key=\([^ ]*\) .*/\1/;s/%3A/:/g;p}' |
		xargs -n 1000 memcrm --servers="$mhost"
}

echo "bench: $(memcached -V): $mtotal keys, $mhalf match 'inv:*'; $runs runs each, a fresh server per run" >&2
for i in $(seq "$runs"); do
	mc_start
	mc_fill
	mc_settle
	timed mc_cachectl mc_cachectl
	cat "$work/rss.tmp" >>"$work/rss.mc"
	read -r m d < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["matched"], j["deleted"])' "$work/out.json")
	echo "bench: memcached run $i: cachectl $(last mc_cachectl)s (matched $m, deleted $d, peak RSS $(cat "$work/rss.tmp") KiB)" >&2
	if ! mc_check "cachectl run $i"; then
		# Untimed: does a second pass pick up what the first one's crawl missed?
		s2=$(date +%s.%N)
		"$cachectl" -u "$murl" -o json invalidate 'inv:*' --yes >"$work/out2.json"
		e2=$(date +%s.%N)
		read -r d2 < <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deleted"])' "$work/out2.json")
		note "memcached cachectl run $i: one pass reported matched=deleted=$d (want $mhalf) and left $((mhalf - d)) inv:* keys; a second pass (not in the timings) deleted $d2 in $(awk -v s="$s2" -v e="$e2" 'BEGIN { printf "%.3f", e - s }')s, then curr_items $(mc_items)"
	fi

	mc_start
	mc_fill
	mc_settle
	timed mc_pipeline mc_pipeline
	echo "bench: memcached run $i: memcached-tool | xargs memcrm $(last mc_pipeline)s" >&2
	mc_check "memcrm pipeline run $i" || true
done
mc_stop

########################################################################
# Summary
########################################################################
python3 - "$work" "$runs" <<'PY'
import os, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def times(name):
    return [float(x) for x in open(os.path.join(work, "t." + name)).read().split()]
def med(name):
    return statistics.median(times(name))
def kib(name):
    return [int(x) for x in open(os.path.join(work, name)).read().split()]
parts = [list(map(float, l.split())) for l in open(os.path.join(work, "floor.parts"))]
rows = [
    ("redis", "a. cachectl invalidate 'inv:*' --yes", "redis_cachectl"),
    ("redis", "b. redis-cli --scan | xargs -n1000 redis-cli unlink", "redis_pipeline"),
    ("redis", "c. floor: Lua SCAN to file + --pipe UNLINK", "redis_floor"),
    ("parts", "", ""),
    ("redis", "   (cachectl keys 'inv:*', listing only)", "redis_keys_only"),
    ("memcached", "a. cachectl invalidate 'inv:*' --yes", "mc_cachectl"),
    ("memcached", "b. memcached-tool keys | sed | xargs -n1000 memcrm", "mc_pipeline"),
]
print()
print(f"{'':10} {'command':52} {'median s':>9}  runs")
for srv, label, name in rows:
    if srv == "parts":
        fs = [statistics.median(p[i] for p in parts) for i in range(3)]
        print(f"{'':10} {'   = Lua SCAN + awk to RESP + redis-cli --pipe':52} "
              f"{fs[0]:9.3f} + {fs[1]:.3f} + {fs[2]:.3f}")
        continue
    ts = times(name)
    print(f"{srv:10} {label:52} {med(name):9.3f}  " + " ".join(f"{t:.3f}" for t in ts))

c, p, f = med("redis_cachectl"), med("redis_pipeline"), med("redis_floor")
mc, mp = med("mc_cachectl"), med("mc_pipeline")
rss_r, rss_m = max(kib("rss.redis")) / 1024, max(kib("rss.mc")) / 1024
def verdict(ok):
    return "met" if ok else "MISSED"
print()
print(f"{'figure':52} {'value':>10} {'target':>10}  verdict")
for label, val, target, ok in [
    ("redis: redis-cli pipeline / cachectl", f"{p / c:.2f}x", ">= 4x", p / c >= 4),
    ("redis: cachectl / floor", f"{c / f:.2f}x", "<= 1.5x", c / f <= 1.5),
    ("redis: cachectl peak RSS (max of runs)", f"{rss_r:.1f} MiB", "< 64 MiB", rss_r < 64),
    ("memcached: memcrm pipeline / cachectl", f"{mp / mc:.2f}x", ">= 15x", mp / mc >= 15),
    ("memcached: cachectl peak RSS (max of runs)", f"{rss_m:.1f} MiB", "-", None),
]:
    print(f"{label:52} {val:>10} {target:>10}  {'-' if ok is None else verdict(ok)}")

fails = os.path.join(work, "failures")
notes = os.path.join(work, "notes")
print()
if os.path.exists(fails):
    print("correctness checks FAILED:")
    for l in open(fails):
        print("  " + l.rstrip())
else:
    print("correctness checks: all passed (after every run exactly the non-matching keys remained)")
if os.path.exists(notes):
    print("notes:")
    for l in open(notes):
        print("  " + l.rstrip())
PY

[ "$fails" = 0 ]
