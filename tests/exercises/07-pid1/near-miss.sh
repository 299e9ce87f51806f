# fails: /proc in its mount namespace shows that PID namespace
# PID 1 of a new namespace with company, but /proc is still the sandbox's.
unshare --pid --fork sh -c 'sleep 1000 & wait' &
