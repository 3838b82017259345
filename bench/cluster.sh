#!/usr/bin/env bash
# Benchmark: `cachectl invalidate PATTERN --yes` on a Redis Cluster against the
# per-primary expert pipeline and against cachectl on one standalone server
# holding the same keys, refilled before every run (the fill is never timed),
# in one run.
#
#   bench/cluster.sh             (RUNS=3 timed runs per command, median shown)
#
# The cluster is 3 primaries with one replica each, as in production (every
# UNLINK a primary executes is also streamed to and applied by its replica),
# started by scripts/test-servers.sh cluster without ACL. 400,000 keys, inv:N
# and keep:N (N < 200,000; no hash tags, so they spread over all 16384 slots),
# 200,000 of them match 'inv:*'. Each primary is filled with exactly the keys
# of the slots it owns (CRC16 of the key mod 16384, computed here) through
# redis-cli --pipe; a key sent to the wrong primary would be refused with
# MOVED, and the fill checks that no command failed. After every fill the
# replicas are waited for until their replication offset equals their
# primary's, so no timed run competes with the fill's replication.
#   a. cachectl -u redis+cluster://… -o json invalidate 'inv:*' --yes
#      (its JSON must say matched = deleted = 200,000, nothing unconfirmed)
#   b. the per-primary expert pipeline, one primary after another:
#      redis-cli -p P --scan --pattern 'inv:*' | sed 's/^/UNLINK /' |
#      redis-cli -p P --pipe      (for each primary P)
#   c. cachectl -u redis://… -o json invalidate 'inv:*' --yes against ONE
#      standalone redis-server (no replica) holding the same 400,000 keys
#   After each: on the cluster, the DBSIZEs of the primaries sum to 200,000, a
#   server-side SCAN of each primary finds no inv:* key and 200,000 keys in
#   all, and once replication settles every replica holds as many keys as its
#   primary; on the standalone server, DBSIZE and a server-side SCAN show
#   exactly the 200,000 keep:* keys.
# Listing (nothing deleted, one fill): `cachectl keys 'inv:*' | wc -l` on the
# cluster against the per-primary `redis-cli -p P --scan --pattern 'inv:*' |
# wc -l`, one primary after another; both must count 200,000. The same
# cachectl listing on the standalone server is shown for reference.
#
# Timing is date +%s.%N around each command (every run needs a refill before
# it and a check after it). cachectl runs under /usr/bin/time for its peak RSS.
# The cluster and the standalone server are this script's own, on free
# loopback ports (nothing else is touched), stopped on exit. A failed check is
# reported, the run goes on, and the script exits 1 at the end.
# Needs redis-server, redis-cli, python3, GNU time, go, and a
# scripts/test-servers.sh that has the cluster command
# (CACHECTL_BENCH_TEST_SERVERS=PATH runs another copy of it).
set -euo pipefail

