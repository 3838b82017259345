// Command cachectl inspects and administers Redis, Memcached and in-process caches.
package main

import (
	"os"

	"github.com/cachectl/cachectl/internal/commands"
)

func main() { os.Exit(commands.Main()) }
