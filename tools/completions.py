"""Shell completions for psxj (bash, zsh, fish), written from psxj's one argparse tree (tools/cli_tree.py).

They complete the subcommands (the first word only: `psxj -p 1 audit` is the table's), each command's
options with their help, and the values where the shell can list them cheaply at the moment of the TAB:
PIDs (from /proc), session IDs and command names (from ps), user and group names, terminals, kinds,
event names, choices, files, directories and ssh hosts; in a comma-separated list (`-p 1,2`), the last
item. `python tools/cli_files.py` writes them; the test checks that the shipped ones are what it writes
and tries them in the real shells.
"""

from __future__ import annotations

from typing import Dict, List

from cli_tree import Command, Option, commands

HEADER = ("{comment} {shell} completion for psxj: subcommands, options and their values. Written by\n"
          "{comment} tools/cli_files.py from psxj's argparse tree: do not edit, run it again.\n")


# --- bash ----------------------------------------------------------------------------------------

BASH_HELPERS = r'''
# _psxj_listening PROTO: :PORT and PROTO:PORT for each socket listening in this network namespace, from the
# kernel's tables: TCP in LISTEN (0A), UDP bound and unconnected (07), as psxj why counts them.
_psxj_listening() {
    local file sl address remote state rest
    for file in "/proc/net/$1" "/proc/net/${1}6"; do
        [[ -r $file ]] || continue
        while read -r sl address remote state rest; do
            if [[ $address == *:[0-9A-F][0-9A-F][0-9A-F][0-9A-F] ]] &&
               [[ $state == 0A || ( $1 == udp && $state == 07 ) ]]; then
                printf ':%d\n%s:%d\n' "$(( 16#${address##*:} ))" "$1" "$(( 16#${address##*:} ))"
            fi
        done < "$file"
    done | sort -u
}

# _psxj_values WHAT LISTED CUR [WORD...]: COMPREPLY for a value; LISTED=1 completes a list's last item.
# Candidates are matched here, never through compgen -W, which would expand them: a process named
# $(command) must stay a name.
_psxj_values() {
    local what=$1 listed=$2 cur=$3 head="" candidates candidate
    shift 3
    if [[ $listed == 1 ]]; then
        head=${cur%"${cur##*,}"}
        cur=${cur##*,}
    fi
    case $what in
        pids) candidates=$(builtin cd /proc 2>/dev/null && compgen -G '[0-9]*') ;;
        sessions) candidates=$(ps -A -o sid= 2>/dev/null | tr -d ' ' | sort -un) ;;
        users) candidates=$(compgen -u) ;;
        groups) candidates=$(compgen -g) ;;
        ttys) candidates=$(printf '%s\n' '?'; builtin cd /dev 2>/dev/null && compgen -G 'pts/[0-9]*'; \
                           compgen -G 'tty[0-9]*') ;;
        commands) candidates=$(ps -A -o comm= 2>/dev/null | sort -u) ;;
        targets)   # psxj why: a path has a /; else a PID, a command name (none with a /: that is a path), a port
            if [[ $cur == */* ]]; then
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return
            fi
            candidates=$(builtin cd /proc 2>/dev/null && compgen -G '[0-9]*'
                         ps -A -o comm= 2>/dev/null | sort -u | grep -v /
                         _psxj_listening tcp; _psxj_listening udp) ;;
        hosts)
            if declare -F _known_hosts_real >/dev/null; then
                COMPREPLY=()
                _known_hosts_real -p "$head" -- "$cur"
                return
            fi
            candidates=$(compgen -A hostname) ;;
        files|dirs)
            compopt -o filenames 2>/dev/null
            if [[ $what == dirs ]]; then
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            fi
            return ;;
        words) candidates=$(printf '%s\n' "$@") ;;
    esac
    COMPREPLY=()
    while IFS= read -r candidate; do
        if [[ -n $candidate && $candidate == "$cur"* ]]; then
            printf -v candidate '%q' "$candidate"
            COMPREPLY+=("$head$candidate")
        fi
    done <<< "$candidates"
}
'''

