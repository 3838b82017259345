package httpmem

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// maxSSELine bounds one line of an event stream and maxSSEEvent one event's
// data: a key is at most a protocol server's max_key (64 KiB by default),
// base64 in JSON a third more.
const (
	maxSSELine  = 1 << 20
	maxSSEEvent = 1 << 20
)

// errSSETooLong: the server sent a line or an event beyond the bounds.
var errSSETooLong = errors.New("event stream line or event too long")

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	Name string // the event field, "" for the default ("message")
	Data string // data lines joined by "\n"
	ID   string
}

// sseReader parses a text/event-stream (the WHATWG HTML "server-sent
// events" format): lines end in CR, LF or CRLF; a blank line dispatches;
// lines starting with ':' are comments. It reads nothing but what it is
// given, allocates at most the bounds above, and calls alive for every
// line, comments (heartbeats) included.
type sseReader struct {
	r      *bufio.Reader
	alive  func()
	skipLF bool // the last line ended in CR: a LF right after it belongs to it
	line   []byte
}

func newSSEReader(r io.Reader, alive func()) *sseReader {
	if alive == nil {
		alive = func() {}
	}
	return &sseReader{r: bufio.NewReaderSize(r, 32<<10), alive: alive}
}

// readLine returns the next line without its terminator; io.EOF at a clean
// end (a final line without a terminator is dropped, as the format says).
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(s.line) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if s.skipLF {
			s.skipLF = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\r':
			s.skipLF = true
			return s.line, nil
		case '\n':
			return s.line, nil
		}
		if len(s.line) >= maxSSELine {
			return nil, errSSETooLong
		}
		s.line = append(s.line, c)
	}
}

// next returns the next event that has data; events without data lines
// are not dispatched, as the format says.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data strings.Builder
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		s.alive()
		if len(line) == 0 {
			if hasData {
				ev.Data = data.String()
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue // a comment: heartbeats
		}
		field, value := string(line), ""
		if i := strings.IndexByte(field, ':'); i >= 0 {
			field, value = field[:i], field[i+1:]
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "data":
			if data.Len()+len(value)+1 > maxSSEEvent {
				return sseEvent{}, errSSETooLong
			}
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "event":
			ev.Name = value
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID = value
			}
		}
		// retry and unknown fields: ignored (reconnecting is ours to pace).
	}
}
