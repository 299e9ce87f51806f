unshare --mount --propagation slave sleep 1000 &
sleep 0.2
