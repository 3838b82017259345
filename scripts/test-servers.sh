#!/usr/bin/env bash
# Start and stop throwaway redis-server and memcached instances for the tests.
#
#   eval "$(scripts/test-servers.sh start)"   # prints export lines on stdout
#   scripts/test-servers.sh stop [DIR]        # DIR defaults to $CACHECTL_TEST_STATE
#
# start installs redis-server, redis-tools and memcached with apt-get when they
# are missing (root only), picks free loopback ports, starts both servers in a
# fresh state directory and waits until they answer. stdout carries ONLY the
# eval-able lines
#   export CACHECTL_TEST_REDIS_URL=redis://127.0.0.1:PORT
#   export CACHECTL_TEST_MEMCACHED_ADDR=127.0.0.1:PORT  (and more: see cmd_start)
#   export CACHECTL_TEST_STATE=DIR
# and everything else goes to stderr. Every start makes independent servers.
#
# stop kills only the processes named by the pid files in DIR (never by name:
# other redis/memcached instances on the machine are left alone) and removes DIR.
#
# Servers only ever bind 127.0.0.1.
set -euo pipefail

readonly MARKER=.cachectl-test-servers
readonly WAIT_SECONDS=${CACHECTL_TEST_WAIT:-10}
readonly PORT_ATTEMPTS=5

# All progress goes to stderr; fd 3 is the real stdout for the export lines.
exec 3>&1 1>&2

log() { printf 'test-servers: %s\n' "$*" >&2; }
die() {
	printf 'test-servers: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<'EOF'
usage: scripts/test-servers.sh start        start redis-server + memcached, print export lines
       scripts/test-servers.sh stop [DIR]   stop the servers of DIR ($CACHECTL_TEST_STATE) and remove it
EOF
}

# ---------------------------------------------------------------- install

ensure_installed() {
	local missing=() pkgs=()
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	command -v redis-cli >/dev/null 2>&1 || missing+=(redis-cli)
	command -v memcached >/dev/null 2>&1 || missing+=(memcached)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v nutcracker >/dev/null 2>&1 || missing+=(nutcracker)
	((${#missing[@]} == 0)) && return 0

	local m
	for m in "${missing[@]}"; do
		case $m in
		redis-server) pkgs+=(redis-server redis-tools) ;;
		redis-cli) pkgs+=(redis-tools) ;;
		memcached) pkgs+=(memcached) ;;
		openssl) pkgs+=(openssl) ;;
		nutcracker) pkgs+=(nutcracker) ;;
		esac
	done
	# de-duplicate
	read -r -a pkgs <<<"$(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')"

	if [[ $(id -u) -ne 0 ]]; then
		die "missing ${missing[*]}; install them (apt-get install ${pkgs[*]}) or run this script as root so it can"
	fi
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available to install ${pkgs[*]}"

	log "installing ${pkgs[*]} with apt-get"
	# Keep the packages' own services (port 6379/11211) from being started by
	# the install, unless the admin already has a policy in place.
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
	fi
	local rc=0
	{
		DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
				"${pkgs[@]}" </dev/null
	} || rc=$?
	((made_policy)) && rm -f "$policy"
	((rc == 0)) || die "apt-get install ${pkgs[*]} failed (exit $rc)"

	for m in redis-server redis-cli memcached openssl nutcracker; do
		command -v "$m" >/dev/null 2>&1 || die "$m is still missing after installing ${pkgs[*]}"
	done
}

# ---------------------------------------------------------------- ports

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port: print a loopback port that is free right now. Prefers letting the
# kernel choose (python3, bind to port 0); otherwise probes random ports below
# the usual ephemeral range. The caller retries if it races with someone else.
free_port() {
	local p i
	if command -v python3 >/dev/null 2>&1; then
		if p=$(python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]] && ! port_in_use "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	fi
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if ! port_in_use "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	die "could not find a free port on 127.0.0.1"
}

# ---------------------------------------------------------------- probes

# The probes run in subshells so the sockets they open never outlive them.

# answer PORT REQUEST: print the first line 127.0.0.1:PORT sends back to the
# text-protocol line REQUEST (nothing when it sends none within 2s).
answer() (
	out=
	{ exec 8<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || exit 1
	printf '%s\r\n' "$2" >&8
	IFS= read -r -t 2 out <&8 || out=
	printf '%s' "$out"
)

redis_ping() ( # PORT
	out=
	if command -v redis-cli >/dev/null 2>&1; then
		out=$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) || exit 1
		[[ $out == PONG ]]
	else
		out=$(answer "$1" PING) || exit 1
		[[ ${out%$'\r'} == +PONG ]]
	fi
)

