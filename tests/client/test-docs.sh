#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every command of devpassctl --help has its entry in devpassctl(1) and
# in both completions: the four say the same commands.
# $1: devpassctl, $2: the man page's source, $3: bash's, $4: zsh's completion.
set -u
fails=0
for verb in $("$1" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u); do
        grep -q "^\*$verb\*" "$2" || { echo "devpassctl(1) has no '$verb'" >&2; fails=1; }
        grep -qw -- "$verb" "$3" || { echo "the bash completion has no '$verb'" >&2; fails=1; }
        grep -q "'$verb:" "$4" || { echo "the zsh completion has no '$verb'" >&2; fails=1; }
done
exit $fails
