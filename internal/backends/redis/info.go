package redis

import (
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
)

// parseInfo reads INFO's "field:value" lines, skipping "# Section" headers.
func parseInfo(info string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

func statsFromInfo(raw map[string]string) *backends.Stats {
	s := &backends.Stats{Known: map[string]bool{}}
	s.Figures(map[string]string{
		"memory": "used_memory", "hits": "keyspace_hits", "misses": "keyspace_misses", "evictions": "evicted_keys",
		"expired": "expired_keys", "connections": "connected_clients", "uptime": "uptime_in_seconds",
	}, backends.IntFigure(raw))
	if v, ok := raw["instantaneous_ops_per_sec"]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			s.OpsPerSec = f
			s.Known["ops_per_sec"] = true
		}
	}
	if v, ok := raw["redis_version"]; ok {
		s.Version = "redis " + v
		if srv, ok := raw["server_name"]; ok && srv != "" && srv != "redis" {
			s.Version = srv + " " + raw["valkey_version"]
		}
		s.Known["version"] = true
	}
	return s
}

// parseXRange reads an XRANGE reply: [[id, [field, value, ...]], ...].
func parseXRange(reply any) []backends.Item {
	entries, _ := reply.([]any)
	items := make([]backends.Item, 0, len(entries))
	for _, e := range entries {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			continue
		}
		id, _ := pair[0].(string)
		it := backends.Item{ID: id}
		fv, _ := pair[1].([]any)
		for i := 0; i+1 < len(fv); i += 2 {
			f, _ := fv[i].(string)
			v, _ := fv[i+1].(string)
			it.Fields = append(it.Fields, backends.FieldValue{Field: []byte(f), Value: []byte(v)})
		}
		items = append(items, it)
	}
	return items
}
