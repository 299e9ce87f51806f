# fails: its namespace holds one message queue (/proc/sysvipc/msg read inside it)
# The queue is made in the sandbox's namespace, before the new one.
ipcmk -Q >/dev/null
unshare --ipc sleep 1000 &
