#!/usr/bin/env bash
# Starts, stops and reports a single-node Slurm cluster on this machine, for
# CI (the job array co-simulation) and for trying Slurm locally. Debian's
# slurm-wlm and munge, no systemd: munged, slurmctld and slurmd are started
# by hand, bound to 127.0.0.1 only, with proctrack/linuxproc, task/none and
# no accounting database (sacct does not work: record exit codes in files).
#
#   scripts/slurm-cluster.sh start    install if missing, start, wait until the node is idle
#   scripts/slurm-cluster.sh stop     cancel our jobs, stop the daemons start started
#   scripts/slurm-cluster.sh status   say whether it runs (exit 0) or not (exit 3)
#
# Everything lives in a state directory, $TRITIUM_SLURM_DIR (default
# target/slurm in the repository): slurm.conf, state, spool, logs, pid files.
# /etc/slurm/slurm.conf is neither read nor written: daemons and commands
# find the generated file through SLURM_CONF, which start prints:
#   export SLURM_CONF=<dir>/slurm.conf
# Ports: slurmctld $TRITIUM_SLURM_PORT (default 16817), slurmd the next one
# (not Slurm's 6817/6818, so that a real Slurm on the machine does not clash).
# A `start` while our cluster runs says so and succeeds. Each start is a cold
# start (slurmctld -c): job records of an earlier run are dropped.
# munged: one already answering on the default socket is used (and left
# running by stop); otherwise start starts one and stop stops it. Needs root
# (slurmd runs the jobs as their users).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${TRITIUM_SLURM_DIR:-$root/target/slurm}
ctld_port=${TRITIUM_SLURM_PORT:-16817}
slurmd_port=$((ctld_port + 1))
conf=$dir/slurm.conf
partition=tritium
wait_s=30

say() { echo "slurm-cluster: $*" >&2; }
now_ms() { date +%s%3N; }
# since_s T0: seconds since now_ms was T0, with one decimal.
since_s() { awk -v d=$(($(now_ms) - $1)) 'BEGIN { printf "%.1f", d / 1000 }'; }
die() { say "$*"; exit 1; }

usage() { echo "usage: scripts/slurm-cluster.sh start|stop|status" >&2; exit 2; }

# apt_install WHAT PACKAGE...: as scripts/install-deps.sh: installs with
# apt-get when run as root on Debian/Ubuntu, otherwise says what is missing.
apt_install() {
    local what=$1
    shift
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $what (Debian packages: $*)..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq "$@" >/dev/null
    else
        say "$what is required."
        echo "  Debian/Ubuntu: sudo apt-get install -y $*" >&2
        exit 1
    fi
}

# is NAME PID: true if PID is a running process called NAME (guards against
# the reused pid of a stale pid file).
is() { [ -n "$2" ] && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]; }

# pid_of NAME PIDFILE: prints the pid in PIDFILE if that is a running NAME.
pid_of() {
    local pid
    pid=$(cat "$2" 2>/dev/null) || return 0
    if is "$1" "$pid"; then echo "$pid"; fi
}

# alive NAME PIDFILE: true if PIDFILE names a running process called NAME.
alive() { [ -n "$(pid_of "$1" "$2")" ]; }

# wait_exit SECONDS NAME PID...: waits until none of the PIDs runs as NAME.
wait_exit() {
    local n=$(($1 * 10)) name=$2 pid any
    shift 2
    while :; do
        any=0
        for pid in "$@"; do is "$name" "$pid" && any=1; done
        [ "$any" = 0 ] && return 0
        [ "$n" -gt 0 ] || return 1
        sleep 0.1
        n=$((n - 1))
    done
}

# end NAME PID: SIGTERM to PID if it runs as NAME, up to 10 s to exit, then
# SIGKILL. (Daemons remove their pid files before they have exited: the
# waits go by pid.)
end() {
    is "$1" "$2" || return 0
    kill "$2" 2>/dev/null || true
    if ! wait_exit 10 "$1" "$2"; then
        say "$1 (pid $2) did not exit after SIGTERM: SIGKILL"
        kill -9 "$2" 2>/dev/null || true
        wait_exit 2 "$1" "$2" || true
    fi
}

logs_tail() {
    local f
    for f in "$dir/log/slurmctld.log" "$dir/log/slurmd.log" /var/log/munge/munged.log; do
        [ -s "$f" ] || continue
        echo "---- tail of $f" >&2
        tail -n 20 "$f" >&2
    done
}

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