BASH_MAIN = r'''
_psxj() {
    # bash splits a word at a : (COMP_WORDBREAKS) as at an =: put psxj why's :22 and tcp:22 back together,
    # then hand bash only what follows the last :, the part it replaces.
    local -a words=()
    local i line=$COMP_LINE cword=0 glued
    for (( i = 0; i < ${#COMP_WORDS[@]}; i++ )); do
        glued=1
        [[ $line == [[:space:]]* ]] && glued=0
        line=${line#"${line%%[![:space:]]*}"}
        if (( i > 0 && glued )) && [[ ${COMP_WORDS[i]} == : || ${words[-1]} == *: ]]; then
            words[-1]+=${COMP_WORDS[i]}
        else
            words+=("${COMP_WORDS[i]}")
        fi
        line=${line:${#COMP_WORDS[i]}}
        (( i == COMP_CWORD )) && cword=$(( ${#words[@]} - 1 ))
    done
    local cur=${words[cword]} prev=${words[cword-1]}
    _psxj_complete
    if [[ $cur == *:* ]]; then
        local colon=${cur%"${cur##*:}"}
        COMPREPLY=("${COMPREPLY[@]#"$colon"}")
    fi
}

_psxj_complete() {
    # bash splits --option=value at the =: complete the value of the option before it.
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && (( cword > 1 )); then
        prev=${words[cword-2]}
    fi
    # The subcommand is the first word, after a --lang that may come before it (psxj --lang zh demo quiz).
    local command=table first=1
    if [[ ${words[1]} == --lang ]] && (( cword > 2 )); then
        first=3
        [[ ${words[2]} == = ]] && first=4
    fi
    if (( cword > first )) && [[ " $_psxj_commands " == *" ${words[first]} "* ]]; then
        command=${words[first]}
        (( first++ ))
    fi
    if (( cword > first )) && "_psxj_value_${command//-/_}" "$prev" "$cur"; then
        return
    fi
    if [[ $cur == -* ]]; then
        local options=_psxj_options_${command//-/_}
        COMPREPLY=($(compgen -W "${!options}" -- "$cur"))
        return
    fi
    if [[ $command == table ]] && (( cword == first )); then
        COMPREPLY=($(compgen -W "$_psxj_commands" -- "$cur"))
        return
    fi
    # The positional argument this word is: count those before it, leaving out options and their values.
    local index=0 i word valued=_psxj_valued_${command//-/_}
    for (( i = first; i < cword; i++ )); do
        word=${words[i]}
        if [[ $word == -* ]]; then
            [[ " ${!valued} " == *" $word "* && ${words[i+1]} != = ]] && (( i++ ))
            [[ ${words[i+1]} == = ]] && (( i += 2 ))
        else
            (( index++ ))
        fi
    done
    "_psxj_positional_${command//-/_}" "$index" "$cur"
}
complete -F _psxj psxj
'''


def bash(tree: List[Command]) -> str:
    out = [HEADER.format(comment="#", shell="bash"), BASH_HELPERS.lstrip("\n")]
    out.append(f"_psxj_commands={_bash_quote(' '.join(c.name for c in tree if c.name))}\n")
    for command in tree:
        name = _function_name(command)
        options = [flag for option in command.options for flag in option.flags]
        valued = [flag for option in command.options if option.metavar for flag in option.flags]
        out.append(f"\n_psxj_options_{name}={_bash_quote(' '.join(options))}\n")
        out.append(f"_psxj_valued_{name}={_bash_quote(' '.join(valued))}\n")
        out.append(f"_psxj_value_{name}() {{\n    case $1 in\n")
        for option in command.options:
            if option.metavar:
                value = _bash_value(option.values, option.listed, option.words)
                out.append(f"        {'|'.join(option.flags)}) {value} ;;\n")
        out.append("        *) return 1 ;;\n    esac\n}\n")
        out.append(f"_psxj_positional_{name}() {{\n    case $1 in\n")
        for index, positional in enumerate(command.positionals):
            pattern = "*" if positional.many else str(index)
            out.append(f"        {pattern}) {_bash_value(positional.values, False, positional.words)} ;;\n")
        out.append("        *) COMPREPLY=() ;;\n    esac\n}\n")
    out.append(BASH_MAIN)
    return "".join(out)


def _bash_value(values: str, listed: bool, words) -> str:
    words = words if values in ("words", "kinds", "events") else ()
    what = "words" if words else values or "none"
    return " ".join(["_psxj_values", what, "1" if listed else "0", '"$2"', *(_bash_quote(w) for w in words)])


def _bash_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _function_name(command: Command) -> str:
    return (command.name or "table").replace("-", "_")


# --- zsh -----------------------------------------------------------------------------------------

