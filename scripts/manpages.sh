#!/usr/bin/env bash
# Writes gzipped man pages, generated from the command tree, for release archives.
set -euo pipefail
rm -rf manpages
mkdir -p manpages
go run ./cmd/cachectl man --dir manpages 2>/dev/null
gzip -9 -n manpages/*.1
