#!/usr/bin/env bash
# Smoke check of a Slurm cluster, the way the co-simulation uses it: a
# 4-task job array (sbatch --array=0-3) whose tasks write their output and
# their exit code into a run directory; polls squeue until the job is gone
# and checks every task. No accounting database: exit codes come from the
# files the tasks write, not from sacct. Prints how long the array took.
#   scripts/with-slurm.sh scripts/slurm-smoke.sh [SBATCH OPTIONS...]
# SBATCH OPTIONS (e.g. --partition=..., --account=...) are passed through.
# The run directory is removed when the check passes and kept otherwise.
set -euo pipefail

say() { echo "slurm-smoke: $*" >&2; }
now_ms() { date +%s%3N; }

[ -n "${SLURM_CONF:-}" ] || say "SLURM_CONF is not set: using the system's Slurm configuration"
tasks=4
timeout_s=${TRITIUM_SLURM_SMOKE_TIMEOUT:-120}
run=$(mktemp -d "${TMPDIR:-/tmp}/tritium-slurm-smoke.XXXXXX")
chmod 755 "$run"

# One array task: the exit code of the work goes to task-N.status (also
# when the work fails); the work is trivial and deterministic.
cat >"$run/task.sh" <<'EOF'
#!/usr/bin/env bash
run=$1
id=$SLURM_ARRAY_TASK_ID
trap 'echo $? >"$run/task-$id.status"' EXIT
set -eu
echo "task $id of array $SLURM_ARRAY_JOB_ID: $((id * id)) on node $SLURMD_NODENAME" >"$run/task-$id.out"
EOF
chmod 755 "$run/task.sh"

t0=$(now_ms)
job=$(sbatch --parsable --array=0-$((tasks - 1)) --job-name=tritium-smoke \
    --chdir="$run" --output="$run/slurm-%A_%a.log" --time=5 "$@" "$run/task.sh" "$run")
job=${job%%;*} # --parsable prints "id;cluster" on multi-cluster setups
say "submitted job array $job ($tasks tasks), run directory $run"

# The job is done when none of its tasks is pending, running or completing.
# (`squeue -j ID` alone also lists finished tasks, state CD, for MinJobAge
# seconds; once they are purged, squeue fails with "Invalid job id": done.
# Other squeue errors are retried until the deadline.)
deadline=$((SECONDS + timeout_s))
while :; do
    if left=$(squeue -h -j "$job" -t PD,CF,R,CG,S,RS,RH,RF,SE,SO,ST -o %i 2>"$run/squeue.err"); then
        [ -z "$left" ] && break
    elif grep -q 'Invalid job id' "$run/squeue.err"; then
        break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "job $job still in the queue after $timeout_s s:"
        cat "$run/squeue.err" >&2
        squeue -j "$job" >&2 || true
        scancel "$job" || true
        exit 1
    fi
    sleep 0.2
done
t_ms=$(($(now_ms) - t0))

bad=0
for ((i = 0; i < tasks; i++)); do
    status=$(cat "$run/task-$i.status" 2>/dev/null || echo missing)
    want="task $i of array $job: $((i * i)) on node "
    out=$(cat "$run/task-$i.out" 2>/dev/null || true)
    if [ "$status" != 0 ] || [ "${out#"$want"}" = "$out" ]; then
        say "task $i: exit code $status, output '$out' (want '$want...')"
        [ -s "$run/slurm-${job}_$i.log" ] && sed 's/^/  | /' "$run/slurm-${job}_$i.log" >&2
        bad=1
    fi
done
if [ "$bad" != 0 ]; then
    say "FAILED (run directory kept: $run)"
    exit 1
fi
say "ok: $tasks array tasks ran and exited 0 in $(awk -v d="$t_ms" 'BEGIN { printf "%.1f", d / 1000 }') s (submit to last task done)"
rm -rf "$run"
