#!/usr/bin/env bash
# Stop exactly the daemons .ci/slurm_up.sh started, by the PIDs it recorded.
for name in slurmd slurmctld slurmdbd mariadbd munged; do
  file=/run/slurm-ci/$name.pid
  [ -s "$file" ] || continue
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
done
