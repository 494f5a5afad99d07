#!/usr/bin/env bash
# A chapter in progress lives in drafts/NN-name/{chapters,solutions,tests}/ (and bench/, once it has one), out of
# reach of make check, selftest, make bench, the harness and the docs, until it is whole. This script moves it in
# and out of place to work on it:
#
#   mk/draft.sh on NN    moves drafts/NN-name/*/ to chapters/NN-name/, solutions/NN-name/, tests/NN-name/ (and
#                        bench/NN-name/), and names chapter.conf.draft chapter.conf, so every make target sees it
#   mk/draft.sh off NN   the other way (before a commit, while the chapter is not finished)
#
# A finished chapter is left on, and drafts/NN-name/ removed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: mk/draft.sh on|off NN" >&2
    exit 2
}
[ $# -eq 2 ] || usage
mode=$1 number=$2
case $mode in on | off) ;; *) usage ;; esac

name=
for folder in drafts/"$number"-* chapters/"$number"-*; do
    [ -d "$folder" ] && name=${folder#*/} && break
done
[ -n "$name" ] || { echo "draft: no chapter $number in drafts/ or chapters/" >&2; exit 1; }
[ "${name%%/*}" = "$name" ] || name=${name%%/*}

if [ "$mode" = on ]; then
    [ -d "drafts/$name/chapters" ] || { echo "draft: drafts/$name is not out (already on?)" >&2; exit 1; }
    for part in chapters solutions tests bench; do
        [ ! -e "$part/$name" ] || { echo "draft: $part/$name exists already" >&2; exit 1; }
    done
    for part in chapters solutions tests bench; do
        [ "$part" != bench ] || [ -d "drafts/$name/bench" ] || continue
        mv "drafts/$name/$part" "$part/$name"
    done
    mv "chapters/$name/chapter.conf.draft" "chapters/$name/chapter.conf"
    rmdir "drafts/$name"
    echo "draft: $name is in place; make check CH=$number works on it (mk/draft.sh off $number before committing)"
else
    [ -f "chapters/$name/chapter.conf" ] || { echo "draft: chapters/$name is not a chapter in place" >&2; exit 1; }
    mkdir -p "drafts/$name"
    mv "chapters/$name/chapter.conf" "chapters/$name/chapter.conf.draft"
    for part in chapters solutions tests bench; do
        [ "$part" != bench ] || [ -d "bench/$name" ] || continue
        mv "$part/$name" "drafts/$name/$part"
    done
    echo "draft: $name is back in drafts/"
fi