runs=${RUNS:-3}
total=400000
half=$((total / 2))
root=$(cd "$(dirname "$0")/.." && pwd)
servers=${CACHECTL_BENCH_TEST_SERVERS:-$root/scripts/test-servers.sh}
work=$(mktemp -d)
cstate=
cleanup() {
	kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true
	if [ -n "$cstate" ]; then
		"$servers" stop "$cstate" 2>/dev/null || echo "bench: could not stop the cluster in $cstate" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

for t in redis-server redis-cli python3 go awk sed /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench: $t is required" >&2; exit 1; }
done
grep -q CACHECTL_TEST_CLUSTER_AUTH "$servers" 2>/dev/null || {
	echo "bench: $servers has no 'cluster' command (CACHECTL_TEST_CLUSTER_AUTH); set CACHECTL_BENCH_TEST_SERVERS to one that has" >&2
	exit 1
}

# No user config or context may change what -u URL means (read-only, production).
export XDG_CONFIG_HOME="$work/xdg"
unset CACHECTL_CONFIG CACHECTL_CONTEXT

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

echo "bench: building cachectl" >&2
go build -C "$root" -o "$work/cachectl" ./cmd/cachectl
cachectl="$work/cachectl"

########################################################################
# The cluster, the standalone server, the key files
########################################################################
echo "bench: starting a 3-primary, 3-replica Redis Cluster (no ACL)" >&2
CACHECTL_TEST_STATE="$work/servers" CACHECTL_TEST_CLUSTER_AUTH=0 \
	CACHECTL_TEST_CLUSTER_PRIMARIES=3 CACHECTL_TEST_CLUSTER_REPLICAS=1 \
	"$servers" cluster >"$work/cluster.env"
# shellcheck disable=SC1091
. "$work/cluster.env"
cstate=$CACHECTL_TEST_CLUSTER_STATE
cluster_url=$CACHECTL_TEST_CLUSTER_URL
first=${CACHECTL_TEST_CLUSTER_ADDRS%%,*}

# The topology, once: "P SLOT-RANGE..." per primary in $work/primaries and
# "R P" per replica in $work/replicas (ports on 127.0.0.1).
redis-cli -p "${first##*:}" cluster nodes | tr -d '\r' | awk -v prim="$work/primaries" -v repl="$work/replicas" '
	NF >= 8 {
		addr = $2; sub(/[@,].*/, "", addr); sub(/.*:/, "", addr)
		port[$1] = addr; flags[$1] = $3; of[$1] = $4
		s = ""; for (i = 9; i <= NF; i++) s = s " " $i
		slots[$1] = s
	}
	END {
		for (id in port) {
			if (flags[id] ~ /(^|,)master(,|$)/) print port[id] slots[id] > prim
			else print port[id], port[of[id]] > repl
		}
	}'
mapfile -t pports < <(awk '{ print $1 }' "$work/primaries" | sort -n)
[ "${#pports[@]}" = 3 ] || { echo "bench: want 3 primaries, CLUSTER NODES shows ${#pports[@]}" >&2; exit 1; }
[ "$(wc -l <"$work/replicas")" = 3 ] || { echo "bench: want 3 replicas, CLUSTER NODES shows $(wc -l <"$work/replicas")" >&2; exit 1; }

# The fill files: for each primary the SETs of exactly the keys whose slot it
# owns (fill.P.resp), and all of them for the standalone server (fill.all.resp).
# $work/counts: "P KEYS INV" per primary.
python3 - "$work" "$half" <<'PY'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
# CRC16-XMODEM (poly 0x1021, init 0), the cluster's key hash.
table = []
for i in range(256):
    c = i << 8
    for _ in range(8):
        c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
    table.append(c & 0xFFFF)
def slot(key):
    # Hash tags: a non-empty {…} means only its inside is hashed.
    o = key.find(b"{")
    if o >= 0:
        e = key.find(b"}", o + 1)
        if e > o + 1:
            key = key[o + 1:e]
    c = 0
    for b in key:
        c = ((c << 8) & 0xFFFF) ^ table[(c >> 8) ^ b]
    return c & 16383
assert slot(b"123456789") == 12739  # the specification's test vector
owner = [None] * 16384
for line in open(os.path.join(work, "primaries")):
    f = line.split()
    for r in f[1:]:
        lo, _, hi = r.partition("-")
        for s in range(int(lo), int(hi or lo) + 1):
            owner[s] = f[0]
assert None not in owner, "a slot has no primary"
out = {p: [] for p in set(owner)}
inv = {p: 0 for p in out}
for prefix in (b"inv", b"keep"):
    for i in range(n):
        k = b"%s:%d" % (prefix, i)
        v = b"value:%d" % i
        p = owner[slot(k)]
        out[p].append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
        if prefix == b"inv":
            inv[p] += 1
with open(os.path.join(work, "fill.all.resp"), "wb") as a, open(os.path.join(work, "counts"), "w") as c:
    for p in sorted(out, key=int):
        data = b"".join(out[p])
        open(os.path.join(work, "fill.%s.resp" % p), "wb").write(data)
        a.write(data)
        print(p, len(out[p]), inv[p], file=c)
with open(os.path.join(work, "slots.sample"), "w") as f:
    for i in (0, 1, 9999, 123456, n - 1):
        for prefix in (b"inv", b"keep"):
            k = b"%s:%d" % (prefix, i)
            print(k.decode(), slot(k), file=f)
PY
# The client-side slots must be the server's: the sample against CLUSTER KEYSLOT.
while read -r k want; do
	got=$(redis-cli -p "${pports[0]}" cluster keyslot "$k")
	[ "$got" = "$want" ] || { echo "bench: slot of $k: server $got, computed $want" >&2; exit 1; }
done <"$work/slots.sample"
while read -r p nk ni; do
	echo "bench:   primary 127.0.0.1:$p (slots $(grep "^$p " "$work/primaries" | cut -d' ' -f2-)): $nk keys, $ni inv:*, replica 127.0.0.1:$(awk -v p="$p" '$2 == p { print $1 }' "$work/replicas")" >&2
done <"$work/counts"

sport=$(free_port)
redis-server --port "$sport" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$sport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
surl="redis://127.0.0.1:$sport/0"

# The CPU seconds the servers spent in each timed run (INFO cpu before and
# after it), "PORT ROLE" per server in $work/roles.
{
	for p in "${pports[@]}"; do echo "$p primary"; done
	awk '{ print $1, "replica" }' "$work/replicas"
	echo "$sport standalone"
} >"$work/roles"
node_cpu() {
	local p role
	while read -r p role; do
		printf '%s %s ' "$p" "$role"
		redis-cli -p "$p" info cpu | tr -d '\r' | awk -F: '$1 == "used_cpu_user" || $1 == "used_cpu_sys" { s += $2 } END { printf "%.3f\n", s }'
	done <"$work/roles"
}
# The client's CPU: what this shell's finished children used (the times
# builtin, run in this shell: a subshell would start from zero), in seconds.
child_cpu() {
	awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}
# measured NAME: timed NAME NAME, with the client's and the servers' CPU
# around it: "CLIENT BUSIEST-PRIMARY PRIMARIES REPLICAS" appended to $work/cpu.NAME.
measured() {
	node_cpu >"$work/cpu.before"
	times >"$work/times.before"
	timed "$1" "$1"
	times >"$work/times.after"
	node_cpu >"$work/cpu.after"
	paste "$work/cpu.before" "$work/cpu.after" | awk -v c0="$(child_cpu "$work/times.before")" -v c1="$(child_cpu "$work/times.after")" '
		{ d = $6 - $3 }
		$2 == "primary" || $2 == "standalone" { if (d > pmax) pmax = d; psum += d }
		$2 == "replica" { rsum += d }
		END { printf "%.3f %.3f %.3f %.3f\n", c1 - c0, pmax, psum, rsum }' >>"$work/cpu.$1"
}

# pipe_ok FILE WANT: redis-cli --pipe's summary in FILE says no error and WANT replies.
pipe_ok() { grep -q "errors: 0, replies: $2\$" "$1"; }

# synced P: every replica of primary P has applied all of P's replication stream.
synced() {
	redis-cli -p "$1" info replication | tr -d '\r' | awk -F: '
		$1 == "master_repl_offset" { m = $2 }
		$1 ~ /^slave[0-9]+$/ { n++; o[n] = match($2, /offset=[0-9]+/) ? substr($2, RSTART + 7, RLENGTH - 7) : -1 }
		END { if (n < 1) exit 1; for (i = 1; i <= n; i++) if (o[i] != m) exit 1 }'
}
settle() {
	local p deadline=$((SECONDS + 60))
	for p in "${pports[@]}"; do
		until synced "$p"; do
			[ "$SECONDS" -lt "$deadline" ] || { echo "bench: the replica of 127.0.0.1:$p did not catch up" >&2; exit 1; }
			sleep 0.05
		done
	done
}

# cfill: the cluster holds exactly the 400,000 keys, each on its slot's
# primary, and the replicas have caught up.
cfill() {
	local p nk ni sum=0 pids=()
	for p in "${pports[@]}"; do redis-cli -p "$p" flushall sync >/dev/null; done
	for p in "${pports[@]}"; do
		redis-cli -p "$p" --pipe <"$work/fill.$p.resp" >"$work/fill.$p.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { echo "bench: a cluster fill failed" >&2; exit 1; }; done
	while read -r p nk ni; do
		pipe_ok "$work/fill.$p.out" "$nk" || { echo "bench: fill of 127.0.0.1:$p: $(tr '\n' ' ' <"$work/fill.$p.out")" >&2; exit 1; }
		sum=$((sum + $(redis-cli -p "$p" dbsize)))
	done <"$work/counts"
	[ "$sum" = "$total" ] || { echo "bench: cluster fill made $sum keys, want $total" >&2; exit 1; }
	settle
}
sfill() {
	redis-cli -p "$sport" flushall sync >/dev/null
	redis-cli -p "$sport" --pipe <"$work/fill.all.resp" >"$work/fill.s.out" 2>&1
	pipe_ok "$work/fill.s.out" "$total" || { echo "bench: standalone fill: $(tr '\n' ' ' <"$work/fill.s.out")" >&2; exit 1; }
	[ "$(redis-cli -p "$sport" dbsize)" = "$total" ] || { echo "bench: standalone fill made $(redis-cli -p "$sport" dbsize) keys" >&2; exit 1; }
}


# ccheck NAME: exactly the 200,000 keep:* keys remain across the primaries,
# and (once replication settles) on the replicas.
ccheck() {
	local p r dsum=0 asum=0 bad='' d all inv detail=''
	for p in "${pports[@]}"; do
		d=$(redis-cli -p "$p" dbsize)
		read -r all inv <<<"$(redis-cli -p "$p" eval "$count_lua" 0 | tr '\n' ' ')"
		dsum=$((dsum + d)) asum=$((asum + all))
		detail="$detail $p:$d/$inv"
		[ "$inv" = 0 ] || bad="$bad 127.0.0.1:$p still has $inv inv:* keys;"
	done
	settle
	while read -r r p; do
		[ "$(redis-cli -p "$r" dbsize)" = "$(redis-cli -p "$p" dbsize)" ] ||
			bad="$bad replica 127.0.0.1:$r holds $(redis-cli -p "$r" dbsize) keys, its primary $(redis-cli -p "$p" dbsize);"
	done <"$work/replicas"
	[ "$dsum" = "$half" ] || bad="$bad primaries' DBSIZE sum $dsum (want $half);"
	[ "$asum" = "$half" ] || bad="$bad primaries' SCAN found $asum keys (want $half);"
	if [ -z "$bad" ]; then
		echo "bench:   $1: ok (DBSIZE sum $dsum, scanned $asum, per primary dbsize/inv:*$detail, replicas agree)" >&2
	else
		fail "cluster $1:$bad"
	fi
}
# scheck NAME: exactly the 200,000 keep:* keys remain on the standalone server.
scheck() {
	local dbsize all inv
	dbsize=$(redis-cli -p "$sport" dbsize)
	read -r all inv <<<"$(redis-cli -p "$sport" eval "$count_lua" 0 | tr '\n' ' ')"
	if [ "$dbsize" = "$half" ] && [ "$all" = "$half" ] && [ "$inv" = 0 ]; then
		echo "bench:   $1: ok (dbsize $dbsize, scanned $all, inv:* left $inv)" >&2
	else
		fail "standalone $1: dbsize $dbsize, scanned $all, inv:* left $inv (want $half, $half, 0)"
	fi
}
# jcheck NAME: cachectl's JSON says matched = deleted = 200,000, none unconfirmed.
jcheck() {
	local m d u
	read -r m d u < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["matched"], j["deleted"], j.get("unconfirmed", 0))' "$work/out.json")
	echo "bench: run $i: $1 $(last "$2")s (matched $m, deleted $d, unconfirmed $u, peak RSS $(cat "$work/rss.tmp") KiB)" >&2
	{ [ "$m" = "$half" ] && [ "$d" = "$half" ] && [ "$u" = 0 ]; } ||
		fail "$1 run $i reported matched $m deleted $d unconfirmed $u (want $half, $half, 0)"
}

