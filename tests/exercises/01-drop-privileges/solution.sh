# All three uids and gids to 65534, no supplementary groups; the shell stays root.
setpriv --reuid 65534 --regid 65534 --clear-groups sleep 1000 &