ZSH_HELPERS = r'''
# Every process, described by its command as ps prints it (escaped): zsh's own _pids lists this terminal's.
_psxj_pids() {
    setopt localoptions extendedglob
    local -a pids
    pids=(${${${(f)"$(ps -A -o pid=,comm= 2>/dev/null)"}##[[:space:]]#}/[[:space:]]##/:})
    _describe -V -t processes 'process ID' pids
}

_psxj_sessions() {
    local -a sessions expl
    sessions=(${(u)${(f)"$(ps -A -o sid= 2>/dev/null | tr -d ' ')"}})
    _wanted sessions expl 'session ID' compadd -a sessions
}

_psxj_ttys() {
    local -a ttys expl
    ttys=(/dev/pts/<->(N) /dev/tty<->(N))
    ttys=('?' ${ttys#/dev/})
    _wanted terminals expl terminal compadd -a ttys
}

_psxj_commands_running() {
    local -a names expl
    names=(${(u)${(f)"$(ps -A -o comm= 2>/dev/null)"}})
    _wanted commands expl 'command name' compadd -a names
}

# :PORT and PROTO:PORT for each socket listening in this network namespace (TCP in LISTEN, UDP unconnected).
_psxj_listening() {
    local proto file sl address remote state rest
    for proto in tcp udp; do
        for file in /proc/net/$proto /proc/net/${proto}6; do
            [[ -r $file ]] || continue
            while read -r sl address remote state rest; do
                if [[ $address == *:[0-9A-F](#c4) ]] && [[ $state == 0A || ( $proto == udp && $state == 07 ) ]]; then
                    print -r -- ":$(( 16#${address##*:} ))"
                    print -r -- "$proto:$(( 16#${address##*:} ))"
                fi
            done < $file
        done
    done
}

# What psxj why takes: a path (a word with a /), or a PID, a command name, a listening port.
_psxj_targets() {
    setopt localoptions extendedglob
    if [[ $PREFIX == */* ]]; then
        _files
        return
    fi
    local -a ports names expl
    ports=(${(u)${(f)"$(_psxj_listening)"}})
    if [[ $PREFIX == *:* ]]; then
        _wanted ports expl 'listening port' compadd -a ports
        return
    fi
    names=(${(u)${(f)"$(ps -A -o comm= 2>/dev/null)"}:#*/*})
    _alternative 'processes:process:_psxj_pids' \
        "commands:command name:compadd -a names" \
        "ports:listening port:compadd -a ports"
}
'''

ZSH_VALUES = {
    "pids": "_psxj_pids", "sessions": "_psxj_sessions", "users": "_users", "groups": "_groups", "ttys": "_psxj_ttys",
    "commands": "_psxj_commands_running", "files": "_files", "dirs": "_files -/", "hosts": "_hosts",
    "targets": "_psxj_targets",
}


def zsh(tree: List[Command]) -> str:
    out = ["#compdef psxj\n", HEADER.format(comment="#", shell="zsh"), ZSH_HELPERS]
    for command in tree:
        specs = [spec for option in command.options for spec in _zsh_option(option)]
        for positional in command.positionals:
            action = _zsh_action(positional.values, False, positional.words)
            message = _zsh_message(positional.metavar if not positional.words else "command")
            specs.append(_zsh_quote(("*" if positional.many else "") + f":{message}:{action}"))
        out.append(f"\n_psxj_{_function_name(command)}() {{\n    _arguments -s -S \\\n")
        out.append("".join(f"        {spec} \\\n" for spec in specs))
        out.append("        && return 0\n}\n")
    described = [f"{c.name}:{_zsh_describe(c.summary)}" for c in tree if c.name]
    out.append("\n_psxj() {\n")
    out.append("    local -a subcommands\n    subcommands=(\n")
    out.append("".join(f"        {_zsh_quote(entry)}\n" for entry in described))
    out.append("    )\n")
    out.append("    # The subcommand is the first word, after a --lang that may come before it: leave that out.\n")
    out.append("    local skip=0\n")
    out.append("    [[ ${words[2]} == --lang ]] && skip=2\n")
    out.append("    [[ ${words[2]} == --lang=* ]] && skip=1\n")
    out.append("    if (( skip && CURRENT > skip + 1 )); then\n")
    out.append("        words[2,skip+1]=()\n        (( CURRENT -= skip ))\n    fi\n")
    out.append("    if (( CURRENT > 2 )) && (( ${subcommands[(I)${words[2]}:*]} )); then\n")
    out.append("        local command=${words[2]}\n        shift words\n        (( CURRENT-- ))\n")
    out.append("        _psxj_${command//-/_}\n        return\n    fi\n")
    out.append("    if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then\n")
    out.append("        _describe -t commands 'psxj subcommand' subcommands\n        return\n    fi\n")
    out.append("    _psxj_table\n}\n\n_psxj \"$@\"\n")
    return "".join(out)


