unshare --user --map-root-user sleep 1000 &