memcached_version() ( # PORT
	[[ $(answer "$1" version) == VERSION* ]]
)

# alive PID: true when PID exists and is not a zombie.
alive() {
	local pid=$1 stat
	kill -0 "$pid" 2>/dev/null || return 1
	if [[ -r /proc/$pid/stat ]]; then
		stat=$(<"/proc/$pid/stat") 2>/dev/null || return 1
		stat=${stat##*) }
		[[ ${stat:0:1} != Z ]]
	else
		stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
		[[ $stat != Z* ]]
	fi
}

# pid_is NAME PID: true when PID is alive and runs program NAME.
pid_is() {
	local name=$1 pid=$2 comm=
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	if [[ -r /proc/$pid/comm ]]; then
		comm=$(<"/proc/$pid/comm")
	else
		comm=$(ps -o comm= -p "$pid" 2>/dev/null) || return 1
		comm=${comm##*/}
	fi
	[[ $comm == "$name"* ]]
}

# wait_up NAME PID PORT PROBE LOG: wait until PROBE PORT succeeds.
# Returns 0 when up, 2 when the port was taken (caller retries), 1 otherwise.
wait_up() {
	local name=$1 pid=$2 port=$3 probe=$4 logf=$5
	local deadline=$((SECONDS + WAIT_SECONDS))
	while ((SECONDS <= deadline)); do
		if ! alive "$pid"; then
			if grep -qi 'address already in use' "$logf" 2>/dev/null; then
				return 2
			fi
			log "$name (pid $pid) exited before answering on 127.0.0.1:$port; last lines of $logf:"
			tail -n 20 "$logf" >&2 || true
			return 1
		fi
		if "$probe" "$port"; then
			return 0
		fi
		sleep 0.1
	done
	log "$name (pid $pid) did not answer on 127.0.0.1:$port within ${WAIT_SECONDS}s; last lines of $logf:"
	tail -n 20 "$logf" >&2 || true
	return 1
}

# ---------------------------------------------------------------- start/stop

STATE=
cleanup_failed_start() {
	local rc=$?
	if ((rc != 0)) && [[ -n $STATE && -f $STATE/$MARKER ]]; then
		log "start failed; cleaning up $STATE"
		stop_dir "$STATE" || true
	fi
	return "$rc"
}

# redis_tls_ping PORT: PING over TLS with the test CA and client certificate.
redis_tls_ping() (
	out=$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" --tls --cacert "$STATE/tls/ca.pem" \
		--cert "$STATE/tls/client.pem" --key "$STATE/tls/client.key" ping 2>/dev/null) || exit 1
	[[ $out == PONG ]]
)

# make_certs: a throwaway CA, a server certificate for 127.0.0.1/localhost
# and a client certificate, for the TLS tests of rediss:// URLs.
make_certs() {
	local d=$STATE/tls
	mkdir -p "$d"
	(
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cachectl-test-ca \
			-keyout ca.key -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=cachectl-test-client -keyout client.key -out client.csr
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem
	) >"$d/openssl.log" 2>&1 || {
		tail -n 20 "$d/openssl.log" >&2
		die "could not make test certificates with openssl"
	}
}

# start_server NAME PORTVAR PROBE COMMAND [ARGS...]: run COMMAND on a free
# port, every PORT in it replaced by the port, and set PORTVAR to that port
# once PROBE answers; on another port when one was taken before it could bind.
start_server() {
	local name=$1 var=$2 probe=$3 attempt port pid rc a cmd
	shift 3
	for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
		port=$(free_port)
		cmd=()
		for a in "$@"; do cmd+=("${a//PORT/$port}"); done
		: >"$STATE/$name.log"
		"${cmd[@]}" </dev/null >>"$STATE/$name.log" 2>&1 3>&- &
		pid=$!
		printf '%s\n' "$pid" >"$STATE/$name.pid"
		rc=0
		wait_up "$name" "$pid" "$port" "$probe" "$STATE/$name.log" || rc=$?
		case $rc in
		0)
			log "$name pid $pid on 127.0.0.1:$port"
			printf -v "$var" '%s' "$port"
			return 0
			;;
		2)
			log "port $port was taken before $name could bind it; retrying"
			rm -f "$STATE/$name.pid"
			;;
		*)
			return 1
			;;
		esac
	done
	die "$name: gave up after $PORT_ATTEMPTS port attempts; see $STATE/$name.log"
}

