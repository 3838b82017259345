module github.com/cachectl/cachectl

go 1.26.0

require (
	github.com/klauspost/compress v1.20.3 // why: gzip, zlib, zstd and snappy values (faster than stdlib flate; zstd and snappy have no stdlib codec)
	github.com/pierrec/lz4/v4 v4.1.33 // why: lz4 frame values (python lz4.frame, django-redis' lz4 compressor)
	github.com/redis/go-redis/v9 v9.23.0
	github.com/rogpeppe/go-internal v1.16.0
	github.com/spf13/cobra v1.10.2
	golang.org/x/term v0.47.0
	gopkg.in/yaml.v3 v3.0.1
)

require github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.6 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
)
