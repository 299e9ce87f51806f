unshare --pid --fork --mount-proc sh -c 'sleep 1000 & wait' &
