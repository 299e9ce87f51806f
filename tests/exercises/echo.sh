# Prints what a passing run prints, and does nothing else: the checks read
# the kernel's state, so this must fail.
echo "✓ every check holds"
echo "expected: myhost"
echo "actual:   myhost"
echo "pass"
exit 0