# choose_host: sets ctld_host (SlurmctldHost's name) and in_ns (the command
# prefix the daemons run under). CommunicationParameters=NoCtldInAddrAny,
# NoInAddrAny bind the daemons to the address that the machine's hostname
# resolves to (gethostname(), Slurm's slurm_setup_addr), not to the
# addresses of SlurmctldHost and NodeAddr. Where the hostname resolves to
# 127.0.0.1 (/etc/hosts), they run as they are; elsewhere (127.0.1.1, the
# machine's network address) they run in a UTS namespace of their own whose
# hostname is localhost. TRITIUM_SLURM_UTS=1 chooses the namespace anyway.
ctld_host=
in_ns=()
choose_host() {
    local addr
    addr=$(getent ahostsv4 "$(hostname)" 2>/dev/null | awk 'NR == 1 { print $1 }' || true)
    if [ "${TRITIUM_SLURM_UTS:-0}" != 1 ] && [ "$addr" = 127.0.0.1 ]; then
        ctld_host=$(hostname -s)
    elif unshare --uts true 2>/dev/null; then
        [ "${TRITIUM_SLURM_UTS:-0}" = 1 ] ||
            say "the hostname $(hostname) resolves to ${addr:-nothing}, not 127.0.0.1: the daemons run with hostname localhost (unshare --uts)"
        ctld_host=localhost
        in_ns=(unshare --uts sh -c 'hostname localhost && exec "$@"' sh)
    else
        die "the hostname $(hostname) resolves to ${addr:-nothing}, not 127.0.0.1, and 'unshare --uts' is not permitted: the daemons would not bind to 127.0.0.1 only (add '127.0.0.1 $(hostname)' to /etc/hosts)"
    fi
}

write_conf() {
    local node name
    # The node line as slurmd sees this machine (CPUs, sockets, cores,
    # threads, RealMemory), without its UpTime.
    node=$(slurmd -C | head -n 1)
    case "$node" in
        NodeName=*) ;;
        *) die "unexpected output of 'slurmd -C': $node" ;;
    esac
    node_name=${node%% *}
    node_name=${node_name#NodeName=}
    cat >"$conf.tmp" <<EOF
# Generated by scripts/slurm-cluster.sh: a single-node cluster on 127.0.0.1.
ClusterName=tritium
SlurmctldHost=$ctld_host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# Bind to the addresses above (127.0.0.1), not to every interface.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No mail; Debian's slurmctld logs an error for the default's missing mailer.
MailProg=/bin/true
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
# Finished jobs stay visible to squeue for 5 minutes.
MinJobAge=300
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$partition Nodes=$node_name Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$conf.tmp" "$conf"
}

node_name=
ctld_pidfile=
slurmd_pidfile=
set_pidfiles() {
    ctld_pidfile=$dir/run/slurmctld.pid
    slurmd_pidfile=$dir/run/slurmd.pid
}

# start_daemon NAME PIDFILE CMD...: runs CMD, which forks the daemon NAME
# and returns, and waits (bounded) until the daemon has written PIDFILE (the
# file stop goes by); on failure shows the logs, stops what runs and fails.
start_daemon() {
    local name=$1 file=$2 n=100
    shift 2
    if "$@"; then
        while ! alive "$name" "$file" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    fi
    if ! alive "$name" "$file"; then
        say "$name did not start"
        logs_tail
        do_stop quiet
        die "the Slurm daemons did not start (logs in $dir/log)"
    fi
}

