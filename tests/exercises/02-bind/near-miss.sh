# fails: what it shows is /usr/bin itself (same device and inode)
# A bind mount, but of the wrong directory.
mkdir -p /tmp/xroot/bin
mount --bind /usr/sbin /tmp/xroot/bin