########################################################################
# The runs
########################################################################
# a. cachectl on the cluster
cluster_cachectl() {
	rm -f "$work/out.json" "$work/rss.tmp"
	/usr/bin/time -o "$work/rss.tmp" -f %M "$cachectl" -u "$cluster_url" -o json invalidate 'inv:*' --yes >"$work/out.json"
}
# b. the expert pipeline, one primary after another (redis-cli --scan uses
# the server's default COUNT 10; each primary is sent only its own keys).
cluster_pipeline() {
	local p
	rm -f "$work"/pipe.*.out # no summary of an earlier run may pass for this one's
	for p in "${pports[@]}"; do
		redis-cli -p "$p" --scan --pattern 'inv:*' | sed 's/^/UNLINK /' | redis-cli -p "$p" --pipe >"$work/pipe.$p.out"
	done
}
# c. cachectl on the standalone server
single_cachectl() {
	rm -f "$work/out.json" "$work/rss.tmp"
	/usr/bin/time -o "$work/rss.tmp" -f %M "$cachectl" -u "$surl" -o json invalidate 'inv:*' --yes >"$work/out.json"
}

# Other work on the machine shows in every figure: say how busy it was.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: redis $(redis-server --version | grep -o 'v=[0-9.]*'), $(nproc) cores, load average $load_before: $total keys, $half match 'inv:*'; $runs runs each" >&2
for i in $(seq "$runs"); do
	cfill
	measured cluster_cachectl
	cat "$work/rss.tmp" >>"$work/rss.cluster"
	jcheck "cluster cachectl" cluster_cachectl
	ccheck "cachectl run $i"

	cfill
	measured cluster_pipeline
	echo "bench: run $i: per-primary redis-cli --scan | sed | redis-cli --pipe $(last cluster_pipeline)s" >&2
	while read -r p nk ni; do
		pipe_ok "$work/pipe.$p.out" "$ni" || fail "pipeline run $i on 127.0.0.1:$p: $(tr '\n' ' ' <"$work/pipe.$p.out") (want $ni replies, no error)"
	done <"$work/counts"
	ccheck "pipeline run $i"

	sfill
	measured single_cachectl
	cat "$work/rss.tmp" >>"$work/rss.single"
	jcheck "standalone cachectl" single_cachectl
	scheck "standalone cachectl run $i"
