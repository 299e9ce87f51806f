# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lab_global_optspecs
    string join \n color= h/help V/version
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
complete -c lab -n "__fish_lab_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_needs_command" -s V -l version -d 'Print version'
complete -c lab -n "__fish_lab_needs_command" -f -a "list" -d 'List the labs in order, with what each needs and whether it can run fully here'
complete -c lab -n "__fish_lab_needs_command" -f -a "run" -d 'Run labs (all, in order, by default) and check what the kernel did'
complete -c lab -n "__fish_lab_needs_command" -f -a "explain" -d 'Print a lab\'s explanation, through the pager when it is taller than the terminal'
complete -c lab -n "__fish_lab_needs_command" -f -a "doctor" -d 'Report what this machine offers the labs: kernel, cgroups, user namespaces, privilege'
complete -c lab -n "__fish_lab_needs_command" -f -a "container" -d 'Run a command in a container made of every mechanism of the labs'
complete -c lab -n "__fish_lab_needs_command" -f -a "bench" -d 'Measure what each mechanism costs: fork, clone with each namespace, mounts, pivot_root, and the whole start of `lab container` side by side with bubblewrap and util-linux unshare when they are installed'
complete -c lab -n "__fish_lab_needs_command" -f -a "inspect" -d 'Show one process\'s container-relevant state: namespaces compared with PID 1\'s, uid/gid maps, capability sets, cgroups, root, seccomp, no_new_privs. Without a PID, list the processes that hold capabilities (like `pscap -a`)'
complete -c lab -n "__fish_lab_needs_command" -f -a "completions" -d 'Print a shell\'s completion script for `lab`'
complete -c lab -n "__fish_lab_needs_command" -f -a "man" -d 'Print the manual page (roff) of `lab`, or of one of its commands: `lab man | man -l -`, `lab man run | man -l -`'
complete -c lab -n "__fish_lab_using_subcommand list" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand list" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand run" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document: environment, labs with their steps, summary'
junit\t'JUnit XML: a test suite per lab, a test case per step'
tap\t'TAP version 13: a test point per step'"
complete -c lab -n "__fish_lab_using_subcommand run" -l timeout -d 'Seconds a lab may take before it is killed and reported as broken' -r
complete -c lab -n "__fish_lab_using_subcommand run" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand run" -s q -l quiet -d 'Print only the summary and what failed or broke (the failing steps in full)'
complete -c lab -n "__fish_lab_using_subcommand run" -s v -l verbose -d 'Also print how long each step took and what each lab wrote on stderr'
complete -c lab -n "__fish_lab_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand explain" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand explain" -l no-pager -d 'Print directly, without the pager'
complete -c lab -n "__fish_lab_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand doctor" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand doctor" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand container" -l rootfs -d 'A prepared root filesystem (e.g. made by debootstrap) instead of the one assembled from the host\'s /usr' -r -F
complete -c lab -n "__fish_lab_using_subcommand container" -l hostname -d 'The container\'s hostname' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l net -d 'The network: `none` (lo down) or `loopback` (lo up)' -r -f -a "none\t'A network namespace with `lo` down: no networking at all'
loopback\t'A network namespace with `lo` up'"
complete -c lab -n "__fish_lab_using_subcommand container" -l memory -d 'Memory limit: bytes, or with a K, M or G suffix (e.g. 256M)' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l pids -d 'Most processes the container may hold at once' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l cpus -d 'Share of CPU time, in CPUs (e.g. 0.5)' -r
complete -c lab -n "__fish_lab_using_subcommand container" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
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
complete -c lab -n "__fish_lab_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand inspect" -l format -d 'Output format' -r -f -a "human\t'For people: narration, ✓/✗ and a summary'
json\t'One JSON document on stdout'"
complete -c lab -n "__fish_lab_using_subcommand inspect" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand completions" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lab -n "__fish_lab_using_subcommand man" -l color -d 'When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal' -r -f -a "auto\t'When stdout is a terminal and `NO_COLOR` is unset'
always\t'Always'
never\t'Never'"
complete -c lab -n "__fish_lab_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
