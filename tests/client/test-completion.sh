#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# devpassctl's bash completion, against a stand-in devpassctl that prints
# what the real one would: commands, options, addresses, names with spaces.
# $1: bash-completion's main script, $2: devpassctl's completion.
set -u
source "$1"
source "$2"

canary=$(mktemp -u)

devpassctl() {
        case "$*" in
        "devices --output address "*) printf '0000:17:00.0\n0000:17:00.1\n0000:b1:00.0\n' ;;
        "groups --output name "*) printf 'GPUs  \nPCI GPUs\n$(touch %s)\n' "$canary" ;;
        "attachments --output machine "*) printf 'vm1\nvm1\nvm2\nwin 11\n' ;;
        "attachments vm1 --output name "*) printf 'gpu 1\nnic\n' ;;
        "attachments win 11 --output name "*) [[ $2 == "win 11" ]] && printf 'gpu\n' ;;
        *) return 1 ;;
        esac
}

# complete LINE WANT...: the completions of LINE (its last word being
# completed) are exactly WANT.
fails=0
complete_line() {
        local line=$1; shift
        COMP_LINE=$line
        COMP_POINT=${#line}
        # As bash gives them: "win\ 11" one word, its backslash kept.
        local -a split
        read -ra split <<< "$line"
        COMP_WORDS=()
        local w joined=''
        for w in "${split[@]}"; do
                joined+=$w
                if [[ $w == *\\ ]]; then joined+=' '; else COMP_WORDS+=("$joined"); joined=''; fi
        done
        [[ $line == *' ' ]] && COMP_WORDS+=('')
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _devpassctl devpassctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
        local got want
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
        want=$(printf '%s\n' "$@" | sort | paste -sd' ')
        if [[ $got != "$want" ]]; then
                echo "'$line': got '$got', want '$want'" >&2
                fails=$((fails + 1))
        fi
}

complete_line 'devpassctl rel' release-machine release
complete_line 'devpassctl give-back 0000:17' 0000:17:00.0 0000:17:00.1
complete_line 'devpassctl passthrough 17:00.0 --group P' 'PCI\ GPUs'
# A name is offered quoted, and never run.
complete_line 'devpassctl group ' GPUs 'PCI\ GPUs' "$(printf '%q' "\$(touch $canary)")"
complete_line 'devpassctl claim v' vm1 vm2
complete_line 'devpassctl claim w' 'win\ 11'
complete_line 'devpassctl detach win\ 11 ' gpu
complete_line 'devpassctl detach vm1 ' 'gpu\ 1' nic
complete_line 'devpassctl delete-group --r' --raw --release
complete_line 'devpassctl --json dev' devices device
complete_line 'devpassctl create-group x --type ' pci sriov-nic
complete_line 'devpassctl cluster ' join
complete_line 'devpassctl help up' update-group update-rule update-attachment
[[ -e $canary ]] && { echo "a group's name ran" >&2; fails=$((fails + 1)); rm -f "$canary"; }
exit $((fails > 0))