done

# Listing only: nothing is deleted, so one fill of each.
lcount() { # NAME: the count a listing wrote to $work/count.NAME must be $half
	[ "$(tr -d ' ' <"$work/count.$1")" = "$half" ] || fail "listing $1 counted $(cat "$work/count.$1") keys (want $half)"
}
cluster_keys() { "$cachectl" -u "$cluster_url" keys 'inv:*' | wc -l >"$work/count.cluster_keys"; }
cluster_scan() {
	local p
	for p in "${pports[@]}"; do redis-cli -p "$p" --scan --pattern 'inv:*'; done | wc -l >"$work/count.cluster_scan"
}
single_keys() { "$cachectl" -u "$surl" keys 'inv:*' | wc -l >"$work/count.single_keys"; }
cfill
sfill
for i in $(seq "$runs"); do
	for name in cluster_keys cluster_scan single_keys; do
		measured "$name"
		lcount "$name"
	done
	echo "bench: listing run $i: cachectl keys (cluster) $(last cluster_keys)s, per-primary redis-cli --scan $(last cluster_scan)s, cachectl keys (standalone) $(last single_keys)s" >&2
done

########################################################################
# Summary
########################################################################
python3 - "$work" "$(nproc)" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import os, statistics, sys
work = sys.argv[1]
print()
print(f"machine: {sys.argv[2]} cores; load average (1, 5, 15 min) {sys.argv[3]} at the start, {sys.argv[4]} at the end")
def times(name):
    return [float(x) for x in open(os.path.join(work, "t." + name)).read().split()]
