# The sandbox's cgroup: /sys/fs/cgroup (v2) or /sys/fs/cgroup/pids (v1).
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then cg=/sys/fs/cgroup; else cg=/sys/fs/cgroup/pids; fi
mkdir "$cg/mine"
echo 5 > "$cg/mine/pids.max"
sh -c "echo \$\$ > $cg/mine/cgroup.procs; exec sleep 1000" &
