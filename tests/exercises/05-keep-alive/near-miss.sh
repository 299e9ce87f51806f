# fails: no process is in that namespace
# The namespace is kept by the mount, but also by a process that stays in it.
touch /tmp/uts-kept
unshare --uts=/tmp/uts-kept sh -c 'hostname kept; exec sleep 1000' &
