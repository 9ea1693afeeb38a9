# fish completion for psxj: subcommands, options and their values. Written by
# tools/cli_files.py from psxj's argparse tree: do not edit, run it again.

function __fish_psxj_words --description 'The words after psxj, without a --lang before the subcommand'
    set -l words (commandline -opc)
    set -e words[1]
    if test "$words[1]" = --lang
        set -e words[1..2]
    else if string match -q -- '--lang=*' "$words[1]"
        set -e words[1]
    end
    string join \n -- $words
end

function __fish_psxj_command --description 'The subcommand on the line, or table'
    set -l words (__fish_psxj_words)
    if set -q words[1]; and contains -- $words[1] record diff audit events why demo serve
        echo $words[1]
    else
        echo table
    end
end

function __fish_psxj_using --argument-names command
    test (__fish_psxj_command) = $command
end

function __fish_psxj_first_word
    test (count (__fish_psxj_words)) -eq 0
end

function __fish_psxj_list --description 'Candidates for the last item of a comma-separated list'
    set -l head (string replace -r '[^,]*$' '' -- (commandline -ct))
    for candidate in $argv
        printf '%s%s\n' $head $candidate
    end
end

function __fish_psxj_sessions
    ps -A -o sid= 2>/dev/null | string trim | sort -un
end

function __fish_psxj_ttys
    echo '?'
    for tty in /dev/pts/* /dev/tty*
        string match -qr '^/dev/(pts/|tty)[0-9]+$' -- $tty; and string replace /dev/ '' -- $tty
    end
end

function __fish_psxj_commands
    ps -A -o comm= 2>/dev/null | sort -u
end

function __fish_psxj_targets --description 'What psxj why takes: a path, a PID, a command name, a listening port'
    set -l token (commandline -ct)
    if string match -q -- '*/*' $token
        __fish_complete_path $token
        return
    end
    __fish_complete_pids
    __fish_psxj_commands | string match -v -- '*/*'
    # TCP in LISTEN (0A), UDP bound and unconnected (07), as psxj why counts them: :PORT and PROTO:PORT.
    for proto in tcp udp
        set -l state 0A
        test $proto = udp; and set state 07
        for file in /proc/net/$proto /proc/net/{$proto}6
            test -r $file; or continue
            for hex in (string match -r -g -- '^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})\s+\S+\s+'$state'\s' <$file)
                set -l port (math 0x$hex)
                printf ':%s\t%s\n%s:%s\t%s\n' $port 'listening port' $proto $port 'listening port'
            end
        end
    end | sort -u
end

complete -c psxj -f
complete -c psxj -n __fish_psxj_first_word -a record -d 'record the table over time, into a directory'
complete -c psxj -n __fish_psxj_first_word -a diff -d 'compare two tables: what appeared, vanished and changed'
complete -c psxj -n __fish_psxj_first_word -a audit -d 'check processes against the daemon rules, with evidence'
complete -c psxj -n __fish_psxj_first_word -a events -d 'a live log of fork, exec, setsid and exit'
complete -c psxj -n __fish_psxj_first_word -a why -d 'why a process, a port\'s listener or a file\'s holder runs, with evidence'
complete -c psxj -n __fish_psxj_first_word -a demo -d 'run the teaching daemon, its lab and its quiz'
complete -c psxj -n __fish_psxj_first_word -a serve -d 'the interface in a web browser, for whoever has its secret URL'

