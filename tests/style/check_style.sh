#!/usr/bin/env bash
# check_style.sh - the rules of ../shared/STYLE.md that a machine can
# check, over every C source and header in the tree: 80 columns (a line
# holding a URL may pass), no tabs, no trailing blanks, no // comments,
# and no bare TODO/FIXME/XXX (a known shortcoming names itself, as in
# TODO(persistent-queue), and has an entry in docs/LIMITATIONS.md).
set -uo pipefail
cd "${TD_SRC:-$(dirname "$0")/../..}" || exit 2

files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
bad=0
report() {
    echo "$1"
    bad=1
}

for f in $files; do
    while IFS= read -r hit; do
        report "$f:$hit"
    done < <(awk '
        length($0) > 80 && !/https?:\/\// {
            print FNR ": longer than 80 columns (" length($0) ")" }
        /\t/ { print FNR ": a tab" }
        /[ \t]$/ { print FNR ": trailing blanks" }
        /(^|[^:"\\])\/\/([^"]|$)/ && !/"[^"]*\/\/[^"]*"/ {
            print FNR ": a // comment" }
        /(^|[^A-Za-z_X])(TODO|FIXME|XXX)([^A-Za-z_X(]|$)/ {
            print FNR ": a bare TODO/FIXME/XXX mark" }
    ' "$f")
done

if [ "$bad" = 0 ]; then
    echo "check_style: $(echo "$files" | wc -w) files clean"
fi
exit $bad
