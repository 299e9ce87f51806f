unshare --mount --propagation slave sleep 1000 &
