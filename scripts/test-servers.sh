#!/usr/bin/env bash
# Start and stop throwaway redis-server and memcached instances for the tests.
#
#   eval "$(scripts/test-servers.sh start)"   # prints export lines on stdout
#   scripts/test-servers.sh cluster           # a private Redis Cluster only
#   scripts/test-servers.sh sentinel          # a private Sentinel setup only
#   scripts/test-servers.sh ssh               # sshd + the servers, reachable only through SSH
#   scripts/test-servers.sh sshd DIR          # one more sshd in DIR's namespace
#   scripts/test-servers.sh kill DIR ADDR     # crash one Redis server of DIR (failover tests)
#   scripts/test-servers.sh restart DIR ADDR  # and start it again on the same port
#   scripts/test-servers.sh stop [DIR]        # DIR defaults to $CACHECTL_TEST_STATE
#
# start installs redis-server, redis-tools and memcached with apt-get when they
# are missing (root only), picks free loopback ports, starts the servers in a
# fresh state directory and waits until they answer. stdout carries ONLY the
# eval-able lines
#   export CACHECTL_TEST_REDIS_URL=redis://127.0.0.1:PORT
#   export CACHECTL_TEST_MEMCACHED_ADDR=127.0.0.1:PORT  (and more: see cmd_start)
#   export CACHECTL_TEST_STATE=DIR
# and everything else goes to stderr. Every start makes independent servers.
#
# start also makes a shared Redis Cluster and a shared Sentinel setup, which
# other tests use in parallel (never fail over, reshard or kill them):
#   CACHECTL_TEST_CLUSTER_URL       redis+cluster://app:app-secret@NODE,... (every node)
#   CACHECTL_TEST_CLUSTER_ADDRS     127.0.0.1:P1,...,127.0.0.1:P6: 3 primaries, 3 replicas
#   CACHECTL_TEST_CLUSTER_USER      app          (the nodes refuse clients without it:
#   CACHECTL_TEST_CLUSTER_PASSWORD  app-secret    the default user is off)
#   CACHECTL_TEST_SENTINEL_URL      redis+sentinel://app:app-secret@S1,S2,S3/mymaster?sentinel_password_env=CACHECTL_TEST_SENTINEL_PASSWORD
#   CACHECTL_TEST_SENTINEL_ADDRS    the three sentinels (quorum 2)
#   CACHECTL_TEST_SENTINEL_PASSWORD sentinel-secret (the sentinels' requirepass)
#   CACHECTL_TEST_SENTINEL_MASTER   mymaster
#   CACHECTL_TEST_SENTINEL_DATA_ADDRS       the master, then its replica (at start)
#   CACHECTL_TEST_SENTINEL_DATA_USER        app
#   CACHECTL_TEST_SENTINEL_DATA_PASSWORD    app-secret
# Cluster nodes run with cluster-node-timeout 2000 ms (CACHECTL_TEST_CLUSTER_NODE_TIMEOUT),
# sentinels with down-after-milliseconds 1000 and failover-timeout 4000, and
# every data node with repl-diskless-sync-delay 0, so failovers take seconds.
#
# cluster and sentinel start only that setup, in a new state dir of its own,
# for tests that reshard, fail over or kill nodes. They print the same
# CLUSTER_* or SENTINEL_* lines as start plus
#   export CACHECTL_TEST_CLUSTER_STATE=DIR   (or CACHECTL_TEST_SENTINEL_STATE)
# (and never CACHECTL_TEST_STATE); `stop DIR` stops them. cluster reads
#   CACHECTL_TEST_CLUSTER_PRIMARIES  primaries (default 3, at least 3)
#   CACHECTL_TEST_CLUSTER_REPLICAS   replicas per primary (default 1; 0 for none)
#   CACHECTL_TEST_CLUSTER_AUTH=0     no ACL: the default user, no password (benchmarks);
#                                    USER and PASSWORD are then empty
#
# ssh (root only: it makes a network namespace) is not part of start: the
# tests that need it start it themselves, once per test package (testenv.SSH).
# It makes a namespace joined to the host by a veth pair on a 10.237.X.Y/30,
# runs `start` INSIDE it (so every server binds the namespace's own
# 127.0.0.1, which the host cannot reach) and three sshd there, each with a
# generated host key, accepting the generated user key for the current user:
#   CACHECTL_TEST_SSH_ADDR           NS_IP:PORT, the bastion (forwarding allowed)
#   CACHECTL_TEST_SSH_INNER_ADDR     127.0.0.1:PORT inside the namespace: only a
#                                    jump through the bastion reaches it
#   CACHECTL_TEST_SSH_NOFORWARD_ADDR NS_IP:PORT, an sshd with AllowTcpForwarding no
#   CACHECTL_TEST_SSH_USER, _KEY (unencrypted ed25519), _KNOWN_HOSTS (all three
#   sshd), _NETNS, _HOST (NS_IP), _STATE, and start's variables renamed
#   CACHECTL_TEST_SSH_REDIS_URL, CACHECTL_TEST_SSH_CLUSTER_URL, ... (their
#   servers in the namespace). `stop DIR` stops all of it and removes the namespace.
# sshd DIR starts one more such sshd and prints CACHECTL_TEST_SSHD_ADDR, _PID
# and _KNOWN_HOST (its known_hosts line).
#
# kill and restart crash one Redis server of DIR (by its pid file) and start
# it again on the same port with the same command line; only for private setups.
#
# stop kills only the processes named by the pid files in DIR (never by name:
# other redis/memcached instances on the machine are left alone) and removes DIR.
#
# Servers only ever bind 127.0.0.1 (the ssh setup's sshd bind its namespace's addresses).
set -euo pipefail

