package dumpfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cachectl/cachectl/internal/backends"
)

// Mode says what Create does when the file exists.
type Mode int

const (
	// New refuses an existing file: a re-run must never truncate the only
	// copy of keys an earlier, interrupted run deleted.
	New Mode = iota
	// Append adds to an existing dump file after checking that it is one,
	// whole: every line parses and it does not end inside a value.
	Append
	// Replace moves an existing file aside to the first free PATH.~N~ (it is
	// kept, never overwritten) and starts a new one.
	Replace
)

// RefusedError is a file Create will not write for safety; commands map it
// to the "refused" exit code.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// File is a dump or backup file open for writing.
type File struct {
	*os.File
	// MovedAside is where Replace put the old file ("" when there was none).
	MovedAside string
	// Appended: the file existed and is being added to.
	Appended bool
}

// Create opens path for writing a dump the safe way: never through a
// symbolic link (lstat, then O_NOFOLLOW), only a regular file, created with
// O_EXCL and mode 0600 (a backup holds cache data), and the directory
// fsynced so the new name survives a crash. Sync the file before deleting
// what it holds; Close syncs too.
func Create(path string, mode Mode) (*File, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return create(path, "")
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, &RefusedError{Msg: fmt.Sprintf("refusing to write %s: it is a symbolic link (give the real path)", path)}
	case !fi.Mode().IsRegular():
		return nil, &RefusedError{Msg: fmt.Sprintf("refusing to write %s: not a regular file", path)}
	}
	switch mode {
	case Append:
		return appendTo(path)
	case Replace:
		aside, err := moveAside(path)
		if err != nil {
			return nil, err
		}
		return create(path, aside)
	}
	return nil, existsError(path)
}

func create(path, aside string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Created by someone else since the lstat: never write into it.
		return nil, &RefusedError{Msg: fmt.Sprintf("refusing to write %s: it appeared while being created", path)}
	}
	if err != nil {
		return nil, err
	}
	if err := lock(f, path); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(path); err != nil {
		f.Close()
		return nil, err
	}
	return &File{File: f, MovedAside: aside}, nil
}

// lock takes the file for this process alone until it is closed: two runs
// appending to one backup at once would interleave their lines.
func lock(f *os.File, path string) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return &RefusedError{Msg: fmt.Sprintf("refusing to write %s: another cachectl is writing it", path)}
	}
	return err
}

func appendTo(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &RefusedError{Msg: fmt.Sprintf("refusing to write %s: it is a symbolic link (give the real path)", path)}
	}
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*File, error) { f.Close(); return nil, err }
	if err := lock(f, path); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(&RefusedError{Msg: fmt.Sprintf("refusing to write %s: not a regular file", path)})
	}
	if err := checkWhole(f, fi.Size()); err != nil {
		return fail(&RefusedError{Msg: fmt.Sprintf("refusing to append to %s: %v", path, err)})
	}
	// A backup holds cache data: readable by its owner only.
	if fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(fi.Mode().Perm() &^ 0o077); err != nil {
			return fail(err)
		}
	}
	return &File{File: f, Appended: true}, nil
}

// checkWhole reads the file as a dump: appending to something else, or
// after a line cut by a crash, would make the whole file unreadable.
func checkWhole(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		return errors.New("its last line is incomplete (a write cut short); restore what it holds or write a new file")
	}
	r := NewReader(io.NewSectionReader(f, 0, size))
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var cut *cutError
		if errors.As(err, &cut) {
			// Killed while writing a value (whose key it did not delete):
			// mark those parts as dropped, and the file is whole again.
			w := NewWriter(f)
			c := w.Collection(cut.p.key, cut.p.kind, backends.NoExpiry, backends.StreamMeta{EntriesAdded: -1})
			c.part = cut.p.next
			if err := c.Abort(); err != nil {
				return err
			}
			return w.Flush()
		}
		if err != nil {
			return fmt.Errorf("it is not a whole cachectl dump: %v", err)
		}
	}
}

// moveAside renames path to the first free path.~N~ without overwriting
// anything: a hard link fails when the name is taken, then the old name goes.
func moveAside(path string) (string, error) {
	for n := 1; n < 10000; n++ {
		aside := fmt.Sprintf("%s.~%d~", path, n)
		err := os.Link(path, aside)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("keep the old %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return "", err
		}
		return aside, syncDir(path)
	}
	return "", fmt.Errorf("keep the old %s: %s.~1~ to ~9999~ all exist", path, path)
}

func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync the directory of %s: %w", path, err)
	}
	return nil
}

// Close syncs the file to disk, then closes it.
func (f *File) Close() error {
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

// Precheck tells, without creating anything, whether Create(path, mode)
// would refuse for the reasons it checks up front (a link, not a regular
// file, an existing file in mode New), so a command can refuse before it
// asks or counts anything.
func Precheck(path string, mode Mode) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return &RefusedError{Msg: fmt.Sprintf("refusing to write %s: it is a symbolic link (give the real path)", path)}
	case !fi.Mode().IsRegular():
		return &RefusedError{Msg: fmt.Sprintf("refusing to write %s: not a regular file", path)}
	case mode == New:
		return existsError(path)
	}
	return nil
}

func existsError(path string) error {
	return &RefusedError{Msg: fmt.Sprintf("refusing to overwrite %s: it exists (maybe the backup of an earlier run); --append adds to it, --force keeps it as %s.~N~ and starts anew", path, path)}
}
