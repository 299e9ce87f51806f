# fails: its root mount receives from the sandbox's (mountinfo master:)
# unshare's default: every mount private, nothing propagates either way.
unshare --mount sleep 1000 &
