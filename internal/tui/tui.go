package tui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Run shows the dashboard on the terminal behind in and out until the user
// quits. Warnings a backend raises while it runs go to the status line: a
// write to stderr would tear the full-screen view.
func Run(ctx context.Context, in io.Reader, out io.Writer, opts Options, open func(ctx context.Context, warn func(string)) (backends.Backend, error), extra ...tea.ProgramOption) error {
	var p *tea.Program
	warn := func(s string) {
		if p != nil {
			go p.Send(uictx.Status{Text: "warning: " + uictx.OneLine(s), Err: true})
		}
	}
	opts.Open = func(ctx context.Context) (backends.Backend, error) { return open(ctx, warn) }
	m := New(ctx, opts)
	defer m.Close()
	p = tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)}, extra...)...)
	_, err := p.Run()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrInterrupted), ctx.Err() != nil:
		// SIGINT or the caller's cancellation: the terminal is restored.
		return context.Canceled
	}
	return err
}
