# fails: its hostname
# A UTS namespace of its own, but its hostname is still the copied one.
unshare --uts sleep 1000 &
