package commands

import (
	"fmt"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

// workersJSON is what a write did on the workers of a replica set: the
// "workers" field of set, del and expire -o json.
type workersJSON struct {
	Of   int `json:"of"`
	Done int `json:"done"`
	// Missing: workers that answered without the key (del, expire).
	Missing int              `json:"missing"`
	Failed  []workerFailJSON `json:"failed,omitempty"`
}

type workerFailJSON struct {
	Worker string `json:"worker"`
	Error  string `json:"error"`
}

func fanoutDoc(f backends.Fanout) *workersJSON {
	doc := &workersJSON{Of: f.Members, Done: f.Done, Missing: f.Missing}
	for _, m := range f.Failed {
		doc.Failed = append(doc.Failed, workerFailJSON{Worker: m.Name, Error: ErrorMessage(m.Err)})
	}
	return doc
}

// fanoutNote says on stderr what a write did on the workers, in every mode:
// a deploy hook's log should show that all of them were reached. A write
// that some workers missed ends in its PartialError instead, which says so.
func fanoutNote(ios *iostreams.IOStreams, what string, f backends.Fanout) {
	if len(f.Failed) > 0 {
		return
	}
	s := fmt.Sprintf("%s on %d of %d workers", what, f.Done, f.Members)
	if f.Missing > 0 {
		s += fmt.Sprintf(" (%d did not hold it)", f.Missing)
	}
	fmt.Fprintln(ios.ErrOut, textesc.Line(s))
}
