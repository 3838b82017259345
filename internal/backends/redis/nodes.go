package redis

import (
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// nodePool holds a client per node of a cluster or of a Sentinel setup,
// made on first use with the deployment's credentials, TLS and timeouts.
type nodePool struct {
	uo *goredis.UniversalOptions

	mu      sync.Mutex
	clients map[string]*goredis.Client
}

func newNodePool(uo *goredis.UniversalOptions) *nodePool {
	return &nodePool{uo: uo, clients: map[string]*goredis.Client{}}
}

// get is the client of the node at addr.
func (p *nodePool) get(addr string) *goredis.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	cl, ok := p.clients[addr]
	if !ok {
		cl = goredis.NewClient(nodeOptions(p.uo, addr))
		cl.AddHook(cancelHook{})
		p.clients[addr] = cl
	}
	return cl
}

func (p *nodePool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for addr, cl := range p.clients {
		if e := cl.Close(); err == nil {
			err = e
		}
		delete(p.clients, addr)
	}
	return err
}

// nodeOptions are the options of a client of one node, with the same
// credentials, TLS and timeouts as the deployment's client; like it, it
// never sends a command again after a lost reply.
func nodeOptions(uo *goredis.UniversalOptions, addr string) *goredis.Options {
	return &goredis.Options{
		Addr:                     addr,
		Username:                 uo.Username,
		Password:                 uo.Password,
		TLSConfig:                uo.TLSConfig,
		OnConnect:                uo.OnConnect,
		Dialer:                   uo.Dialer,
		Protocol:                 uo.Protocol,
		DialTimeout:              uo.DialTimeout,
		ReadTimeout:              uo.ReadTimeout,
		WriteTimeout:             uo.WriteTimeout,
		ContextTimeoutEnabled:    true,
		MaxRetries:               -1,
		DialerRetries:            1,
		PoolSize:                 4,
		DisableIdentity:          true,
		MaintNotificationsConfig: uo.MaintNotificationsConfig,
	}
}
