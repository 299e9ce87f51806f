touch /tmp/uts-kept
unshare --uts=/tmp/uts-kept hostname kept
