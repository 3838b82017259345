package httpmem

import (
	"errors"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinSocket opens the socket at path without following a link and returns
// a path that reaches that very inode (/proc/self/fd/N), so that nothing
// swapped in after check looked at it is dialled. release closes it.
func pinSocket(path string, check func(fs.FileInfo) error) (string, func(), error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return "", nil, errNotSocket
	}
	if err != nil {
		return "", nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err == nil {
		err = check(fi)
	}
	if err != nil {
		f.Close()
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(fd), func() { f.Close() }, nil
}