def med(name):
    return statistics.median(times(name))
def mib(name):
    return max(int(x) for x in open(os.path.join(work, name)).read().split()) / 1024
def cpu(name):
    # client, the busiest primary, all primaries, all replicas: medians
    rows = [list(map(float, l.split())) for l in open(os.path.join(work, "cpu." + name))]
    return [statistics.median(r[i] for r in rows) for i in range(4)]
rows = [
    ("a. cluster: cachectl invalidate 'inv:*' --yes", "cluster_cachectl"),
    ("b. cluster: per primary, --scan | sed UNLINK | --pipe", "cluster_pipeline"),
    ("c. standalone: cachectl invalidate 'inv:*' --yes", "single_cachectl"),
    ("   cluster: cachectl keys 'inv:*' | wc -l", "cluster_keys"),
    ("   cluster: per primary, redis-cli --scan | wc -l", "cluster_scan"),
    ("   standalone: cachectl keys 'inv:*' | wc -l", "single_keys"),
]
print()
print(f"{'command':56} {'median s':>9}  runs")
for label, name in rows:
    print(f"{label:56} {med(name):9.3f}  " + " ".join(f"{t:.3f}" for t in times(name)))
print()
print("CPU seconds during the runs (medians): the client's (every process of the")
print("command: cachectl, or redis-cli, sed, wc), the busiest primary's, all")
print("primaries' (or the standalone server's), all replicas'; floor: all of it")
print("over the cores, the least wall time this machine allows for that work")
cores = int(sys.argv[2])
print(f"{'command':56} {'client':>7} {'busiest':>8} {'primaries':>9} {'replicas':>8} {'floor':>6}")
for label, name in rows:
    c, pmax, psum, rsum = cpu(name)
    print(f"{label:56} {c:7.3f} {pmax:8.3f} {psum:9.3f} {rsum:8.3f} {(c + psum + rsum) / cores:6.3f}")
