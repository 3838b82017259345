package commands

// Entries as whole units, shared by dump, restore, invalidate --backup and
// set: the dump or backup file opened with its rules, each key read and
// written as dump lines, and the format stored beside a value.

import (
	"context"
	"errors"
	"fmt"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/dumpfile"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/textesc"
)

// checkFileMode validates --append and --force for a file flag.
func checkFileMode(appendMode, force bool, flag, path string) error {
	switch {
	case appendMode && force:
		return usagef("--append and --force exclude each other")
	case (appendMode || force) && (path == "" || path == "-"):
		return usagef("--append and --force need %s FILE", flag)
	}
	return nil
}

// checkRawDump refuses --raw-dump where there are no DUMP payloads.
func checkRawDump(b backends.Backend, raw bool) error {
	if _, ok := b.(backends.RawDumper); raw && !ok {
		return usagef("--raw-dump needs a Redis server (%s has no DUMP payloads)", b.Describe().Kind)
	}
	return nil
}

// createDumpFile opens a dump or backup file with dumpfile.Create's rules
// and says where an old file went.
func createDumpFile(ios *iostreams.IOStreams, path string, appendMode, force bool) (*dumpfile.File, error) {
	mode := dumpfile.New
	switch {
	case appendMode:
		mode = dumpfile.Append
	case force:
		mode = dumpfile.Replace
	}
	file, err := dumpfile.Create(path, mode)
	var refused *dumpfile.RefusedError
	if errors.As(err, &refused) {
		return nil, &RefusedError{Msg: textesc.Text(refused.Msg)}
	}
	if err != nil {
		return nil, err
	}
	if file.MovedAside != "" {
		fmt.Fprintf(ios.ErrOut, "note: kept the old %s as %s\n", textesc.Key(path), textesc.Key(file.MovedAside))
	}
	return file, nil
}

// collectionPage is how many elements one read of a collection asks for.
const collectionPage = 1000

// writeEntries reads keys and writes them as dump lines, collections whole
// and in parts; keys gone meanwhile are left out. A key that cannot be
// saved (a type the backend cannot read whole, a key outside the user's ACL
// key patterns) goes to cannot, whose error stops the batch.
func writeEntries(ctx context.Context, b backends.Backend, w *dumpfile.Writer, keys []string, raw bool, cannot func(key string, err error) error) error {
	for _, k := range keys {
		if raw {
			kind, ttl, payload, err := b.(backends.RawDumper).DumpRaw(ctx, k)
			if errors.Is(err, backends.ErrNotFound) {
				continue
			}
			if keyRefused(err) {
				if err := cannot(k, err); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", textesc.Key(k), err)
			}
			if err := w.Write(dumpfile.Entry{Key: k, Type: kind, Encoding: dumpfile.EncodingRedisDump, Value: payload, TTL: ttl}); err != nil {
				return err
			}
			continue
		}
		e, err := b.Get(ctx, k)
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if keyRefused(err) {
			if err := cannot(k, err); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", textesc.Key(k), err)
		}
		if e.Collection != nil {
			cd, ok := b.(backends.CollectionDumper)
			if !ok {
				if err := cannot(k, fmt.Errorf("a %s this backend cannot read whole", e.Type)); err != nil {
					return err
				}
				continue
			}
			err := writeCollection(ctx, cd, w, k)
			var unsupported *backends.UnsupportedError
			if errors.As(err, &unsupported) {
				err = cannot(k, fmt.Errorf("a %s value, which only --raw-dump saves", textesc.Text(e.Type)))
			}
			if err != nil {
				return err
			}
			continue
		}
		de := dumpfile.Entry{Key: k, Value: e.Value, TTL: e.TTL}
		if e.HasFlags {
			flags := e.Flags
			de.Flags = &flags
		}
		if err := w.Write(de); err != nil {
			return err
		}
	}
	return nil
}

// keyRefused reports a key outside the user's ACL key patterns: listed,
// but not to be read.
func keyRefused(err error) bool {
	var pe *backends.PermissionError
	return errors.As(err, &pe) && pe.Key
}

// writeCollection streams one collection into the file, page by page; a
// failure midway ends its parts with an "aborted" line.
func writeCollection(ctx context.Context, cd backends.CollectionDumper, w *dumpfile.Writer, key string) error {
	var cw *dumpfile.CollectionWriter
	err := cd.DumpCollection(ctx, key, collectionPage, func(h backends.CollectionHead) error {
		cw = w.Collection(key, h.Kind, h.TTL, h.Stream)
		return nil
	}, func(items []backends.Item) error { return cw.Add(items...) })
	if cw == nil {
		if errors.Is(err, backends.ErrNotFound) {
			return nil
		}
		return err
	}
	if err == nil {
		_, err = cw.End()
	}
	if err != nil {
		if aerr := cw.Abort(); aerr != nil {
			return aerr
		}
		return fmt.Errorf("read %s: %w", textesc.Key(key), err)
	}
	return nil
}

// storedFormat names what set stores, for backends that keep it beside the
// value: the serializer's format, or what raw input is detected as.
func storedFormat(serializer string, value []byte) string {
	if serializer != "raw" && serializer != "" {
		return serializer
	}
	switch f := serial.Detect(value).Format; f {
	case serial.FormatInt:
		return "string"
	default:
		return string(f)
	}
}
