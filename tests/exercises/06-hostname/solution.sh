unshare --uts sh -c 'hostname myhost; exec sleep 1000' &