# start_redis NAME PORTVAR PROBE [EXTRA ARGS...]: start one redis-server on a
# free port; EXTRA ARGS may use the placeholder PORT, replaced by the port.
start_redis() {
	local name=$1 var=$2 probe=$3
	shift 3
	start_server "$name" "$var" "$probe" redis-server \
		--bind 127.0.0.1 \
		--protected-mode yes \
		--databases 1024 \
		--save '' \
		--appendonly no \
		--daemonize no \
		--dir "$STATE" \
		--logfile '' \
		"$@"
}

# start_memcached NAME PORTVAR [EXTRA ARGS...]: start one memcached on a free port.
start_memcached() {
	local name=$1 var=$2 user=()
	shift 2
	# memcached refuses to run as root without -u.
	[[ $(id -u) -eq 0 ]] && user=(-u root)
	start_server "$name" "$var" memcached_version \
		memcached -l 127.0.0.1 -p PORT -U 0 -m 256 "${user[@]}" "$@"
}

# twemproxy_get PORT: twemproxy has no "version"; a get of a missing key answers END.
twemproxy_get() (
	[[ $(answer "$1" 'get cachectl-probe') == END* ]]
)

# start_twemproxy PORTVAR BACKEND_PORT: nutcracker (twemproxy) in front of one
# memcached: a proxy that speaks only the classic text protocol (no meta
# commands, no stats, no key listing), like memcached before 1.6.
start_twemproxy() {
	local var=$1 backend=$2 attempt port stats pid rc
	for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
		port=$(free_port)
		stats=$(free_port)
		printf '%s\n' "cachectl:" "  listen: 127.0.0.1:$port" "  hash: fnv1a_64" \
			"  distribution: ketama" "  timeout: 2000" "  auto_eject_hosts: false" \
			"  servers:" "   - 127.0.0.1:$backend:1" >"$STATE/twemproxy.yml"
		: >"$STATE/twemproxy.log"
		nutcracker -c "$STATE/twemproxy.yml" -s "$stats" -a 127.0.0.1 -o "$STATE/twemproxy.log" \
			-p "$STATE/twemproxy.nutpid" </dev/null >>"$STATE/twemproxy.log" 2>&1 3>&- &
		pid=$!
		printf '%s\n' "$pid" >"$STATE/twemproxy.pid"
		rc=0
		wait_up twemproxy "$pid" "$port" twemproxy_get "$STATE/twemproxy.log" || rc=$?
		case $rc in
		0)
			log "twemproxy pid $pid on 127.0.0.1:$port (memcached 127.0.0.1:$backend behind it)"
			printf -v "$var" '%s' "$port"
			return 0
			;;
		2) rm -f "$STATE/twemproxy.pid" ;;
		*) return 1 ;;
		esac
	done
	die "twemproxy: gave up after $PORT_ATTEMPTS port attempts; see $STATE/twemproxy.log"
}

