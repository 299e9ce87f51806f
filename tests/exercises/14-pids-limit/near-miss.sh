# fails: that cgroup's pids.max
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then cg=/sys/fs/cgroup; else cg=/sys/fs/cgroup/pids; fi
mkdir "$cg/mine"
echo 6 > "$cg/mine/pids.max"
sh -c "echo \$\$ > $cg/mine/cgroup.procs; exec sleep 1000" &
