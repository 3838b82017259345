#!/usr/bin/env bash
# Writes shell completion scripts for release archives.
set -euo pipefail
rm -rf completions
mkdir -p completions
for sh in bash zsh fish powershell; do
	go run ./cmd/cachectl completion "$sh" >"completions/cachectl.$sh"
done
