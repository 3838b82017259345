#!/usr/bin/env bash
# Writes gzipped man pages, generated from the command tree, for release archives.
set -euo pipefail
rm -rf manpages
mkdir -p manpages
go run ./cmd/cachectl man --dir manpages >/dev/null
gzip -9 -n manpages/*.1
