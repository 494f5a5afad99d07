#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, to build the autograder's image. It installs what
# `make deps` installs for a student: every Debian package mk/deps.mk lists, bubblewrap for the sandbox among them.
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends make python3 >/dev/null
make deps
