# fails: /proc inside it is a procfs mount
set -e
for d in bin lib lib64; do
    if [ -d /usr/$d ]; then
        mkdir -p /tmp/xroot/$d
        mount --bind /usr/$d /tmp/xroot/$d
    fi
done
mkdir -p /tmp/xroot/proc
chroot /tmp/xroot /bin/sleep 1000 &