# psxj
complete -c psxj -n '__fish_psxj_using table' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using table' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using table' -s p -l pid -x -a '(__fish_psxj_list (__fish_complete_pids))' -d 'process IDs'
complete -c psxj -n '__fish_psxj_using table' -s s -l sid -x -a '(__fish_psxj_list (__fish_psxj_sessions))' -d 'session IDs'
complete -c psxj -n '__fish_psxj_using table' -s u -l user -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'effective users (names or numbers)'
complete -c psxj -n '__fish_psxj_using table' -s U -l User -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'real users (names or numbers)'
complete -c psxj -n '__fish_psxj_using table' -s g -l group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'effective groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using table' -s G -l Group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'real groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using table' -s t -l tty -x -a '(__fish_psxj_list (__fish_psxj_ttys))' -d 'terminals (pts/1, tty1, ? for none)'
complete -c psxj -n '__fish_psxj_using table' -s C -l command -x -a '(__fish_psxj_list (__fish_psxj_commands))' -d 'command names (the kernel\'s comm)'
complete -c psxj -n '__fish_psxj_using table' -l kind -x -a '(__fish_psxj_list kernel-thread zombie init container-init service worker monitor daemon leftover orphan job daemon-like)' -d 'kinds (daemon, service, orphan, job, ... or daemon-like)'
complete -c psxj -n '__fish_psxj_using table' -l print -d 'print the table as ps -axj does (the default when stdout is not a terminal)'
complete -c psxj -n '__fish_psxj_using table' -l json -d 'print the rows as a JSON array'
complete -c psxj -n '__fish_psxj_using table' -l csv -d 'print the rows as CSV'
complete -c psxj -n '__fish_psxj_using table' -l load -r -F -d 'read a saved table (ps text, psxj JSON or CSV, a recording; - for stdin), not /proc'
complete -c psxj -n '__fish_psxj_using table' -l at -x -d 'with --load of a recording: the table as it was at TIME (2024-05-01T03:00[Z], HH:MM[:SS] today, or -10m before the last table)'
complete -c psxj -n '__fish_psxj_using table' -l delay -x -d 'refresh interval of the interface (default 2)'
complete -c psxj -n '__fish_psxj_using table' -l no-events -d 'in the interface, do not listen to fork/exec/setsid/exit events'
complete -c psxj -n '__fish_psxj_using table' -l keep-demo -d 'leave a demo started in the interface running when psxj quits'
complete -c psxj -n '__fish_psxj_using table' -l version -d 'show psxj\'s version and exit'
complete -c psxj -n '__fish_psxj_using table' -l host -x -a '(__fish_psxj_list (__fish_print_hostnames))' -d 'read these hosts\' tables over SSH (the system\'s ssh, your ~/.ssh/config, agent and known_hosts; an unknown host key is an error)'
complete -c psxj -n '__fish_psxj_using table' -l hosts-file -r -F -d 'more hosts, one a line (# starts a comment)'
complete -c psxj -n '__fish_psxj_using table' -l host-timeout -x -d 'give up on a host that has not answered after this long (default 10)'
complete -c psxj -n '__fish_psxj_using table' -l ssh-config -r -F -d 'ssh\'s configuration file (ssh -F) instead of ~/.ssh/config'

# psxj record
complete -c psxj -n '__fish_psxj_using record' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using record' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using record' -l interval -x -d 'seconds between tables (default 2)'
complete -c psxj -n '__fish_psxj_using record' -l max-size -x -d 'bound the recording (e.g. 300M, 2G): the oldest data is deleted first'
complete -c psxj -n '__fish_psxj_using record' -l count -x -d 'stop after N tables (default: until interrupted)'
complete -c psxj -n '__fish_psxj_using record' -s p -l pid -x -a '(__fish_psxj_list (__fish_complete_pids))' -d 'process IDs'
complete -c psxj -n '__fish_psxj_using record' -s s -l sid -x -a '(__fish_psxj_list (__fish_psxj_sessions))' -d 'session IDs'
complete -c psxj -n '__fish_psxj_using record' -s u -l user -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'effective users (names or numbers)'
complete -c psxj -n '__fish_psxj_using record' -s U -l User -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'real users (names or numbers)'
complete -c psxj -n '__fish_psxj_using record' -s g -l group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'effective groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using record' -s G -l Group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'real groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using record' -s t -l tty -x -a '(__fish_psxj_list (__fish_psxj_ttys))' -d 'terminals (pts/1, tty1, ? for none)'
complete -c psxj -n '__fish_psxj_using record' -s C -l command -x -a '(__fish_psxj_list (__fish_psxj_commands))' -d 'command names (the kernel\'s comm)'
complete -c psxj -n '__fish_psxj_using record' -l kind -x -a '(__fish_psxj_list kernel-thread zombie init container-init service worker monitor daemon leftover orphan job daemon-like)' -d 'kinds (daemon, service, orphan, job, ... or daemon-like)'
complete -c psxj -n '__fish_psxj_using record' -a '(__fish_complete_directories)' -d 'the recording: a directory psxj makes (mode 0700)'

