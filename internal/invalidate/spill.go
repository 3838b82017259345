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
	for relist := 0; ; relist++ {
		gen := r.recoveries.Load()
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
		if err == nil || !r.canRide(ctx, err) || relist == maxRetries {
			break
		}
		// Nothing was deleted yet: wait for the server and list anew.
		if rerr := r.recover(ctx, gen); rerr != nil {
			return r.recoverFailed(ctx, err, rerr)
		}
		listed = 0
		w.Reset(f)
		if _, err = f.Seek(0, io.SeekStart); err == nil {
			err = f.Truncate(0)
		}
		if err != nil {
			return err
		}
	}
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
	batch := pending{r: r, ctx: ctx}
	for range listed {
		n, err := binary.ReadUvarint(rd)
		if err != nil {
			return errors.New("reading back the listed keys: " + err.Error())
		}
		kb := make([]byte, n)
		if _, err := io.ReadFull(rd, kb); err != nil {
			return errors.New("reading back the listed keys: " + err.Error())
		}
		r.listed("", 1)
		if err := batch.add(string(kb)); err != nil {
			return err
		}
	}
	return batch.flush()
}

// pending collects keys and deletes them a batch at a time.
type pending struct {
	r    *runner
	ctx  context.Context
	keys []string
}

func (p *pending) add(k string) error {
	p.keys = append(p.keys, k)
	if len(p.keys) < p.r.opts.Batch {
		return nil
	}
	return p.flush()
}

func (p *pending) flush() error {
	if len(p.keys) == 0 {
		return nil
	}
	err := p.r.deleteBatch(p.ctx, p.ctx, "", p.keys)
	p.keys = p.keys[:0]
	return err
}
