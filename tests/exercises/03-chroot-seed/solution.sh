# A merged-/usr system: /bin, /lib and /lib64 are links into /usr.
set -e
for d in bin lib lib64; do
    if [ -d /usr/$d ]; then
        mkdir -p /tmp/xroot/$d
        mount --bind /usr/$d /tmp/xroot/$d
    fi
done
mkdir -p /tmp/xroot/proc
chroot /tmp/xroot /bin/sh -c 'mount -t proc proc /proc; exec sleep 1000' &