# psxj diff
complete -c psxj -n '__fish_psxj_using diff' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using diff' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using diff' -l json -d 'print the differences as JSON'
complete -c psxj -n '__fish_psxj_using diff' -l time -d 'also compare TIME (CPU time)'
complete -c psxj -n '__fish_psxj_using diff' -s p -l pid -x -a '(__fish_psxj_list (__fish_complete_pids))' -d 'process IDs'
complete -c psxj -n '__fish_psxj_using diff' -s s -l sid -x -a '(__fish_psxj_list (__fish_psxj_sessions))' -d 'session IDs'
complete -c psxj -n '__fish_psxj_using diff' -s u -l user -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'effective users (names or numbers)'
complete -c psxj -n '__fish_psxj_using diff' -s U -l User -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'real users (names or numbers)'
complete -c psxj -n '__fish_psxj_using diff' -s g -l group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'effective groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using diff' -s G -l Group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'real groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using diff' -s t -l tty -x -a '(__fish_psxj_list (__fish_psxj_ttys))' -d 'terminals (pts/1, tty1, ? for none)'
complete -c psxj -n '__fish_psxj_using diff' -s C -l command -x -a '(__fish_psxj_list (__fish_psxj_commands))' -d 'command names (the kernel\'s comm)'
complete -c psxj -n '__fish_psxj_using diff' -l kind -x -a '(__fish_psxj_list kernel-thread zombie init container-init service worker monitor daemon leftover orphan job daemon-like)' -d 'kinds (daemon, service, orphan, job, ... or daemon-like)'
complete -c psxj -n '__fish_psxj_using diff' -F -d 'the table before: a file, or a recording at a time'
complete -c psxj -n '__fish_psxj_using diff' -F -d 'the table after, the same way'

# psxj audit
complete -c psxj -n '__fish_psxj_using audit' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using audit' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using audit' -l all -d 'audit every daemon-like process (init, container-init, service, daemon)'
complete -c psxj -n '__fish_psxj_using audit' -l profile -x -a 'classic new-style worker monitor container' -d 'judge by this standard instead of the kind\'s'
complete -c psxj -n '__fish_psxj_using audit' -l json -d 'print the verdicts as JSON'
complete -c psxj -n '__fish_psxj_using audit' -l host -x -a '(__fish_print_hostnames)' -d 'audit on this host, over SSH'
complete -c psxj -n '__fish_psxj_using audit' -l host-timeout -x -d 'give up on a host that has not answered after this long (default 10)'
complete -c psxj -n '__fish_psxj_using audit' -l ssh-config -r -F -d 'ssh\'s configuration file (ssh -F) instead of ~/.ssh/config'
complete -c psxj -n '__fish_psxj_using audit' -a '(__fish_complete_pids)' -d 'processes to audit'