readonly MARKER=.cachectl-test-servers
readonly WAIT_SECONDS=${CACHECTL_TEST_WAIT:-10}
readonly PORT_ATTEMPTS=5
# Cluster and Sentinel setups take longer to settle than one server to answer.
readonly SETTLE_SECONDS=${CACHECTL_TEST_SETTLE_WAIT:-30}
readonly CLUSTER_NODE_TIMEOUT=${CACHECTL_TEST_CLUSTER_NODE_TIMEOUT:-2000}
# The test credentials of the cluster and Sentinel data nodes and of the sentinels.
readonly APP_USER=app APP_PASS=app-secret SENTINEL_PASS=sentinel-secret MASTER_NAME=mymaster

# All progress goes to stderr; fd 3 is the real stdout for the export lines.
exec 3>&1 1>&2

log() { printf 'test-servers: %s\n' "$*" >&2; }
die() {
	printf 'test-servers: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<'EOF'
usage: scripts/test-servers.sh start             start the servers, print export lines
       scripts/test-servers.sh cluster           start a private Redis Cluster, print export lines
       scripts/test-servers.sh sentinel          start a private Sentinel setup, print export lines
       scripts/test-servers.sh redis [ARG...]    start a private standalone Redis (with redis-server ARGs), print export lines
       scripts/test-servers.sh ssh               sshd and the servers of start in a network namespace (root)
       scripts/test-servers.sh sshd DIR          one more sshd in the namespace of DIR's ssh setup
       scripts/test-servers.sh kill DIR ADDR     SIGKILL DIR's Redis server on ADDR (127.0.0.1:PORT)
       scripts/test-servers.sh restart DIR ADDR  start it again, same port and configuration
       scripts/test-servers.sh stop [DIR]        stop the servers of DIR ($CACHECTL_TEST_STATE), remove DIR
EOF
}

# ---------------------------------------------------------------- install

# ensure_installed [COMMAND...]: install the packages of the COMMANDs that are
# missing (default: everything start runs).
ensure_installed() {
	local missing=() pkgs=() want=("$@") m
	((${#want[@]})) || want=(redis-server redis-cli memcached openssl nutcracker)
	for m in "${want[@]}"; do
		command -v "$m" >/dev/null 2>&1 || missing+=("$m")
	done
	((${#missing[@]} == 0)) && return 0

	for m in "${missing[@]}"; do
		case $m in
		redis-server) pkgs+=(redis-server redis-tools) ;;
		redis-cli) pkgs+=(redis-tools) ;;
		memcached) pkgs+=(memcached) ;;
		openssl) pkgs+=(openssl) ;;
		nutcracker) pkgs+=(nutcracker) ;;
		sshd) pkgs+=(openssh-server) ;;
		ssh-keygen) pkgs+=(openssh-client) ;;
		ip) pkgs+=(iproute2) ;;
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

	for m in "${want[@]}"; do
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

