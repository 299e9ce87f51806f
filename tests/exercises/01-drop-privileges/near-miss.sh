# fails: its real, effective and saved uid
# Only the effective ids change: the process could become root again.
setpriv --euid 65534 --egid 65534 --clear-groups sleep 1000 &