# psxj events
complete -c psxj -n '__fish_psxj_using events' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using events' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using events' -s p -l pid -x -a '(__fish_psxj_list (__fish_complete_pids))' -d 'process IDs'
complete -c psxj -n '__fish_psxj_using events' -s s -l sid -x -a '(__fish_psxj_list (__fish_psxj_sessions))' -d 'session IDs'
complete -c psxj -n '__fish_psxj_using events' -s u -l user -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'effective users (names or numbers)'
complete -c psxj -n '__fish_psxj_using events' -s U -l User -x -a '(__fish_psxj_list (__fish_complete_users))' -d 'real users (names or numbers)'
complete -c psxj -n '__fish_psxj_using events' -s g -l group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'effective groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using events' -s G -l Group -x -a '(__fish_psxj_list (__fish_complete_groups))' -d 'real groups (names or numbers)'
complete -c psxj -n '__fish_psxj_using events' -s t -l tty -x -a '(__fish_psxj_list (__fish_psxj_ttys))' -d 'terminals (pts/1, tty1, ? for none)'
complete -c psxj -n '__fish_psxj_using events' -s C -l command -x -a '(__fish_psxj_list (__fish_psxj_commands))' -d 'command names (the kernel\'s comm)'
complete -c psxj -n '__fish_psxj_using events' -l kind -x -a '(__fish_psxj_list kernel-thread zombie init container-init service worker monitor daemon leftover orphan job daemon-like)' -d 'kinds (daemon, service, orphan, job, ... or daemon-like)'
complete -c psxj -n '__fish_psxj_using events' -l follow -x -a '(__fish_complete_pids)' -d 'only this process and its descendants, including those born later'
complete -c psxj -n '__fish_psxj_using events' -l json -d 'one JSON object per line'
complete -c psxj -n '__fish_psxj_using events' -l event -x -a '(__fish_psxj_list comm coredump exec exit fork gid ptrace setsid sid uid)' -d 'only these events: fork,exec,uid,gid,sid,ptrace,comm,coredump,exit'
complete -c psxj -n '__fish_psxj_using events' -l duration -x -d 'stop after this many seconds (default: until Ctrl-C)'
complete -c psxj -n '__fish_psxj_using events' -l poll -d 'poll /proc instead of listening to the kernel (what psxj does where it must)'

# psxj why
complete -c psxj -n '__fish_psxj_using why' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using why' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using why' -l json -d 'print a JSON array, one object per process, every fact with where it came from'
complete -c psxj -n '__fish_psxj_using why' -a '(__fish_psxj_targets)' -d 'PID, command name, :PORT, PROTO:PORT or path'

# psxj demo
complete -c psxj -n '__fish_psxj_using demo' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using demo' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
complete -c psxj -n '__fish_psxj_using demo' -l rundir -x -a '(__fish_complete_directories)' -d 'run directory (default $XDG_RUNTIME_DIR/psxj or /tmp/psxj-UID)'
complete -c psxj -n '__fish_psxj_using demo' -l skip -x -a 'chdir close lock second-fork setsid umask' -d 'start: leave this rule out and watch what goes wrong, then stop it all (setsid, second-fork, umask, chdir, close, lock)'
complete -c psxj -n '__fish_psxj_using demo' -l answers -r -F -d 'quiz: read the answers from FILE, one line per step'
complete -c psxj -n '__fish_psxj_using demo' -l step-delay -x -d 'pause after each step, 0 to 60 (default 0)'
complete -c psxj -n '__fish_psxj_using demo' -l lifetime -x -d 'exit by itself after this many seconds, at most a week (default 600)'
complete -c psxj -n '__fish_psxj_using demo' -a 'start stop restart status log init-script unit jobs quiz'

# psxj serve
complete -c psxj -n '__fish_psxj_using serve' -s h -l help -d 'show this help message and exit'
complete -c psxj -n '__fish_psxj_using serve' -l host -x -d 'address to listen on (default 127.0.0.1, this machine only; anything else sends the secret over the network unencrypted)'
complete -c psxj -n '__fish_psxj_using serve' -l port -x -d 'port (default 8000)'
complete -c psxj -n '__fish_psxj_using serve' -l delay -x -d 'refresh interval of the interface (default 2)'
complete -c psxj -n '__fish_psxj_using serve' -l max-sessions -x -d 'browser sessions at once, each an interface of its own (default 4)'
complete -c psxj -n '__fish_psxj_using serve' -l allow-signals -d 'let the browser send signals (off by default; needs the secret)'
complete -c psxj -n '__fish_psxj_using serve' -l allow-demo -d 'let the browser start the demo (off by default; needs the secret)'
complete -c psxj -n '__fish_psxj_using serve' -l no-secret -d 'no secret in the URL: every user of this machine can open the interface and see what psxj sees as you (127.0.0.1 only; read-only)'
complete -c psxj -n '__fish_psxj_using serve' -l lang -x -a 'en zh' -d 'the language of messages and of the interface: en (English) or zh (简体中文); default: the locale\'s (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)'
