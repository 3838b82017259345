package invalidate

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// spilled lists every key of pattern into a temporary file (length-prefixed,
// since keys may hold any byte) and deletes them once the listing is
// complete: memory stays flat, and the listing is not disturbed by deletes.
func (r *runner) spilled(ctx context.Context, pattern string, earlier []string) error {
	f, err := os.CreateTemp("", "cachectl-invalidate-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w := bufio.NewWriterSize(f, 256<<10)
	var lenBuf [binary.MaxVarintLen64]byte
	listed := 0
	err = r.b.Scan(ctx, pattern, func(keys []string) error {
		for _, k := range keys {
			if !r.opts.wants(pattern, earlier, k) {
				continue
			}
			n := binary.PutUvarint(lenBuf[:], uint64(len(k)))
			w.Write(lenBuf[:n])
			if _, err := w.WriteString(k); err != nil {
				return err
			}
			listed++
		}
		return nil
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rd := bufio.NewReaderSize(f, 256<<10)
	batch := pending{r: r}
	for range listed {
		n, err := binary.ReadUvarint(rd)
		if err != nil {
			return errors.New("reading back the listed keys: " + err.Error())
		}
		kb := make([]byte, n)
		if _, err := io.ReadFull(rd, kb); err != nil {
			return errors.New("reading back the listed keys: " + err.Error())
		}
		r.sum.Matched++
		if err := batch.add(ctx, string(kb)); err != nil {
			return err
		}
	}
	return batch.flush(ctx)
}
