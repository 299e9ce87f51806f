mkdir -p /tmp/xroot/bin
mount --bind /usr/bin /tmp/xroot/bin
