package sshtunnel

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// keys gathers what a hop can log in with: the agent's keys and the
// identity files'. Keys the settings or ~/.ssh/config name go first (from
// the agent when it holds them), then the agent's others: sshd refuses a
// login after MaxAuthTries (6) refused keys, and an agent may hold more.
// It never asks for a passphrase: an encrypted key is used through the
// agent or not at all.
type keys struct {
	signers []ssh.Signer
	offered []string // what was offered, for the message when all are refused
	notes   []string // why a file was not offered (encrypted, unreadable)
	agent   net.Conn
}

func (k *keys) close() {
	if k.agent != nil {
		k.agent.Close()
	}
}

func loadKeys(hop Hop, agentSocket string) *keys {
	k := &keys{}
	var agentKeys []*agent.Key
	var agentSigners []ssh.Signer
	if agentSocket != "" {
		if c, err := net.Dial("unix", agentSocket); err != nil {
			k.notes = append(k.notes, fmt.Sprintf("ssh-agent at SSH_AUTH_SOCK does not answer (%v)", unwrapNet(err)))
		} else {
			k.agent = c
			ag := agent.NewClient(c)
			signers, err := ag.Signers()
			if err != nil {
				k.notes = append(k.notes, fmt.Sprintf("ssh-agent failed to list its keys (%v)", err))
			}
			agentKeys, _ = ag.List()
			agentSigners = signers
			if len(signers) > 0 {
				k.offered = append(k.offered, fmt.Sprintf("%d key(s) from ssh-agent", len(signers)))
			}
		}
	}
	// named: the agent's signers of the identity files (indexes into
	// agentSigners), offered first.
	var named []int
	inAgent := func(pub ssh.PublicKey) bool {
		for _, a := range agentKeys {
			if bytes.Equal(a.Marshal(), pub.Marshal()) {
				for i, sg := range agentSigners {
					if bytes.Equal(sg.PublicKey().Marshal(), pub.Marshal()) && !slices.Contains(named, i) {
						named = append(named, i)
					}
				}
				return true
			}
		}
		return false
	}
	var files []ssh.Signer
	for _, path := range hop.IdentityFiles {
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			if hop.ExplicitIdentity {
				k.notes = append(k.notes, path+" does not exist")
			}
			continue
		}
		if err != nil {
			k.notes = append(k.notes, fmt.Sprintf("cannot read %s (%v)", path, unwrapPath(err)))
			continue
		}
		signer, err := ssh.ParsePrivateKey(data)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			if pm.PublicKey != nil && inAgent(pm.PublicKey) {
				continue // offered through the agent already
			}
			if pub := publicKeyFile(path); pub != nil && inAgent(pub) {
				continue
			}
			k.notes = append(k.notes, fmt.Sprintf("%s is encrypted: add it to ssh-agent (ssh-add %s); cachectl never asks for passphrases", path, path))
		case err != nil:
			// The parser's message names the format, never the key's bytes.
			k.notes = append(k.notes, fmt.Sprintf("%s is not a private key cachectl can read (%v)", path, err))
		default:
			if inAgent(signer.PublicKey()) {
				continue
			}
			files = append(files, signer)
			k.offered = append(k.offered, path)
		}
	}
	if !hop.ExplicitIdentity {
		// The default files: after the agent's keys, as ssh offers them.
		k.signers = append(append(k.signers, agentSigners...), files...)
		return k
	}
	for _, i := range named {
		k.signers = append(k.signers, agentSigners[i])
	}
	k.signers = append(k.signers, files...)
	for i, sg := range agentSigners {
		if !slices.Contains(named, i) {
			k.signers = append(k.signers, sg)
		}
	}
	return k
}

func publicKeyFile(path string) ssh.PublicKey {
	data, err := os.ReadFile(path + ".pub")
	if err != nil {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return pub
}

// authError explains a refused login: what was offered, and why other keys were not.
func (k *keys) authError(hop Hop) error {
	var b strings.Builder
	fmt.Fprintf(&b, "SSH authentication as %s to %s failed", hop.User, net.JoinHostPort(hop.Host, fmt.Sprint(hop.Port)))
	if len(k.offered) == 0 {
		b.WriteString(": no key to offer")
		if len(k.notes) == 0 {
			b.WriteString(" (SSH_AUTH_SOCK is not set and none of ~/.ssh/id_ed25519, id_ecdsa, id_rsa exists; name a key with IdentityFile in ~/.ssh/config or the context's ssh identity_files)")
		}
	} else {
		fmt.Fprintf(&b, " (offered %s): check the user name and that the server's authorized_keys holds the key", strings.Join(k.offered, ", "))
	}
	for _, n := range k.notes {
		b.WriteString("; ")
		b.WriteString(n)
	}
	return &Error{Msg: b.String()}
}

// unwrapNet keeps the reason of a network error ("connection refused")
// without the addresses and syscall names around it.
func unwrapNet(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return unwrapPath(oe.Err)
	}
	return err
}
