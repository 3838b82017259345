package httpmem

import "io/fs"

// ownerOf: Windows file modes say nothing of an owner.
func ownerOf(fs.FileInfo) (uint32, bool) { return 0, false }
