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
// else), and an entry named *.sock that is not a socket, or that belongs to
// a user other than the directory's owner (and this process's), is skipped:
// such a socket could be anyone's, and would get the token. All are warned
// about. Other names are not workers and are passed over.
func socketMembers(dir, base string, warn func(string)) ([]memberURL, *socketOwners, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read the socket directory: %w", err)
	}
	if fi.Mode()&0o002 != 0 {
		// Anyone could add a socket there, and without the sticky bit swap
		// one for a link between the check and the dial.
		warn(fmt.Sprintf("the socket directory %s is writable by every user: anyone could put a worker socket there (the adapter creates it 0700)", textesc.Line(dir)))
	}
	owners := &socketOwners{}
	owners.dir, owners.known = ownerOf(fi)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read the socket directory: %w", err)
	}
	var out []memberURL
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, socketSuffix) {
			continue
		}
		skip := func(why string) {
			warn(fmt.Sprintf("skipped %s in %s: %s", textesc.Key(name), textesc.Line(dir), why))
		}
		switch typ := e.Type(); {
		case typ&fs.ModeSymlink != 0:
			skip("a symbolic link, which cachectl does not follow out of the socket directory")
			continue
		case typ&fs.ModeSocket == 0:
			skip("not a socket")
			continue
		}
		if info, err := e.Info(); err == nil {
			if err := owners.check(info); err != nil {
				skip(err.Error())
				continue
			}
		}
		out = append(out, memberURL{name: name, base: base, to: &dialTarget{network: "unix", addr: filepath.Join(dir, name)}})
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: no socket named *%s in %s (is the app running, with its worker_socket directory there?)", backends.ErrNoMembers, socketSuffix, textesc.Line(dir))
	}
	return out, owners, nil
}

// socketOwners is who may own a worker socket: the directory's owner, or
// this process's user.
type socketOwners struct {
	dir   uint32
	known bool // the platform says who owns a file
}

// check says why fi is not a worker socket of the directory, or nil.
func (o *socketOwners) check(fi fs.FileInfo) error {
	if fi.Mode().Type() != fs.ModeSocket {
		return errNotSocket
	}
	uid, ok := ownerOf(fi)
	if !o.known || !ok || uid == o.dir || int64(uid) == int64(os.Geteuid()) {
		return nil
	}
	return fmt.Errorf("owned by uid %d, not by the directory's owner (uid %d) nor by this user", uid, o.dir)
}

// errNotSocket: a socket of the directory was replaced since it was listed.
var errNotSocket = errors.New("no longer a socket (replaced since the directory was read); not followed")

// checkedUnixDial dials a socket of a socket directory after checking again
// that it is one, of an allowed owner: a link or another user's socket put
// in its place since the listing is refused, not followed. Where the
// platform can (Linux), the socket checked is the one dialled (pinSocket).
func checkedUnixDial(dial backends.DialFunc, owners *socketOwners) backends.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network != "unix" {
			return dial(ctx, network, addr)
		}
		at, release, err := pinSocket(addr, owners.check)
		if err != nil {
			return nil, err
		}
		defer release()
		conn, err := dial(ctx, network, at)
		if err != nil && at != addr {
			// Name the socket, not the descriptor that reached it.
			var oe *net.OpError
			if errors.As(err, &oe) {
				oe.Addr = &net.UnixAddr{Name: addr, Net: "unix"}
			}
		}
		return conn, err
	}
}