def _zsh_option(option: Option) -> List[str]:
    description = "[" + _zsh_bracketed(option.help) + "]"
    if option.ends:
        exclusions = "(- *)"
    elif option.repeatable:
        exclusions = "*"
    else:
        exclusions = "(" + " ".join(option.flags + option.exclusive) + ")"
    value = ""
    if option.metavar:
        value = f":{_zsh_message(option.metavar)}:{_zsh_action(option.values, option.listed, option.words)}"
    specs = []
    for flag in option.flags:
        equals = "=" if option.metavar and flag.startswith("--") else ""
        specs.append(_zsh_quote(f"{exclusions}{flag}{equals}{description}{value}"))
    return specs


def _zsh_action(values: str, listed: bool, words) -> str:
    if words:
        if listed:
            return "_values -s , " + _zsh_message(values or "value") + " " + " ".join(words)
        return "(" + " ".join(words) + ")"
    action = ZSH_VALUES.get(values, " ")
    return f"_sequence -s , {action}" if listed and action.strip() else action


def _zsh_bracketed(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _zsh_message(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _zsh_describe(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# --- fish ----------------------------------------------------------------------------------------

FISH_HELPERS = r'''
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
    if set -q words[1]; and contains -- $words[1] {commands}
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
'''

FISH_VALUES = {
    "pids": "__fish_complete_pids", "sessions": "__fish_psxj_sessions", "users": "__fish_complete_users",
    "groups": "__fish_complete_groups", "ttys": "__fish_psxj_ttys", "commands": "__fish_psxj_commands",
    "hosts": "__fish_print_hostnames", "dirs": "__fish_complete_directories", "targets": "__fish_psxj_targets",
}


def fish(tree: List[Command]) -> str:
    names = " ".join(c.name for c in tree if c.name)
    out = [HEADER.format(comment="#", shell="fish"), FISH_HELPERS.replace("{commands}", names)]
    for command in tree:
        if command.name:
            out.append(f"complete -c psxj -n __fish_psxj_first_word -a {command.name} "
                       f"-d {_fish_quote(command.summary)}\n")
    for command in tree:
        out.append(f"\n# {command.prog}\n")
        condition = _fish_quote(f"__fish_psxj_using {command.name or 'table'}")
        for option in command.options:
            words = []
            for flag in option.flags:
                words += ["-l", flag[2:]] if flag.startswith("--") else ["-s", flag[1:]]
            words += _fish_value(option.values, option.listed, option.words) if option.metavar else []
            out.append(f"complete -c psxj -n {condition} {' '.join(words)} -d {_fish_quote(option.help)}\n")
        for positional in command.positionals:
            value = _fish_value(positional.values, False, positional.words)
            value = ["-F"] if value[-1] == "-F" else value[1:]   # a word on its own: files, or these
            if value:
                described = f" -d {_fish_quote(positional.help)}" if positional.help and not positional.words else ""
                out.append(f"complete -c psxj -n {condition} {' '.join(value)}{described}\n")
    return "".join(out)


def _fish_value(values: str, listed: bool, words) -> List[str]:
    if values == "files":
        return ["-r", "-F"]
    if words:
        listing = " ".join(words)
    elif values in FISH_VALUES:
        listing = f"({FISH_VALUES[values]})"
    else:
        return ["-x"]
    return ["-x", "-a", _fish_quote(f"(__fish_psxj_list {listing})" if listed else listing)]


def _fish_quote(text: str) -> str:
    return "'" + " ".join(text.split()).replace("\\", "\\\\").replace("'", "\\'") + "'"


def completions() -> Dict[str, str]:
    """Each shell's completion file, by its path under share/."""
    tree = commands("en")
    return {
        "bash-completion/completions/psxj": bash(tree),
        "zsh/site-functions/_psxj": zsh(tree),
        "fish/vendor_completions.d/psxj.fish": fish(tree),
    }
