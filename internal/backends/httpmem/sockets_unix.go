//go:build unix

package httpmem

import (
	"io/fs"
	"syscall"
)

// ownerOf is the user owning fi's file.
func ownerOf(fi fs.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