do_start() {
    [ "$(id -u)" = 0 ] || die "start needs root (slurmd runs jobs as their users): sudo $0 start"
    if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 ||
        ! command -v sbatch >/dev/null 2>&1; then
        apt_install "Slurm (the single-node cluster)" slurm-wlm
    fi
    command -v munged >/dev/null 2>&1 || apt_install "MUNGE (Slurm's authentication)" munge
    local c
    for c in slurmctld slurmd sinfo squeue sbatch scancel scontrol munged munge unmunge mungekey; do
        command -v "$c" >/dev/null 2>&1 || die "$c not found (PATH=$PATH)"
    done

    local t0
    t0=$(now_ms)
    set_pidfiles
    export SLURM_CONF=$conf
    if alive slurmctld "$ctld_pidfile"; then
        if alive slurmd "$slurmd_pidfile" && sinfo -h >/dev/null 2>&1; then
            say "already runs (state in $dir): nothing to start"
            echo "export SLURM_CONF=$conf"
            return 0
        fi
        die "slurmctld (pid $(cat "$ctld_pidfile")) runs but the cluster does not answer: run '$0 stop' first"
    fi
    alive slurmd "$slurmd_pidfile" &&
        die "a slurmd of an earlier start still runs (pid $(cat "$slurmd_pidfile")): run '$0 stop' first"
    for p in "$ctld_port" "$slurmd_port"; do
        port_in_use "$p" && die "port $p is in use (another Slurm?): set TRITIUM_SLURM_PORT to a free port pair"
    done

    mkdir -p "$dir"/{state,spool,log,run}
    rm -f "$dir"/log/*.log # the logs of this run only (a failed start shows their tail)
    : >"$dir/plugstack.conf"
    choose_host
    write_conf

    # MUNGE: the key, then a munged on the default socket (Slurm's auth/munge
    # talks to /run/munge/munge.socket.2).
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating a MUNGE key (/etc/munge/munge.key)"
        mkdir -p /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    if munge_ok; then
        say "using the munged that already runs"
    else
        install -d -o munge -g munge -m 0755 /run/munge
        runuser -u munge -- /usr/sbin/munged --log-file=/var/log/munge/munged.log
        # munged writes its pid file as user munge; ours records that we
        # started it (stop ends only that one).
        local n=50
        until { munge_ok && alive munged /run/munge/munged.pid; } || [ "$n" = 0 ]; do
            sleep 0.1
            n=$((n - 1))
        done
        if ! munge_ok || ! alive munged /run/munge/munged.pid; then
            logs_tail
            die "munged did not start"
        fi
        cp /run/munge/munged.pid "$dir/run/munged.pid"
    fi

    # Cold start: slurmctld -c drops the state of an earlier run.
    # slurmd -N: in the UTS namespace the hostname is not the node's name.
    start_daemon slurmctld "$ctld_pidfile" "${in_ns[@]}" slurmctld -c
    start_daemon slurmd "$slurmd_pidfile" "${in_ns[@]}" slurmd -N "$node_name"

    local t=$SECONDS state=
    while [ $((SECONDS - t)) -le "$wait_s" ]; do
        state=$(sinfo -h -o %T 2>/dev/null || true)
        [ "$state" = idle ] && break
        sleep 0.2
    done
    if [ "$state" != idle ]; then
        say "the node is not idle after $wait_s s (sinfo: '${state:-no answer}')"
        logs_tail
        do_stop quiet
        exit 1
    fi
    # The daemons must listen on 127.0.0.1 only.
    local other
    if command -v ss >/dev/null 2>&1; then
        other=$(ss -Hltn "( sport = :$ctld_port or sport = :$slurmd_port )" | awk '$4 !~ /^127\.0\.0\.1:/ { print $4 }')
        if [ -n "$other" ]; then
            say "the daemons listen on other addresses than 127.0.0.1: $(echo "$other" | tr '\n' ' ')"
            do_stop quiet
            exit 1
        fi
    fi
    say "started in $(since_s "$t0") s: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %T' | head -n 1), 127.0.0.1:$ctld_port (state in $dir)"
    echo "export SLURM_CONF=$conf"
}

do_stop() {
    local quiet=${1:-} t0 ctld slurmd munged
    t0=$(now_ms)
    set_pidfiles
    export SLURM_CONF=$conf
    ctld=$(pid_of slurmctld "$ctld_pidfile")
    slurmd=$(pid_of slurmd "$slurmd_pidfile")
    munged=$(pid_of munged "$dir/run/munged.pid")
    if [ -z "$ctld$slurmd$munged" ]; then
        [ -n "$quiet" ] || say "does not run: nothing to stop"
        rm -f "$ctld_pidfile" "$slurmd_pidfile" "$dir/run/munged.pid"
        return 0
    fi
    if [ -n "$ctld" ]; then
        # Jobs still running (a failed or interrupted run) would leave their
        # slurmstepd and tasks behind: cancel them first.
        if [ -n "$(squeue -h -p "$partition" -o %i 2>/dev/null || true)" ]; then
            say "cancelling the jobs that still run"
            scancel -p "$partition" 2>/dev/null || true
            local n=100
            while [ -n "$(squeue -h -p "$partition" -o %i 2>/dev/null || true)" ] && [ "$n" -gt 0 ]; do
                sleep 0.1
                n=$((n - 1))
            done
        fi
        scontrol shutdown >/dev/null 2>&1 || true
        wait_exit 30 slurmctld "$ctld" || say "slurmctld did not exit within 30 s of 'scontrol shutdown'"
    fi
    # scontrol shutdown also stops slurmd; without slurmctld, or if they
    # hang, SIGTERM (then SIGKILL).
    [ -z "$slurmd" ] || wait_exit 5 slurmd "$slurmd" || true
    end slurmctld "$ctld"
    end slurmd "$slurmd"
    end munged "$munged"
    rm -f "$ctld_pidfile" "$slurmd_pidfile" "$dir/run/munged.pid"
    [ -n "$quiet" ] || say "stopped in $(since_s "$t0") s${munged:+ (and the munged that start started)}"
}

do_status() {
    set_pidfiles
    export SLURM_CONF=$conf
    if alive slurmctld "$ctld_pidfile"; then
        say "runs (state in $dir)"
        sinfo || true
        echo "export SLURM_CONF=$conf"
        return 0
    fi
    say "does not run (state directory $dir)"
    return 3
}

[ $# = 1 ] || usage
case "$1" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) usage ;;
esac
