unshare --user --map-root-user sleep 1000 &
sleep 0.2
