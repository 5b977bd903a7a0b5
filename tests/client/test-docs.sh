#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every command of devpassctl --help has its entry in devpassctl(1) and
# in both completions: the four say the same commands. And every property
# of a device, group, rule and attachment is a column (so --json has it).
# $1: devpassctl, $2: the man page's source, $3: bash's, $4: zsh's
# completion, $5: the D-Bus contract, $6: client/columns.c.
set -u
fails=0
for verb in $("$1" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u); do
        grep -q "^\*$verb\*" "$2" || { echo "devpassctl(1) has no '$verb'" >&2; fails=1; }
        grep -qw -- "$verb" "$3" || { echo "the bash completion has no '$verb'" >&2; fails=1; }
        grep -q "'$verb:" "$4" || { echo "the zsh completion has no '$verb'" >&2; fails=1; }
done
for property in $(awk '/<interface name="org.devpass1.(Device|Group|Rule|Attachment)"/ { on = 1 }
                     /<\/interface>/ { on = 0 }
                     on && /<property name="/ { sub(/.*<property name="/, ""); sub(/".*/, ""); print }' "$5"); do
        grep -q "\"$property\"" "$6" || { echo "no column shows the property $property" >&2; fails=1; }
done
exit $fails
