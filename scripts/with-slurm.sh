#!/usr/bin/env bash
# Runs CMD with a single-node Slurm cluster (scripts/slurm-cluster.sh):
# starts the cluster, exports SLURM_CONF, runs CMD, and stops the cluster
# when CMD ends, also when it fails, when start fails half-way, or when this
# script gets SIGINT/SIGTERM (CMD gets SIGTERM first). Exits with CMD's
# status (130/143 when interrupted). A cluster that already ran before is
# used and left running.
#   scripts/with-slurm.sh scripts/slurm-smoke.sh
# shellcheck disable=SC2317 # (the functions run from the traps)
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: scripts/with-slurm.sh CMD [ARGS...]" >&2; exit 2; }
cluster=$(cd "$(dirname "$0")" && pwd)/slurm-cluster.sh

ours=1
child=
stop_cluster() {
    [ "$ours" = 1 ] || return 0
    ours=0
    "$cluster" stop || echo "with-slurm: stopping the cluster failed" >&2
}
on_signal() {
    trap '' INT TERM
    echo "with-slurm: interrupted" >&2
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    exit "$1" # the EXIT trap stops the cluster
}
trap stop_cluster EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

if "$cluster" status >/dev/null 2>&1; then
    ours=0
    echo "with-slurm: the cluster already runs: using it (and leaving it running)" >&2
fi
SLURM_CONF=$("$cluster" start | sed -n 's/^export SLURM_CONF=//p')
[ -n "$SLURM_CONF" ] || { echo "with-slurm: slurm-cluster.sh start printed no SLURM_CONF" >&2; exit 1; }
export SLURM_CONF

# CMD runs in the background so that a signal to this script is handled at
# once (bash runs traps only between foreground commands).
"$@" &
child=$!
status=0
wait "$child" || status=$?
child=
exit "$status"
