#!/usr/bin/env bash
# Stand up a one-node Slurm cluster on this machine for CI (Debian's slurmctld, slurmd, slurmdbd,
# munge, mariadb-server), without systemd, as root. Every daemon's PID ends up in
# /run/slurm-ci/*.pid, so .ci/slurm_down.sh stops exactly what this started.
set -euo pipefail
t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v mariadbd >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client slurmdbd \
    mariadb-server >/dev/null
fi
pids=/run/slurm-ci
mkdir -p $pids /run/munge /run/mysqld /run/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown munge:munge /run/munge
chown mysql:mysql /run/mysqld
chown slurm:slurm /run/slurm /var/spool/slurmctld /var/log/slurm
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
memory=$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) - 2048 ))
# The hostname of these machines is not localhost: the node is called localhost explicitly.
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
MinJobAge=300
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
CONF
chown slurm:slurm /etc/slurm/slurmdbd.conf
chmod 600 /etc/slurm/slurmdbd.conf
wait_for() {
  local n=0
  until eval "$1" >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -gt 120 ] && { echo "slurm_up: timed out waiting for: $1" >&2; return 1; }
    sleep 0.5
  done
}
runuser -u munge -- /usr/sbin/munged
wait_for 'munge -n | unmunge'
cp /run/munge/munged.pid $pids/munged.pid
setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 --pid-file=/run/mysqld/mariadbd.pid \
  >/var/log/slurm/mariadb.log 2>&1 &
wait_for 'mysqladmin ping'
cp /run/mysqld/mariadbd.pid $pids/mariadbd.pid
mysql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
/usr/sbin/slurmdbd
wait_for 'sacctmgr -n show cluster format=cluster'
cp /run/slurm/slurmdbd.pid $pids/slurmdbd.pid
sacctmgr -i add cluster ci >/dev/null || true
/usr/sbin/slurmctld
wait_for 'test -s /run/slurm/slurmctld.pid'
cp /run/slurm/slurmctld.pid $pids/slurmctld.pid
/usr/sbin/slurmd -N localhost
wait_for 'test -s /run/slurm/slurmd.pid'
cp /run/slurm/slurmd.pid $pids/slurmd.pid
wait_for 'sinfo -h -o %T | grep -qx idle'
echo "slurm_up: cluster up in $(( $(date +%s) - t0 )) s"
sinfo