cmd_start() {
	ensure_installed

	local base=${CACHECTL_TEST_STATE:-${TMPDIR:-/tmp}/cachectl-test-servers}
	# If CACHECTL_TEST_STATE names a state dir of an earlier start (it is
	# exported by that start), put the new one next to it, not inside it.
	if [[ -f $base/$MARKER ]]; then
		base=$(dirname "$base")
	fi
	mkdir -p "$base"
	STATE=$(mktemp -d "$base/run.XXXXXX")
	STATE=$(cd "$STATE" && pwd -P)
	: >"$STATE/$MARKER"
	trap cleanup_failed_start EXIT
	log "state dir $STATE"

	REDIS_PORT='' MEMCACHED_PORT='' TLS_PORT='' NOUNLINK_PORT=''
	MEMCACHED2_PORT='' NOCRAWLER_PORT='' NODUMP_PORT='' TWEMPROXY_PORT=''
	start_redis redis REDIS_PORT redis_ping --port PORT \
		--unixsocket "$STATE/redis.sock" --unixsocketperm 700
	# Stands in for Redis < 4, which has no UNLINK: deletes must fall back to DEL.
	start_redis redis-nounlink NOUNLINK_PORT redis_ping --port PORT --rename-command UNLINK ''
	make_certs
	start_redis redis-tls TLS_PORT redis_tls_ping --port 0 --tls-port PORT \
		--tls-cert-file "$STATE/tls/server.pem" --tls-key-file "$STATE/tls/server.key" \
		--tls-ca-cert-file "$STATE/tls/ca.pem" --tls-auth-clients yes
	# Without the LRU maintainer, items never move between LRU segments, so a
	# metadump right after writes lists every key: listings in tests are exact.
	# (With the default maintainer a crawl can miss items it moves meanwhile;
	# invalidate handles that by listing again, which bench/invalidate.sh
	# exercises on a default memcached.)
	start_memcached memcached MEMCACHED_PORT -o no_lru_maintainer
	# The second member of a two-server pool.
	start_memcached memcached2 MEMCACHED2_PORT -o no_lru_maintainer
	# Crawler off: key listing must fall back to stats cachedump. Without the
	# LRU maintainer every item sits in the one LRU cachedump walks (as on
	# memcached before 1.5), so the tests can expect every key listed.
	start_memcached memcached-nocrawler NOCRAWLER_PORT -o no_lru_crawler,no_lru_maintainer
	# -X: metadump and cachedump both refused; listing must fail cleanly.
	start_memcached memcached-nodump NODUMP_PORT -X
	start_twemproxy TWEMPROXY_PORT "$MEMCACHED2_PORT"

	cat >"$STATE/env" <<EOF
export CACHECTL_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export CACHECTL_TEST_REDIS_SOCKET=$(printf '%q' "$STATE/redis.sock")
export CACHECTL_TEST_REDIS_NOUNLINK_URL=redis://127.0.0.1:$NOUNLINK_PORT
export CACHECTL_TEST_REDIS_TLS_ADDR=127.0.0.1:$TLS_PORT
export CACHECTL_TEST_TLS_DIR=$(printf '%q' "$STATE/tls")
export CACHECTL_TEST_MEMCACHED_ADDR=127.0.0.1:$MEMCACHED_PORT
export CACHECTL_TEST_MEMCACHED2_ADDR=127.0.0.1:$MEMCACHED2_PORT
export CACHECTL_TEST_MEMCACHED_NOCRAWLER_ADDR=127.0.0.1:$NOCRAWLER_PORT
export CACHECTL_TEST_MEMCACHED_NODUMP_ADDR=127.0.0.1:$NODUMP_PORT
export CACHECTL_TEST_TWEMPROXY_ADDR=127.0.0.1:$TWEMPROXY_PORT
export CACHECTL_TEST_STATE=$(printf '%q' "$STATE")
EOF
	cat "$STATE/env" >&3
	trap - EXIT
	log "ready; stop with: scripts/test-servers.sh stop $(printf '%q' "$STATE")"
}

# stop_pid NAME PIDFILE: terminate the process in PIDFILE if it still runs NAME.
stop_pid() {
	local name=$1 pidfile=$2 pid i
	[[ -f $pidfile ]] || return 0
	pid=$(<"$pidfile")
	if ! pid_is "$name" "$pid"; then
		log "$name (pid ${pid:-?}) is not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		pid_is "$name" "$pid" || {
			log "stopped $name (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		pid_is "$name" "$pid" || return 0
		sleep 0.1
	done
	log "could not stop $name (pid $pid)"
	return 1
}

stop_dir() {
	local dir=$1 rc=0
	local f
	for f in "$dir"/redis*.pid; do
		[[ -e $f ]] || continue
		stop_pid redis-server "$f" || rc=1
	done
	stop_pid nutcracker "$dir/twemproxy.pid" || rc=1
	for f in "$dir"/memcached*.pid; do
		[[ -e $f ]] || continue
		stop_pid memcached "$f" || rc=1
	done
	if ((rc == 0)); then
		rm -rf -- "$dir"
	fi
	return "$rc"
}

cmd_stop() {
	local dir=${1:-${CACHECTL_TEST_STATE:-}}
	[[ -n $dir ]] || die "stop: no state dir given and CACHECTL_TEST_STATE is not set"
	if [[ ! -d $dir ]]; then
		log "stop: $dir does not exist; nothing to do"
		return 0
	fi
	[[ -f $dir/$MARKER ]] || die "stop: $dir is not a state dir of scripts/test-servers.sh (no $MARKER); refusing to touch it"
	stop_dir "$dir" || die "stop: some servers of $dir did not stop; left $dir in place"
	log "removed $dir"
}

case ${1:-} in
start)
	(($# == 1)) || {
		usage
		exit 2
	}
	cmd_start
	;;
stop)
	(($# <= 2)) || {
		usage
		exit 2
	}
	cmd_stop "${2:-}"
	;;
-h | --help | help)
	usage
	;;
*)
	usage
	exit 2
	;;
esac
