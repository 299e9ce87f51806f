unshare --ipc sh -c 'ipcmk -Q >/dev/null; exec sleep 1000' &