# PORT_POOL: free ports found ahead by one python3 run for many servers (a
# python3 start costs about 0.1s); take_port hands them out. They come from
# below the kernel's ephemeral range: a port in it may be taken as the source
# port of any outgoing connection (or by a client that connects to itself)
# while its server is down, and a test that restarts the server on it would
# fail. Concurrent starts share a registry of handed-out ports (under flock),
# so they never pick the same one; entries of removed state dirs are freed.
PORT_POOL=()
fill_port_pool() { # N
	local out
	command -v python3 >/dev/null 2>&1 || return 0
	out=$(python3 - "$1" "$STATE" <<'PY' 2>/dev/null
import fcntl, os, random, socket, sys
n, state = int(sys.argv[1]), sys.argv[2]
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
first, last = 15000, lo - 1
if last - first < 1000:
    sys.exit(1)
base = os.path.dirname(state)
with open(os.path.join(base, "ports.lock"), "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    reg = os.path.join(base, "ports")
    held = []
    try:
        for line in open(reg):
            f = line.rstrip("\n").split(" ", 1)
            if len(f) == 2 and f[0].isdigit() and os.path.isdir(f[1]):
                held.append((int(f[0]), f[1]))
    except OSError:
        pass
    taken = {p for p, _ in held}
    socks, got = [], []
    for _ in range(50 * n):
        if len(got) == n:
            break
        p = random.randint(first, last)
        if p in taken:
            continue
        taken.add(p)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            s.close()
            continue
        socks.append(s)
        got.append(p)
    if len(got) < n:
        sys.exit(1)
    with open(reg + ".new", "w") as f:
        for p, d in held + [(p, state) for p in got]:
            f.write("%d %s\n" % (p, d))
    os.replace(reg + ".new", reg)
print(" ".join(map(str, got)))
PY
) || return 0
	read -r -a PORT_POOL <<<"$out"
}

# take_port VAR: set VAR to a free port, from PORT_POOL while it lasts.
take_port() {
	local p
	while ((${#PORT_POOL[@]})); do
		p=${PORT_POOL[0]}
		PORT_POOL=("${PORT_POOL[@]:1}")
		if [[ $p =~ ^[0-9]+$ ]] && ! port_in_use "$p"; then
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	p=$(free_port)
	printf -v "$1" '%s' "$p"
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
	local name=$1 pid=$2 port=$3 probe=$4 logf=$5 polls=0
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
		# Servers usually answer within milliseconds: look often at first.
		if ((polls++ < 20)); then sleep 0.02; else sleep 0.1; fi
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
		# Our child, not yet waited for: its pid cannot have been reused.
		if [[ -n ${CLUSTER_CREATE_PID:-} ]]; then kill "$CLUSTER_CREATE_PID" 2>/dev/null || true; fi
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
# BUSPORT in ARGS becomes a second free port (a cluster node's bus).
start_server() {
	local name=$1 var=$2 probe=$3 attempt port bus pid rc a cmd
	shift 3
	for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
		take_port port
		bus=
		if [[ $* == *BUSPORT* ]]; then
			take_port bus
			while [[ $bus == "$port" ]]; do take_port bus; done
		fi
		cmd=()
		for a in "$@"; do
			a=${a//BUSPORT/$bus}
			cmd+=("${a//PORT/$port}")
		done
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
			# For `restart`: the port, the probe and the command line.
			printf '%s\n' "$port" >"$STATE/$name.port"
			printf '%s\0' "$probe" "${cmd[@]}" >"$STATE/$name.cmd"
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
		take_port port
		take_port stats
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

# ---------------------------------------------------------------- cluster and sentinel

# The data nodes of the cluster and of the Sentinel setup refuse clients that
# do not log in: the default user is off, only app (with its password) exists.
# Replicas log in to their primary as app too (any node may become a replica).
readonly DATA_ACL=(--user default off --user "$APP_USER" on ">$APP_PASS" '~*' '&*' '+@all'
	--masteruser "$APP_USER" --masterauth "$APP_PASS")
# Replication between data nodes: a full sync starts at once, and the RDB a
# replica receives is not left behind (the nodes share a dir, and a node
# restarted after a kill must not load it: without persistence it starts empty).
readonly DATA_REPL=(--repl-diskless-sync yes --repl-diskless-sync-delay 0 --rdb-del-sync-files yes)

# cli_env AUTH: in a subshell about to run redis-cli, log in as the app user
# (AUTH 1), as a sentinel's client (AUTH s) or not at all (0). The password
# travels in the environment, never on a command line.
CLI_USER=()
cli_env() {
	case $1 in
	1)
		export REDISCLI_AUTH=$APP_PASS
		CLI_USER=(--user "$APP_USER")
		;;
	s)
		export REDISCLI_AUTH=$SENTINEL_PASS
		CLI_USER=()
		;;
	*)
		unset REDISCLI_AUTH
		CLI_USER=()
		;;
	esac
}

# at AUTH PORT COMMAND...: send one command to 127.0.0.1:PORT (see cli_env).
at() (
	auth=$1 port=$2
	shift 2
	cli_env "$auth"
	exec timeout 5 redis-cli "${CLI_USER[@]}" -h 127.0.0.1 -p "$port" "$@"
)

app_ping() ( # PORT: PING as the app user
	[[ $(at 1 "$1" ping 2>/dev/null) == PONG ]]
)

sentinel_ping() ( # PORT: PING a sentinel with its password
	[[ $(at s "$1" ping 2>/dev/null) == PONG ]]
)

# export_line NAME VALUE: one eval-able line, quoted only when VALUE needs it.
export_line() {
	if [[ $2 =~ ^[A-Za-z0-9_./:,@+=-]*$ ]]; then
		printf 'export %s=%s\n' "$1" "$2"
	elif [[ $2 != *"'"* ]]; then
		printf "export %s='%s'\n" "$1" "$2"
	else
		printf 'export %s=%q\n' "$1" "$2"
	fi
}

# addr_list PORT...: 127.0.0.1:PORT,127.0.0.1:PORT,...
addr_list() {
	local IFS=,
	set -- "${@/#/127.0.0.1:}"
	printf '%s' "$*"
}

# wait_settled WHAT CHECK [ARGS...]: poll CHECK ARGS until it succeeds; CHECK
# leaves in WHY what it is still waiting for.
WHY=
wait_settled() {
	local what=$1 deadline=$((SECONDS + SETTLE_SECONDS))
	shift
	local last=''
	WHY=
	until "$@"; do
		((SECONDS < deadline)) || die "$what did not settle within ${SETTLE_SECONDS}s: ${WHY:-?}"
		if [[ -n ${CACHECTL_TEST_VERBOSE:-} && $WHY != "$last" ]]; then
			log "waiting: $WHY"
			last=$WHY
		fi
		sleep 0.1
	done
	log "$what settled"
}

# cluster_launch AUTH PRIMARIES REPLICAS: start PRIMARIES*(1+REPLICAS)
# cluster nodes (in CLUSTER_PORTS) and join them with redis-cli --cluster
# create in the background; cluster_join waits for both.
CLUSTER_PORTS=() CLUSTER_CREATE_PID='' NODE_PORT=''
cluster_launch() {
	local auth=$1 primaries=$2 replicas=$3 i acl=() probe=redis_ping addrs
	if ((auth)); then
		acl=("${DATA_ACL[@]}")
		probe=app_ping
	fi
	CLUSTER_PORTS=()
	for ((i = 1; i <= primaries * (1 + replicas); i++)); do
		# The node rewrites its cluster config file: one per node and port.
		start_redis "redis-cluster-$i" NODE_PORT "$probe" --port PORT \
			--cluster-enabled yes --cluster-port BUSPORT \
			--cluster-config-file "cluster-$i-PORT.conf" \
			--cluster-node-timeout "$CLUSTER_NODE_TIMEOUT" \
			--dbfilename "redis-cluster-$i.rdb" "${DATA_REPL[@]}" "${acl[@]}"
		CLUSTER_PORTS+=("$NODE_PORT")
	done
	IFS=, read -r -a addrs <<<"$(addr_list "${CLUSTER_PORTS[@]}")"
	(
		cli_env "$auth"
		exec timeout 60 redis-cli "${CLI_USER[@]}" --cluster create "${addrs[@]}" \
			--cluster-replicas "$replicas" --cluster-yes
	) </dev/null >"$STATE/cluster-create.log" 2>&1 3>&- &
	CLUSTER_CREATE_PID=$!
}

# cluster_join AUTH PRIMARIES REPLICAS: wait for cluster_launch's redis-cli,
# then until every node is settled (cluster_ready).
cluster_join() {
	local rc=0
	wait "$CLUSTER_CREATE_PID" || rc=$?
	CLUSTER_CREATE_PID=''
	if ((rc != 0)); then
		tail -n 20 "$STATE/cluster-create.log" >&2 || true
		die "redis-cli --cluster create failed (exit $rc); see $STATE/cluster-create.log"
	fi
	wait_settled "Redis Cluster on ports ${CLUSTER_PORTS[*]}" cluster_ready "$@" "${CLUSTER_PORTS[@]}"
}

# cluster_view: the topology in the CLUSTER NODES text on stdin, one sorted
# line per node ("ADDR master SLOTS..." or "ADDR replica PRIMARY-ADDR"), so
# two nodes agree when their views are equal. Fails, printing why, while a
# node is failing, in handshake, without address or unlinked, or a slot migrates.
cluster_view() {
	awk '
	{ sub(/\r$/, "") }
	NF == 0 { next }
	NF < 8 { print "malformed CLUSTER NODES line: " $0; bad = 1; exit }
	{
		addr = $2
		sub(/[@,].*/, "", addr)
		n++
		addrof[$1] = addr
		a[n] = addr
		flags[n] = $3
		primary[n] = $4
		if ($3 ~ /(^|,)(fail\??|handshake|noaddr)(,|$)/ || $8 != "connected") {
			print addr " is " $3 " " $8
			bad = 1
			exit
		}
		s = ""
		for (i = 9; i <= NF; i++) {
			if ($i ~ /^\[/) { print "slot migration in progress on " addr ": " $i; bad = 1; exit }
			s = s " " $i
		}
		slots[n] = s
	}
	END {
		if (bad) exit 1
		for (i = 1; i <= n; i++) {
			if (flags[i] ~ /(^|,)master(,|$)/) print a[i] " master" slots[i]
			else print a[i] " replica " ((primary[i] in addrof) ? addrof[primary[i]] : primary[i])
		}
	}' | sort
}

# cluster_shape PRIMARIES REPLICAS: check a cluster_view on stdin: that many
# primaries, together covering all 16384 slots, each with REPLICAS replicas.
cluster_shape() {
	awk -v want_p="$1" -v want_r="$2" '
	$2 == "master" {
		np++
		prim[np] = $1
		for (i = 3; i <= NF; i++) {
			if (split($i, r, "-") == 2) slots += r[2] - r[1] + 1
			else slots++
		}
	}
	$2 == "replica" { nr++; reps[$3]++ }
	END {
		if (np != want_p) { print np + 0 " primaries, want " want_p; exit 1 }
		if (slots != 16384) { print slots + 0 " of 16384 slots covered"; exit 1 }
		if (nr != want_p * want_r) { print nr + 0 " replicas, want " want_p * want_r; exit 1 }
		for (i = 1; i <= np; i++)
			if (reps[prim[i]] + 0 != want_r) { print prim[i] " has " reps[prim[i]] + 0 " replicas, want " want_r; exit 1 }
	}'
}

# cluster_ready AUTH PRIMARIES REPLICAS PORT...: every node says
# cluster_state:ok, all see the same topology, of the expected shape, and every
# replica's link to its primary is up.
cluster_ready() {
	local auth=$1 primaries=$2 replicas=$3 p out view first='' addr
	shift 3
	for p in "$@"; do
		if ! out=$(at "$auth" "$p" cluster info 2>&1) || [[ $out != *cluster_state:ok* ]]; then
			WHY="127.0.0.1:$p: cluster_state is not ok yet"
			return 1
		fi
		out=$(at "$auth" "$p" cluster nodes 2>&1) || {
			WHY="127.0.0.1:$p: CLUSTER NODES failed: $out"
			return 1
		}
		view=$(cluster_view <<<"$out") || {
			WHY="127.0.0.1:$p sees $view"
			return 1
		}
		if [[ -z $first ]]; then
			first=$view
		elif [[ $view != "$first" ]]; then
			WHY="127.0.0.1:$p and 127.0.0.1:$1 see different topologies"
			return 1
		fi
	done
	WHY=$(cluster_shape "$primaries" "$replicas" <<<"$first") || return 1
	for addr in $(awk '$2 == "replica" { print $1 }' <<<"$first"); do
		if ! out=$(at "$auth" "${addr##*:}" info replication 2>&1) || [[ $out != *master_link_status:up* ]]; then
			WHY="replica $addr: link to its primary is not up yet"
			return 1
		fi
	done
}

# cluster_env AUTH: the export lines of the cluster in CLUSTER_PORTS.
cluster_env() {
	local addrs user='' pass='' creds=''
	addrs=$(addr_list "${CLUSTER_PORTS[@]}")
	if (($1)); then
		user=$APP_USER pass=$APP_PASS creds="$APP_USER:$APP_PASS@"
	fi
	export_line CACHECTL_TEST_CLUSTER_URL "redis+cluster://$creds$addrs"
	export_line CACHECTL_TEST_CLUSTER_ADDRS "$addrs"
	export_line CACHECTL_TEST_CLUSTER_USER "$user"
	export_line CACHECTL_TEST_CLUSTER_PASSWORD "$pass"
}

# sentinel_launch: a master, its replica and three sentinels watching them
# (SENTINEL_MASTER_PORT, SENTINEL_REPLICA_PORT, SENTINEL_PORTS); sentinel_settle
# waits until they have found each other.
SENTINEL_MASTER_PORT='' SENTINEL_REPLICA_PORT='' SENTINEL_PORTS=()
sentinel_launch() {
	local i conf
	start_redis redis-sentinel-data-1 NODE_PORT app_ping --port PORT \
		--dbfilename redis-sentinel-data-1.rdb "${DATA_REPL[@]}" "${DATA_ACL[@]}"
	SENTINEL_MASTER_PORT=$NODE_PORT
	start_redis redis-sentinel-data-2 NODE_PORT app_ping --port PORT \
		--replicaof 127.0.0.1 "$SENTINEL_MASTER_PORT" \
		--dbfilename redis-sentinel-data-2.rdb "${DATA_REPL[@]}" "${DATA_ACL[@]}"
	SENTINEL_REPLICA_PORT=$NODE_PORT
	SENTINEL_PORTS=()
	for i in 1 2 3; do
		# A sentinel rewrites its config file (known sentinels and replicas,
		# epochs), so each has its own, in the state dir. sentinel-pass is
		# what it logs in to the other sentinels with (they all share
		# requirepass); auth-user/auth-pass what it logs in to the data nodes with.
		conf=$STATE/sentinel-$i.conf
		cat >"$conf" <<EOF
bind 127.0.0.1
dir "$STATE"
requirepass "$SENTINEL_PASS"
sentinel sentinel-pass "$SENTINEL_PASS"
sentinel monitor $MASTER_NAME 127.0.0.1 $SENTINEL_MASTER_PORT 2
sentinel auth-user $MASTER_NAME "$APP_USER"
sentinel auth-pass $MASTER_NAME "$APP_PASS"
sentinel down-after-milliseconds $MASTER_NAME 1000
sentinel failover-timeout $MASTER_NAME 4000
sentinel parallel-syncs $MASTER_NAME 1
sentinel known-replica $MASTER_NAME 127.0.0.1 $SENTINEL_REPLICA_PORT
EOF
		start_server "redis-sentinel-$i" NODE_PORT sentinel_ping \
			redis-server "$conf" --sentinel --port PORT --daemonize no --logfile ''
		SENTINEL_PORTS+=("$NODE_PORT")
	done
}

# fields: the KEY=VALUE lines of a flat KEY VALUE... reply (one element a line) on stdin.
fields() {
	awk '{ sub(/\r$/, "") } NR % 2 { k = $0; next } { print k "=" $0 }'
}

# field KEY: the value of KEY among fields' lines on stdin.
field() {
	awk -v k="$1" '{ i = index($0, "=") } substr($0, 1, i - 1) == k { print substr($0, i + 1); exit }'
}

# sentinel_ready MASTER_PORT REPLICA_PORT SENTINEL_PORT...: the replica's link
# is up and every sentinel sees the master healthy, its replica healthy and
# linked, and the two other sentinels.
sentinel_ready() {
	local mp=$1 rp=$2 p out f got
	shift 2
	if ! out=$(at 1 "$rp" info replication 2>&1) ||
		[[ $out != *master_link_status:up* || $out != *"master_port:$mp"* ]]; then
		WHY="replica 127.0.0.1:$rp is not linked to 127.0.0.1:$mp yet"
		return 1
	fi
	for p in "$@"; do
		out=$(at s "$p" sentinel master "$MASTER_NAME" 2>&1 | fields) || {
			WHY="sentinel 127.0.0.1:$p: SENTINEL MASTER failed"
			return 1
		}
		for f in "port=$mp" flags=master num-slaves=1 num-other-sentinels=2; do
			got=$(field "${f%%=*}" <<<"$out")
			if [[ $got != "${f#*=}" ]]; then
				WHY="sentinel 127.0.0.1:$p: ${f%%=*} is '$got', want ${f#*=}"
				return 1
			fi
		done
		out=$(at s "$p" sentinel replicas "$MASTER_NAME" 2>&1 | fields) || {
			WHY="sentinel 127.0.0.1:$p: SENTINEL REPLICAS failed"
			return 1
		}
		for f in "port=$rp" flags=slave master-link-status=ok; do
			got=$(field "${f%%=*}" <<<"$out")
			if [[ $got != "${f#*=}" ]]; then
				WHY="sentinel 127.0.0.1:$p: the replica's ${f%%=*} is '$got', want ${f#*=}"
				return 1
			fi
		done
	done
}

sentinel_settle() {
	wait_settled "Sentinel setup (master 127.0.0.1:$SENTINEL_MASTER_PORT, sentinels ${SENTINEL_PORTS[*]})" \
		sentinel_ready "$SENTINEL_MASTER_PORT" "$SENTINEL_REPLICA_PORT" "${SENTINEL_PORTS[@]}"
}

# sentinel_env: the export lines of the Sentinel setup.
sentinel_env() {
	local addrs
	addrs=$(addr_list "${SENTINEL_PORTS[@]}")
	export_line CACHECTL_TEST_SENTINEL_URL \
		"redis+sentinel://$APP_USER:$APP_PASS@$addrs/$MASTER_NAME?sentinel_password_env=CACHECTL_TEST_SENTINEL_PASSWORD"
	export_line CACHECTL_TEST_SENTINEL_ADDRS "$addrs"
	export_line CACHECTL_TEST_SENTINEL_PASSWORD "$SENTINEL_PASS"
	export_line CACHECTL_TEST_SENTINEL_MASTER "$MASTER_NAME"
	export_line CACHECTL_TEST_SENTINEL_DATA_ADDRS "$(addr_list "$SENTINEL_MASTER_PORT" "$SENTINEL_REPLICA_PORT")"
	export_line CACHECTL_TEST_SENTINEL_DATA_USER "$APP_USER"
	export_line CACHECTL_TEST_SENTINEL_DATA_PASSWORD "$APP_PASS"
}

# ---------------------------------------------------------------- ssh

# The SSH setup (`ssh`): a network namespace of its own, joined to the host by
# a veth pair on a 10.237.X.Y/30, with sshd listening inside it and the servers
# of `start` running inside it on the namespace's own 127.0.0.1, which the
# host cannot reach: a test that gets through did go through the tunnel.
NS='' NS_IP='' HOST_IP=''

# ns CMD...: run CMD inside the namespace.
ns() { ip netns exec "$NS" "$@"; }

# ns_free_port: a port free on the namespace's side (its own port space).
ns_free_port() {
	ns python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", 0))
print(s.getsockname()[1])'
}

# make_netns: the namespace and the veth pair, named after the state dir so
# that parallel setups never collide; stop_dir removes them.
make_netns() {
	local suffix=${STATE##*.} x y i
	NS=ccssh-$suffix
	printf '%s\n' "$NS" >"$STATE/netns"
	printf '%s\n' "cch$suffix" >"$STATE/veth"
	ip netns add "$NS"
	ip link add "cch$suffix" type veth peer name "ccn$suffix"
	ip link set "ccn$suffix" netns "$NS"
	for ((i = 0; i < 50; i++)); do
		x=$((RANDOM % 256)) y=$((RANDOM % 64 * 4))
		ip -4 -o addr show | grep -q " 10\.237\.$x\.$((y + 1))/" || break
	done
	HOST_IP=10.237.$x.$((y + 1)) NS_IP=10.237.$x.$((y + 2))
	ip addr add "$HOST_IP/30" dev "cch$suffix"
	ip link set "cch$suffix" up
	ns ip addr add "$NS_IP/30" dev "ccn$suffix"
	ns ip link set "ccn$suffix" up
	ns ip link set lo up
	log "network namespace $NS: host side $HOST_IP, namespace side $NS_IP"
}

# sshd_banner IP PORT: true when an SSH server greets on IP:PORT inside the namespace.
sshd_banner() {
	ns timeout 2 bash -c 'exec 8<>"/dev/tcp/$0/$1" || exit 1; IFS= read -r -t 2 l <&8; [[ $l == SSH-2.0-* ]]' "$1" "$2" 2>/dev/null
}

# start_sshd NAME IP FORWARDING: an sshd in the namespace on IP and a free
# port, with a host key of its own, root's login by the test key only, and
# forwarding allowed (yes) or refused (no). Sets SSHD_PORT and SSHD_PID and
# appends its known_hosts line to $STATE/ssh/known_hosts.
SSHD_PORT='' SSHD_PID=''
start_sshd() {
	local name=$1 ip=$2 fwd=$3 d=$STATE/ssh port pid deadline
	ssh-keygen -q -t ed25519 -N '' -C "cachectl-test-$name" -f "$d/$name-host_ed25519"
	port=$(ns_free_port)
	cat >"$d/$name.conf" <<CONF
Port $port
ListenAddress $ip
HostKey $d/$name-host_ed25519
PidFile none
AuthorizedKeysFile $d/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowTcpForwarding $fwd
AllowStreamLocalForwarding $fwd
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
MaxStartups 200
LogLevel VERBOSE
CONF
	: >"$STATE/sshd-$name.log"
	ip netns exec "$NS" /usr/sbin/sshd -D -e -f "$d/$name.conf" </dev/null >>"$STATE/sshd-$name.log" 2>&1 3>&- &
	pid=$!
	printf '%s\n' "$pid" >"$STATE/sshd-$name.pid"
	deadline=$((SECONDS + WAIT_SECONDS))
	until sshd_banner "$ip" "$port"; do
		if ! alive "$pid" || ((SECONDS > deadline)); then
			tail -n 20 "$STATE/sshd-$name.log" >&2 || true
			die "sshd $name did not answer on $ip:$port (namespace $NS)"
		fi
		sleep 0.05
	done
	printf '[%s]:%s %s\n' "$ip" "$port" "$(cut -d' ' -f1,2 "$d/$name-host_ed25519.pub")" >>"$d/known_hosts"
	printf '%s\n' "$port" >"$STATE/sshd-$name.port"
	log "sshd $name pid $pid on $ip:$port (namespace $NS, forwarding $fwd)"
	SSHD_PORT=$port SSHD_PID=$pid
}

# descendants PID: every process below PID, children first (by parent id,
# from /proc): an sshd serves each connection in processes of its own.
descendants() {
	local f stat ppid kids=() k
	for f in /proc/[0-9]*/stat; do
		stat=$(<"$f") 2>/dev/null || continue
		stat=${stat##*) }
		read -r _ ppid _ <<<"$stat"
		[[ $ppid == "$1" ]] && kids+=("${f//[^0-9]/}")
	done
	for k in "${kids[@]}"; do
		descendants "$k"
		printf '%s\n' "$k"
	done
}

# stop_ssh DIR: the SSH setup's part of stop: the servers inside, every sshd
# with the processes serving its connections, then the namespace.
stop_ssh() {
	local dir=$1 f pid rc=0
	if [[ -f $dir/servers.dir && -d $(<"$dir/servers.dir") ]]; then
		stop_dir "$(<"$dir/servers.dir")" || rc=1
	fi
	for f in "$dir"/sshd*.pid; do
		[[ -e $f ]] || continue
		pid=$(<"$f")
		pid_is sshd "$pid" || continue
		# The sessions first: they outlive their listener otherwise.
		kill -KILL $(descendants "$pid") 2>/dev/null || true
	done
	if [[ -f $dir/netns ]]; then
		ip netns del "$(<"$dir/netns")" 2>/dev/null || true
	fi
	if [[ -f $dir/veth ]]; then
		ip link del "$(<"$dir/veth")" 2>/dev/null || true
	fi
	return "$rc"
}

# ---------------------------------------------------------------- commands

# new_state: make a fresh state dir (STATE) that a failed start cleans up.
new_state() {
	local base=${CACHECTL_TEST_STATE:-${TMPDIR:-/tmp}/cachectl-test-servers}
	# If CACHECTL_TEST_STATE names a state dir of an earlier start (it is
	# exported by that start, and may be stopped already), put the new one
	# next to it, not inside it.
	if [[ -f $base/$MARKER || $base == */run.?????? && ! -e $base ]]; then
		base=$(dirname "$base")
	fi
	mkdir -p "$base"
	STATE=$(mktemp -d "$base/run.XXXXXX")
	STATE=$(cd "$STATE" && pwd -P)
	: >"$STATE/$MARKER"
	trap cleanup_failed_start EXIT
	log "state dir $STATE"
}

# finish_start: print the export lines kept in $STATE/env; the start succeeded.
finish_start() {
	cat "$STATE/env" >&3
	trap - EXIT
	log "ready; stop with: scripts/test-servers.sh stop $(printf '%q' "$STATE")"
}

cmd_start() {
	ensure_installed
	new_state
	# 3 Redis, 4 memcached, twemproxy and its stats, 5 in the Sentinel
	# setup, 6 cluster nodes and their buses.
	fill_port_pool 26

	# The cluster and the Sentinel setup start first: while the servers below
	# start, redis-cli joins the cluster (it waits 2s at least) and the
	# sentinels find each other (their hellos go out every 2s).
	cluster_launch 1 3 1
	sentinel_launch

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

	cluster_join 1 3 1
	sentinel_settle

	{
		cat <<EOF
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
EOF
		cluster_env 1
		sentinel_env
		printf 'export CACHECTL_TEST_STATE=%q\n' "$STATE"
	} >"$STATE/env"
	finish_start
}

# node_of DIR ADDR: the name of DIR's server listening on ADDR (127.0.0.1:PORT or PORT).
node_of() {
	local dir=$1 port=${2##*:} f
	[[ $port =~ ^[0-9]+$ ]] || die "not an address: $2"
	for f in "$dir"/*.port; do
		[[ -e $f && $(<"$f") == "$port" ]] || continue
		f=${f##*/}
		printf '%s' "${f%.port}"
		return 0
	done
	die "no server of $dir listens on port $port"
}

state_dir() { # DIR: check that DIR is a state dir
	[[ -f $1/$MARKER ]] || die "$1 is not a state dir of scripts/test-servers.sh (no $MARKER)"
}

# cmd_kill DIR ADDR: SIGKILL the server of DIR on ADDR (a crash, for failover
# tests) and wait until it is gone.
cmd_kill() {
	local name pid i
	state_dir "$1"
	name=$(node_of "$1" "$2")
	pid=$(<"$1/$name.pid")
	pid_is redis-server "$pid" || die "$name (pid $pid) is not running"
	kill -KILL "$pid"
	for ((i = 0; i < 100; i++)); do
		if ! pid_is redis-server "$pid"; then
			log "killed $name (pid $pid)"
			return 0
		fi
		sleep 0.05
	done
	die "$name (pid $pid) still runs after SIGKILL"
}

# cmd_restart DIR ADDR: start the server of DIR on ADDR again after a kill,
# with the same port and command line (a cluster node reloads its cluster
# config file, so it rejoins as the node it was).
cmd_restart() {
	local name cmd pid rc=0
	state_dir "$1"
	STATE=$1
	name=$(node_of "$1" "$2")
	if [[ -f $STATE/$name.pid ]] && pid_is redis-server "$(<"$STATE/$name.pid")"; then
		die "$name still runs (pid $(<"$STATE/$name.pid"))"
	fi
	mapfile -d '' cmd <"$STATE/$name.cmd"
	((${#cmd[@]} >= 2)) || die "$STATE/$name.cmd is damaged"
	"${cmd[@]:1}" </dev/null >>"$STATE/$name.log" 2>&1 3>&- &
	pid=$!
	printf '%s\n' "$pid" >"$STATE/$name.pid"
	wait_up "$name" "$pid" "$(<"$STATE/$name.port")" "${cmd[0]}" "$STATE/$name.log" || rc=$?
	((rc == 0)) || die "$name did not come back on port $(<"$STATE/$name.port")"
	log "$name restarted, pid $pid"
}

# uint NAME VALUE MIN: print VALUE, checked to be a whole number of at least MIN.
uint() {
	if [[ ! $2 =~ ^[0-9]+$ ]] || (($2 < $3)); then
		die "$1 must be a whole number >= $3, not '$2'"
	fi
	printf '%s' "$2"
}

# cmd_cluster: a private cluster, in a state dir of its own.
cmd_cluster() {
	local auth primaries replicas
	auth=${CACHECTL_TEST_CLUSTER_AUTH:-1}
	[[ $auth == 0 || $auth == 1 ]] || die "CACHECTL_TEST_CLUSTER_AUTH must be 0 or 1, not '$auth'"
	# redis-cli --cluster create refuses fewer than 3 primaries.
	primaries=$(uint CACHECTL_TEST_CLUSTER_PRIMARIES "${CACHECTL_TEST_CLUSTER_PRIMARIES:-3}" 3)
	replicas=$(uint CACHECTL_TEST_CLUSTER_REPLICAS "${CACHECTL_TEST_CLUSTER_REPLICAS:-1}" 0)
	ensure_installed redis-server redis-cli
	new_state
	fill_port_pool $((2 * primaries * (1 + replicas)))
	cluster_launch "$auth" "$primaries" "$replicas"
	cluster_join "$auth" "$primaries" "$replicas"
	{
		cluster_env "$auth"
		printf 'export CACHECTL_TEST_CLUSTER_STATE=%q\n' "$STATE"
	} >"$STATE/env"
	finish_start
}

# cmd_sentinel: a private Sentinel setup, in a state dir of its own.
cmd_sentinel() {
	ensure_installed redis-server redis-cli
	new_state
	fill_port_pool 5
	sentinel_launch
	sentinel_settle
	{
		sentinel_env
		printf 'export CACHECTL_TEST_SENTINEL_STATE=%q\n' "$STATE"
	} >"$STATE/env"
	finish_start
}

# cmd_redis [ARG...]: one standalone Redis in a state dir of its own, for
# tests that restart it or change its configuration (kill and restart take
# its address); ARGs go to redis-server (e.g. --rename-command CONFIG '').
cmd_redis() {
	ensure_installed redis-server redis-cli
	new_state
	fill_port_pool 1
	REDIS_PORT=''
	start_redis redis REDIS_PORT redis_ping --port PORT "$@"
	{
		printf 'export CACHECTL_TEST_PRIVATE_REDIS_URL=redis://127.0.0.1:%s\n' "$REDIS_PORT"
		printf 'export CACHECTL_TEST_PRIVATE_REDIS_STATE=%q\n' "$STATE"
	} >"$STATE/env"
	finish_start
}

# cmd_ssh: the SSH setup (see the ssh section): a namespace, sshd inside it,
# and the servers of `start` inside it.
cmd_ssh() {
	[[ $(id -u) -eq 0 ]] || die "ssh: network namespaces need root"
	ensure_installed redis-server redis-cli memcached openssl nutcracker sshd ssh-keygen ip
	mkdir -p /run/sshd && chmod 755 /run/sshd
	new_state
	make_netns
	local d=$STATE/ssh inner user
	mkdir -p "$d" && chmod 700 "$d"
	user=$(id -un)
	ssh-keygen -q -t ed25519 -N '' -C cachectl-test-user -f "$d/id_ed25519"
	cp "$d/id_ed25519.pub" "$d/authorized_keys"
	: >"$d/known_hosts"

	# The servers inside; their exports become CACHECTL_TEST_SSH_*.
	ns env CACHECTL_TEST_STATE="$STATE/servers" "$0" start >"$STATE/servers.env" 3>&-
	inner=$(sed -n 's/^export CACHECTL_TEST_STATE=//p' "$STATE/servers.env")
	[[ -n $inner ]] || die "ssh: the servers in namespace $NS printed no state dir"
	printf '%s\n' "$inner" >"$STATE/servers.dir"

	start_sshd bastion "$NS_IP" yes
	local bastion=$SSHD_PORT
	# Reachable only from inside the namespace: the target of ProxyJump tests.
	start_sshd inner 127.0.0.1 yes
	local innerp=$SSHD_PORT
	start_sshd noforward "$NS_IP" no
	local nofwd=$SSHD_PORT
	{
		sed -e 's/^export CACHECTL_TEST_STATE=/export CACHECTL_TEST_SSH_SERVERS_STATE=/' \
			-e '/SSH_SERVERS_STATE=/!s/^export CACHECTL_TEST_/export CACHECTL_TEST_SSH_/' "$STATE/servers.env"
		export_line CACHECTL_TEST_SSH_NETNS "$NS"
		export_line CACHECTL_TEST_SSH_HOST "$NS_IP"
		export_line CACHECTL_TEST_SSH_ADDR "$NS_IP:$bastion"
		export_line CACHECTL_TEST_SSH_INNER_ADDR "127.0.0.1:$innerp"
		export_line CACHECTL_TEST_SSH_NOFORWARD_ADDR "$NS_IP:$nofwd"
		export_line CACHECTL_TEST_SSH_USER "$user"
		export_line CACHECTL_TEST_SSH_KEY "$d/id_ed25519"
		export_line CACHECTL_TEST_SSH_KNOWN_HOSTS "$d/known_hosts"
		printf 'export CACHECTL_TEST_SSH_STATE=%q\n' "$STATE"
	} >"$STATE/env"
	finish_start
}

# cmd_sshd DIR: one more sshd (forwarding on) in the namespace of DIR's SSH
# setup, for a test that kills or freezes it. Prints its address, pid and
# known_hosts line; stop DIR stops it too.
cmd_sshd() {
	state_dir "$1"
	[[ -f $1/netns ]] || die "$1 is not the state dir of an SSH setup"
	STATE=$1 NS=$(<"$1/netns")
	NS_IP=$(sed -n 's/^export CACHECTL_TEST_SSH_HOST=//p' "$1/env")
	local name
	name=extra-$(date +%s%N)
	start_sshd "$name" "$NS_IP" yes
	export_line CACHECTL_TEST_SSHD_ADDR "$NS_IP:$SSHD_PORT" >&3
	export_line CACHECTL_TEST_SSHD_PID "$SSHD_PID" >&3
	export_line CACHECTL_TEST_SSHD_KNOWN_HOST "$(tail -n 1 "$STATE/ssh/known_hosts")" >&3
}

# stop_pids NAME PIDFILE [NAME PIDFILE...]: terminate the process of each
# PIDFILE that still runs its NAME, all at once (servers shut down in
# parallel), then wait for them; SIGKILL those that ignore SIGTERM.
stop_pids() {
	local names=() pids=() name pid i left
	while (($# >= 2)); do
		name=$1 pid=''
		if [[ -f $2 ]]; then pid=$(<"$2"); fi
		shift 2
		[[ -n $pid ]] || continue
		if ! pid_is "$name" "$pid"; then
			log "$name (pid $pid) is not running"
			continue
		fi
		kill -TERM "$pid" 2>/dev/null || true
		names+=("$name")
		pids+=("$pid")
	done
	local sig=TERM tries
	for tries in 50 20; do
		for ((; tries > 0; tries--)); do
			left=0
			for i in "${!pids[@]}"; do
				[[ -n ${pids[i]} ]] || continue
				if pid_is "${names[i]}" "${pids[i]}"; then
					left=1
				else
					log "stopped ${names[i]} (pid ${pids[i]})"
					pids[i]=
				fi
			done
			((left)) || return 0
			sleep 0.05
		done
		[[ $sig == TERM ]] || break
		sig=KILL
		for i in "${!pids[@]}"; do
			[[ -n ${pids[i]} ]] || continue
			log "${names[i]} (pid ${pids[i]}) ignored SIGTERM; sending SIGKILL"
			kill -KILL "${pids[i]}" 2>/dev/null || true
		done
	done
	for i in "${!pids[@]}"; do
		[[ -n ${pids[i]} ]] && log "could not stop ${names[i]} (pid ${pids[i]})"
	done
	return 1
}

stop_dir() {
	local dir=$1 f args=() rc=0
	stop_ssh "$dir" || rc=1
	for f in "$dir"/sshd*.pid; do
		[[ -e $f ]] && args+=(sshd "$f")
	done
	for f in "$dir"/redis*.pid; do
		[[ -e $f ]] && args+=(redis-server "$f")
	done
	args+=(nutcracker "$dir/twemproxy.pid")
	for f in "$dir"/memcached*.pid; do
		[[ -e $f ]] && args+=(memcached "$f")
	done
	stop_pids "${args[@]}" || return 1
	((rc == 0)) || return 1
	rm -rf -- "$dir"
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

# args MIN MAX COUNT: the command takes MIN to MAX arguments.
args() {
	(($3 >= $1 && $3 <= $2)) || {
		usage
		exit 2
	}
}

case ${1:-} in
start)
	args 1 1 $#
	cmd_start
	;;
cluster)
	args 1 1 $#
	cmd_cluster
	;;
sentinel)
	args 1 1 $#
	cmd_sentinel
	;;
redis)
	shift
	cmd_redis "$@"
	;;
ssh)
	args 1 1 $#
	cmd_ssh
	;;
sshd)
	args 2 2 $#
	cmd_sshd "$2"
	;;
kill)
	args 3 3 $#
	cmd_kill "$2" "$3"
	;;
restart)
	args 3 3 $#
	cmd_restart "$2" "$3"
	;;
stop)
	args 1 2 $#
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
