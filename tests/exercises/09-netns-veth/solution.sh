set -e
ip netns add mynet
ip link add veth0 type veth peer name veth1 netns mynet
ip addr add 10.200.0.1/24 dev veth0
ip link set veth0 up
ip -n mynet addr add 10.200.0.2/24 dev veth1
ip -n mynet link set veth1 up
