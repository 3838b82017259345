package httpmem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
)

// socketSuffix marks a worker's socket in a socket directory.
const socketSuffix = ".sock"

// socketMembers lists the worker sockets of dir: each entry named *.sock
// that is a socket, in name order. Entries are hostile: a symbolic link is
// not followed (it may lead out of the directory, to a socket of someone
// else), and an entry named *.sock that is not a socket is skipped; both
// are warned about. Other names are not workers and are passed over.
func socketMembers(dir, base string, warn func(string)) ([]memberURL, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read the socket directory: %w", err)
	}
	if perm := fi.Mode(); perm&0o002 != 0 && perm&fs.ModeSticky == 0 {
		// Anyone could swap a socket for a link between the check and the dial.
		warn(fmt.Sprintf("the socket directory %s is writable by every user: anyone could put a worker socket there (the adapter creates it 0700)", textesc.Line(dir)))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the socket directory: %w", err)
	}
	var out []memberURL
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, socketSuffix) {
			continue
		}
		switch typ := e.Type(); {
		case typ&fs.ModeSymlink != 0:
			warn(fmt.Sprintf("skipped %s in %s: a symbolic link, which cachectl does not follow out of the socket directory", textesc.Key(name), textesc.Line(dir)))
			continue
		case typ&fs.ModeSocket == 0:
			warn(fmt.Sprintf("skipped %s in %s: not a socket", textesc.Key(name), textesc.Line(dir)))
			continue
		}
		out = append(out, memberURL{name: name, base: base, to: &dialTarget{network: "unix", addr: filepath.Join(dir, name)}})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no socket named *%s in %s (is the app running, with its worker_socket directory there?)", backends.ErrNoMembers, socketSuffix, textesc.Line(dir))
	}
	return out, nil
}

// errNotSocket: a socket of the directory was replaced since it was listed.
var errNotSocket = errors.New("no longer a socket (replaced since the directory was read); not followed")

// checkedUnixDial dials a socket of a socket directory after checking again
// that it is one: a link put in its place since the listing is refused, not
// followed. (A race within that window remains; the directory should be
// writable by the app's user only.)
func checkedUnixDial(dial backends.DialFunc) backends.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == "unix" {
			fi, err := os.Lstat(addr)
			if err != nil {
				return nil, err
			}
			if fi.Mode().Type() != fs.ModeSocket {
				return nil, errNotSocket
			}
		}
		return dial(ctx, network, addr)
	}
}
