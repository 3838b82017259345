package commands

// invalidate --backup: the file is checked before anything is counted or
// deleted, and each batch is saved and synced before it is deleted.

import (
	"context"
	"errors"
	"fmt"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/dumpfile"
	"github.com/cachectl/cachectl/internal/textesc"
)

// checkBackup validates invalidate's --backup flags, and the file itself
// (a link, an existing file without --append/--force), before anything is
// counted, asked or deleted.
func (opts *invalidateOptions) checkBackup() error {
	if opts.Backup == "" {
		if opts.BackupAppend || opts.BackupForce || opts.RawDump {
			return usagef("--append, --force and --raw-dump go with --backup FILE")
		}
		return nil
	}
	if err := checkFileMode(opts.BackupAppend, opts.BackupForce, "--backup", opts.Backup); err != nil {
		return err
	}
	if opts.Backup == "-" {
		return usagef("--backup needs a file (not -): the backup must be on disk before each deletion")
	}
	if opts.DryRun {
		return nil
	}
	mode := dumpfile.New
	switch {
	case opts.BackupAppend:
		mode = dumpfile.Append
	case opts.BackupForce:
		mode = dumpfile.Replace
	}
	err := dumpfile.Precheck(opts.Backup, mode)
	var refused *dumpfile.RefusedError
	if errors.As(err, &refused) {
		return &RefusedError{Msg: textesc.Text(refused.Msg)}
	}
	return err
}

// backupHook opens the backup file and returns what makes invalidate's
// Before hook for a backend: each batch is read, written and fsynced before it is deleted, so the file
// holds every deleted key; a key it cannot save stops the run before its
// batch is deleted. close syncs and closes the file.
func (opts *invalidateOptions) backupHook() (before func(backends.Backend) func(context.Context, []string) error, closeFile func() error, err error) {
	file, err := createDumpFile(opts.IO, opts.Backup, opts.BackupAppend, opts.BackupForce)
	if err != nil {
		return nil, nil, fmt.Errorf("--backup: %w", err)
	}
	w := dumpfile.NewWriter(file)
	// The entries are read from the server that deletes them: a worker of
	// a replica set backs up its own copy.
	before = func(b backends.Backend) func(context.Context, []string) error {
		return func(ctx context.Context, keys []string) error {
			err := writeEntries(ctx, b, w, keys, opts.RawDump, func(key string, err error) error {
				if keyRefused(err) {
					return fmt.Errorf("cannot save %s: %w; nothing of this batch was deleted", textesc.Key(key), err)
				}
				return fmt.Errorf("%s is %s; nothing of this batch was deleted", textesc.Key(key), ErrorMessage(err))
			})
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err == nil {
				err = file.Sync()
			}
			if err != nil {
				return fmt.Errorf("backup to %s: %w", textesc.Key(opts.Backup), err)
			}
			return nil
		}
	}
	return before, file.Close, nil
}
