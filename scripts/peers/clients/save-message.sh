#!/bin/sh
# A minimal MDA for fetchmail runs: saves the message on stdin, byte for byte, as one new file in
# the folder given as $1 (names are random; tests match messages by content, not by order).
set -eu
out=$(mktemp "$1/msg.XXXXXXXXXX")
cat >"$out"
