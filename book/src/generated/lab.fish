# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lab_global_optspecs
    string join \n color= lang= h/help V/version
end

function __fish_lab_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lab_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lab_using_subcommand
    set -l cmd (__fish_lab_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lab -n "__fish_lab_needs_command" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_needs_command" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_needs_command" -s V -l version -d 'Print version'
complete -c lab -n "__fish_lab_needs_command" -f -a "list" -d 'List the labs in order, with what each needs and whether it can run fully here'
complete -c lab -n "__fish_lab_needs_command" -f -a "run" -d 'Run labs (all, in order, by default) and check what the kernel did'
complete -c lab -n "__fish_lab_needs_command" -f -a "explain" -d 'Print a lab\'s explanation, through the pager when it is taller than the terminal'
complete -c lab -n "__fish_lab_needs_command" -f -a "doctor" -d 'Report what this machine offers the labs and what blocks them: privilege, seccomp, security modules, user namespaces and their limits, cgroups, kernel features; per lab, and how to unblock'
complete -c lab -n "__fish_lab_needs_command" -f -a "container" -d 'Run a command in a container made of every mechanism of the labs'
complete -c lab -n "__fish_lab_needs_command" -f -a "bench" -d 'Measure what each mechanism costs: fork, clone with each namespace, mounts, pivot_root, and the whole start of `lab container` side by side with bubblewrap and util-linux unshare when they are installed'
complete -c lab -n "__fish_lab_needs_command" -f -a "inspect" -d 'Show one process\'s container-relevant state: namespaces compared with PID 1\'s, uid/gid maps, capability sets, cgroups, root, seccomp, no_new_privs. Without a PID, list the processes that hold capabilities (like `pscap -a`)'
complete -c lab -n "__fish_lab_needs_command" -f -a "completions" -d 'Print a shell\'s completion script for `lab`'
complete -c lab -n "__fish_lab_needs_command" -f -a "man" -d 'Print the manual page (roff) of `lab`, or of one of its commands: `lab man | man -l -`, `lab man run | man -l -`'
complete -c lab -n "__fish_lab_needs_command" -f -a "exercise" -d 'Hands-on exercises, checked by the kernel: a task, a sandbox to solve it in with standard tools, and checks that read the sandbox\'s kernel state (never your commands)'
complete -c lab -n "__fish_lab_needs_command" -f -a "vm" -d 'Boot a kernel under qemu and run the suite in it, as root or as a user: `lab vm --kernel linux-image-....deb --cgroup v2 -- run --format json`'
complete -c lab -n "__fish_lab_needs_command" -f -a "diff" -d 'Compare two JSON reports check by check: regressions, fixes, newly unsupported or skipped, added or removed labs and checks, changed values. Exit 0 when nothing differs, 1 when something does, 2 on bad input'
complete -c lab -n "__fish_lab_needs_command" -f -a "matrix" -d 'Run `lab vm` over kernels × cgroup layouts × users, several at once, and print the table of results (lab × configuration)'
complete -c lab -n "__fish_lab_using_subcommand list" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand list" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand list" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand run" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document: environment, labs with their steps, summary'
junit\t'JUnit XML: a test suite per lab, a test case per step'
tap\t'TAP version 13: a test point per step'"
complete -c lab -n "__fish_lab_using_subcommand run" -l timeout -d 'Seconds a lab may take before it is killed and reported as broken' -r
complete -c lab -n "__fish_lab_using_subcommand run" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand run" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand run" -s q -l quiet -d 'Print only the summary and what failed or broke (the failing steps in full)'
complete -c lab -n "__fish_lab_using_subcommand run" -s v -l verbose -d 'Also print how long each step took and what each lab wrote on stderr'
complete -c lab -n "__fish_lab_using_subcommand run" -l step -d 'Pause before each step, for a live demonstration: Enter runs it, `q` stops and prints what ran so far (human output only)'
complete -c lab -n "__fish_lab_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand explain" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand explain" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand explain" -l no-pager -d 'Print directly, without the pager'
complete -c lab -n "__fish_lab_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand doctor" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand doctor" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand doctor" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand container" -l rootfs -d 'The image: a prepared root filesystem (e.g. made by debootstrap), or its layers stacked by overlayfs, the top one first (`A:B:C`), instead of the root assembled from the host\'s /usr' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l layer -d 'One layer of the image, the top one first; repeat it for more (for a directory whose name holds a colon)' -r -F
complete -c lab -n "__fish_lab_using_subcommand container" -l seccomp -d 'The seccomp filter: `default` refuses what Docker\'s default profile refuses; `unconfined` installs none' -r -f -a "default\t'What Docker\'s default profile refuses: mount, unshare, keyctl, …'
unconfined\t'No filter'"
complete -c lab -n "__fish_lab_using_subcommand container" -l hostname -d 'The container\'s hostname' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l net -d 'The network: `none` (lo down) or `loopback` (lo up)' -r -f -a "none\t'A network namespace with `lo` down: no networking at all'
loopback\t'A network namespace with `lo` up'"
complete -c lab -n "__fish_lab_using_subcommand container" -l memory -d 'Memory limit: bytes, or with a K, M or G suffix (e.g. 256M)' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l pids -d 'Most processes the container may hold at once' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l cpus -d 'Share of CPU time, in CPUs (e.g. 0.5)' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand container" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand container" -l read-only -d 'Keep the root read-only: no writable layer above the image (or the host\'s /usr), so writes there fail with EROFS'
complete -c lab -n "__fish_lab_using_subcommand container" -s v -l verbose -d 'Tell each system call of the set-up on stderr'
complete -c lab -n "__fish_lab_using_subcommand container" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand bench" -l format -d 'Output format' -r -f -a "human\t'For people: aligned columns'
markdown\t'Markdown tables (the book\'s)'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand bench" -l runs -d 'Timed runs of each operation' -r
complete -c lab -n "__fish_lab_using_subcommand bench" -l warmup -d 'Untimed runs before' -r
complete -c lab -n "__fish_lab_using_subcommand bench" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand bench" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand inspect" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand inspect" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand inspect" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand completions" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand completions" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand man" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand man" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -f -a "list" -d 'List the exercises: their lab, whether each can run here (privilege and tools) and your progress (✓ done, attempted, new)'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -f -a "start" -d 'Print the task, then open a shell ($SHELL, else sh) in a sandbox; the checks run every second and say ✓ when they hold. `exit` leaves and removes the sandbox'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -f -a "check" -d 'Inside a sandbox: expected and actual of every check, now (exit 0 when every check holds, 1 when one does not)'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -f -a "hint" -d 'Inside a sandbox: a hint; the first looks at what you did so far, each further one says more'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -f -a "run" -d 'For instructors and CI: run FILE with sh in a fresh sandbox, then the checks, while what it left in the background still runs; then remove the sandbox. Exit 0 when every check holds (or the exercise cannot run here: skip, with the reason), 1 when one fails'
complete -c lab -n "__fish_lab_using_subcommand exercise; and not __fish_seen_subcommand_from list start check hint run reset" -f -a "reset" -d 'Forget your progress on one exercise, or on all of them (asks first)'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from list" -l format -d 'Output format (`json` is what an instructor collects)' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from list" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from list" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from start" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from start" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from check" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from check" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from hint" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from hint" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from hint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from run" -l solution -d 'The shell script that solves it' -r -F
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from run" -l format -d 'Output format' -r -f -a "human\t'For people: ✓/✗ per check with expected and actual, and the hint'
json\t'One JSON document'
tap\t'TAP version 13: a test point per check'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from run" -l timeout -d 'Seconds the solution may take to return' -r
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from run" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from run" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from reset" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from reset" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from reset" -s y -l yes -d 'Do not ask'
complete -c lab -n "__fish_lab_using_subcommand exercise; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand vm" -l kernel -d 'The kernel: a bzImage (its modules from /lib/modules/RELEASE) or a linux-image .deb (unpacked into a temporary directory, not installed)' -r -F
complete -c lab -n "__fish_lab_using_subcommand vm" -l cgroup -d 'The guest\'s cgroup layout' -r -f -a "v2\t'Pure cgroup v2: the unified hierarchy on /sys/fs/cgroup'
v1\t'Pure cgroup v1: one hierarchy per controller, no unified hierarchy'
hybrid\t'v1 controllers and an empty unified hierarchy on /sys/fs/cgroup/unified'"
complete -c lab -n "__fish_lab_using_subcommand vm" -l as -d 'Who runs the suite: root, or a user id (given a delegated cgroup v2 subtree, as systemd gives a user session)' -r
complete -c lab -n "__fish_lab_using_subcommand vm" -l memory -d 'Guest memory in MiB' -r
complete -c lab -n "__fish_lab_using_subcommand vm" -l timeout -d 'Seconds the guest may run once booted, before it is stopped' -r
complete -c lab -n "__fish_lab_using_subcommand vm" -l boot-timeout -d 'Seconds the kernel may take to reach /init' -r
complete -c lab -n "__fish_lab_using_subcommand vm" -l accel -d 'The accelerator: `auto` tries KVM behind a boot watchdog and falls back to TCG' -r -f -a "auto\t'KVM behind a boot watchdog, else TCG'
kvm\t'KVM only'
tcg\t'TCG (emulation) only'"
complete -c lab -n "__fish_lab_using_subcommand vm" -l lab -d 'The `lab` executable to boot (default: this one), e.g. a static build' -r -F
complete -c lab -n "__fish_lab_using_subcommand vm" -l modules -d 'Kernel modules to load from the kernel\'s own lib/modules, with their dependencies (`none`: load nothing, e.g. to see a lab without veth)' -r
complete -c lab -n "__fish_lab_using_subcommand vm" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand vm" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand vm" -l initial-rootfs -d 'Run the suite on the kernel\'s initial rootfs (no tmpfs `/`): what labs 03 and 17 meet where `pivot_root` is refused'
complete -c lab -n "__fish_lab_using_subcommand vm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand diff" -l known -d 'Expected differences to waive: a TOML file of `[[waive]]` tables (`lab`, optional `step`, `check`, `class`, `kernel` range such as ">=5.10, <5.11", and the `reason`)' -r -F
complete -c lab -n "__fish_lab_using_subcommand diff" -l format -d 'Output format' -r -f -a "human\t'For people'
json\t'One JSON document'
markdown\t'A Markdown table'"
complete -c lab -n "__fish_lab_using_subcommand diff" -l vm -d 'Make B now: boot a kernel with `lab vm` and run the suite in it. Takes the rest of the line: lab vm\'s options (e.g. `--vm --kernel K.deb --cgroup v1 --as 65534`), optionally `-- run [IDS...]`' -r
complete -c lab -n "__fish_lab_using_subcommand diff" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand diff" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand matrix" -l kernel -d 'A kernel (bzImage or linux-image .deb); repeat for several' -r -F
complete -c lab -n "__fish_lab_using_subcommand matrix" -l cgroup -d 'Cgroup layouts, comma-separated (default v2)' -r -f -a "v2\t'Pure cgroup v2: the unified hierarchy on /sys/fs/cgroup'
v1\t'Pure cgroup v1: one hierarchy per controller, no unified hierarchy'
hybrid\t'v1 controllers and an empty unified hierarchy on /sys/fs/cgroup/unified'"
complete -c lab -n "__fish_lab_using_subcommand matrix" -l as -d 'Users, comma-separated: `root` or user ids (default root)' -r
complete -c lab -n "__fish_lab_using_subcommand matrix" -l config -d 'A TOML file with `kernels`, `cgroups`, `users` and `jobs` (paths relative to the file); the command line adds to it' -r -F
complete -c lab -n "__fish_lab_using_subcommand matrix" -l jobs -d 'VMs run at once (default 2)' -r
complete -c lab -n "__fish_lab_using_subcommand matrix" -l format -d 'Output format' -r -f -a "human\t'For people'
json\t'One JSON document'
markdown\t'A Markdown table'"
complete -c lab -n "__fish_lab_using_subcommand matrix" -l reports -d 'Also write each configuration\'s report (JSON) into this directory' -r -F
complete -c lab -n "__fish_lab_using_subcommand matrix" -l update-readme -d 'Regenerate the "Kernels checked" table of this README (default README.md) from this run' -r -F
complete -c lab -n "__fish_lab_using_subcommand matrix" -l memory -d 'Guest memory in MiB' -r
complete -c lab -n "__fish_lab_using_subcommand matrix" -l timeout -d 'Seconds the guest may run once booted, before it is stopped' -r
complete -c lab -n "__fish_lab_using_subcommand matrix" -l boot-timeout -d 'Seconds the kernel may take to reach /init' -r
complete -c lab -n "__fish_lab_using_subcommand matrix" -l accel -d 'The accelerator: `auto` tries KVM behind a boot watchdog and falls back to TCG' -r -f -a "auto\t'KVM behind a boot watchdog, else TCG'
kvm\t'KVM only'
tcg\t'TCG (emulation) only'"
complete -c lab -n "__fish_lab_using_subcommand matrix" -l lab -d 'The `lab` executable to boot (default: this one), e.g. a static build' -r -F
complete -c lab -n "__fish_lab_using_subcommand matrix" -l modules -d 'Kernel modules to load from the kernel\'s own lib/modules, with their dependencies (`none`: load nothing, e.g. to see a lab without veth)' -r
complete -c lab -n "__fish_lab_using_subcommand matrix" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand matrix" -l lang -d 'Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG); given explicitly, also of the JSON, JUnit and TAP reports' -r -f -a "en\t'English, the source text'
ja\t'Japanese'"
complete -c lab -n "__fish_lab_using_subcommand matrix" -l initial-rootfs -d 'Run the suite on the kernel\'s initial rootfs (no tmpfs `/`): what labs 03 and 17 meet where `pivot_root` is refused'
complete -c lab -n "__fish_lab_using_subcommand matrix" -s h -l help -d 'Print help (see more with \'--help\')'