a, b, c = med("cluster_cachectl"), med("cluster_pipeline"), med("single_cachectl")
ka, kb = med("cluster_keys"), med("cluster_scan")
ra, rc = mib("rss.cluster"), mib("rss.single")
print()
print(f"{'figure':56} {'value':>10} {'target':>10}  verdict")
for label, val, target, ok in [
    ("b / a: per-primary pipeline / cachectl on the cluster", f"{b / a:.2f}x", ">= 4x", b / a >= 4),
    ("a / c: cachectl, cluster / standalone", f"{a / c:.2f}x", "-", None),
    ("listing: per-primary redis-cli --scan / cachectl keys", f"{kb / ka:.2f}x", "-", None),
    ("a: cachectl peak RSS on the cluster (max of runs)", f"{ra:.1f} MiB", "< 64 MiB", ra < 64),
    ("c: cachectl peak RSS standalone (max of runs)", f"{rc:.1f} MiB", "< 64 MiB", rc < 64),
]:
    print(f"{label:56} {val:>10} {target:>10}  {'-' if ok is None else ('met' if ok else 'MISSED')}")
print()
fails = os.path.join(work, "failures")
if os.path.exists(fails):
    print("correctness checks FAILED:")
    for l in open(fails):
        print("  " + l.rstrip())
else:
    print("correctness checks: all passed (after every run exactly the 200,000 keep:* keys remained)")
PY

[ "$fails" = 0 ]
