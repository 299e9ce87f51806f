# fails: its uid_map maps uid 0 to the shell's uid, one id
# A user namespace, but nothing is mapped.
unshare --user sleep 1000 &
