package sshtunnel

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError refuses a server whose host key known_hosts does not vouch
// for: unknown (no entry for the host), changed (entries, none of them this
// key) or revoked. It names the key and how to trust it, never skipping the check.
type HostKeyError struct {
	Host        string // as known_hosts writes it: host, or [host]:port
	hostName    string
	port        int
	KeyType     string
	Fingerprint string // SHA256:…
	// Changed: known_hosts holds other keys for the host (KnownAt names them).
	Changed bool
	KnownAt []string
	Revoked bool
	// Unoffered: the key types known_hosts holds for the host (at KnownAt),
	// none of which the server offers any more.
	Unoffered []string
	// File is the known_hosts file to edit (the first one consulted).
	File string
}

func (e *HostKeyError) Error() string {
	scan := "ssh-keyscan"
	if e.port != 22 {
		scan += " -p " + strconv.Itoa(e.port)
	}
	switch {
	case len(e.Unoffered) > 0:
		what := "the type"
		if len(e.Unoffered) > 1 {
			what = "the types"
		}
		return fmt.Sprintf("refusing the SSH server %s: it offers no %s host key, %s %s holds for it: its keys have CHANGED (someone may be intercepting the connection); if the change is expected, remove the old key with `ssh-keygen -R '%s' -f %s`, then trust the new one with `%s %s >> %s`",
			e.Host, strings.Join(e.Unoffered, " or "), what, strings.Join(e.KnownAt, ", "), e.Host, e.File, scan, e.hostName, e.File)
	case e.Revoked:
		return fmt.Sprintf("refusing the SSH server %s: its %s host key %s is marked @revoked in %s", e.Host, e.KeyType, e.Fingerprint, strings.Join(e.KnownAt, ", "))
	case e.Changed:
		return fmt.Sprintf("refusing the SSH server %s: its host key has CHANGED (someone may be intercepting the connection): it now shows %s %s, and %s holds another; if the change is expected, remove the old key with `ssh-keygen -R '%s' -f %s`, then trust the new one with `%s %s >> %s`",
			e.Host, e.KeyType, e.Fingerprint, strings.Join(e.KnownAt, ", "), e.Host, e.File, scan, e.hostName, e.File)
	}
	return fmt.Sprintf("refusing the SSH server %s: its host key is not in %s: it shows %s %s; if that is the server's key (compare with `ssh-keygen -lf` on the server), trust it with `%s %s >> %s`",
		e.Host, e.File, e.KeyType, e.Fingerprint, scan, e.hostName, e.File)
}

// hostKeys verifies the host keys of one hop.
type hostKeys struct {
	hop      Hop
	insecure bool
	warn     func(string)
	// refused keeps the callback's error: the handshake error says less.
	refused error
	// known: the key types known_hosts holds for the hop, and where;
	// file: the known_hosts file to edit.
	knownTypes, knownAt []string
	file                string
}

// unoffered refuses a server that offers none of the known key types.
func (k *hostKeys) unoffered() *HostKeyError {
	return &HostKeyError{Host: knownhosts.Normalize(k.hop.Addr()), hostName: k.hop.Host, port: k.hop.Port,
		Changed: true, Unoffered: k.knownTypes, KnownAt: k.knownAt, File: k.file}
}

// config returns the callback and the host key algorithms to ask for: those
// of the keys known_hosts holds for the host, so a server with several keys
// shows the one known (as ssh does), and a mismatch means a changed key.
func (k *hostKeys) config() (ssh.HostKeyCallback, []string, error) {
	if k.insecure {
		return func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if k.warn != nil {
				k.warn(fmt.Sprintf("not verifying the SSH host key of %s (--ssh-insecure-ignore-host-key): it shows %s %s; anyone on the way could pose as it",
					k.hop.String(), key.Type(), ssh.FingerprintSHA256(key)))
			}
			return nil
		}, nil, nil
	}
	var files []string
	for _, f := range k.hop.KnownHosts {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("known_hosts %s: %v", f, unwrapPath(err))
		}
	}
	first := "~/.ssh/known_hosts"
	if len(k.hop.KnownHosts) > 0 {
		first = k.hop.KnownHosts[0]
	}
	if len(files) > 0 {
		first = files[0]
	}
	k.file = first
	var db ssh.HostKeyCallback
	if len(files) > 0 {
		var err error
		if db, err = knownhosts.New(files...); err != nil {
			return nil, nil, fmt.Errorf("read known_hosts: %v", err)
		}
	}
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if db == nil {
			k.refused = k.refusal(first, key, nil)
			return k.refused
		}
		err := db(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &ke):
			k.refused = k.refusal(first, key, ke.Want)
		case errors.As(err, &re):
			he := k.refusal(first, key, nil)
			he.Revoked, he.KnownAt = true, []string{re.Revoked.Filename + ":" + strconv.Itoa(re.Revoked.Line)}
			k.refused = he
		default:
			k.refused = err
		}
		return k.refused
	}
	var algos []string
	algos, k.knownTypes, k.knownAt = knownAlgorithms(db, k.hop.Addr())
	return cb, algos, nil
}

func (k *hostKeys) refusal(file string, key ssh.PublicKey, want []knownhosts.KnownKey) *HostKeyError {
	e := &HostKeyError{
		Host: knownhosts.Normalize(k.hop.Addr()), hostName: k.hop.Host, port: k.hop.Port,
		KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key), File: file,
	}
	for _, w := range want {
		e.Changed = true
		e.KnownAt = append(e.KnownAt, fmt.Sprintf("%s:%d (%s)", w.Filename, w.Line, w.Key.Type()))
	}
	return e
}

// knownAlgorithms asks the database what it holds for addr: a key no file
// can hold (a fresh one) is refused with the list of the keys it wants.
// It returns the algorithms to ask for, and the key types and the
// file:line they are known at.
func knownAlgorithms(db ssh.HostKeyCallback, addr string) (algos, types, at []string) {
	if db == nil {
		return nil, nil, nil
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, nil, nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, nil
	}
	var ke *knownhosts.KeyError
	if err := db(addr, &net.TCPAddr{IP: net.IPv4zero}, probe); !errors.As(err, &ke) {
		return nil, nil, nil
	}
	for _, w := range ke.Want {
		for _, a := range algorithmsOf(w.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
		if !slices.Contains(types, w.Key.Type()) {
			types = append(types, w.Key.Type())
		}
		at = append(at, w.Filename+":"+strconv.Itoa(w.Line))
	}
	return algos, types, at
}

// algorithmsOf lists the signature algorithms a host key of type t signs
// with: RSA keys sign with SHA-2 (and, on old servers, SHA-1).
func algorithmsOf(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}
