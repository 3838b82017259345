package serialtest

// SystemPython is Debian's Python, which has the stdlib modules and the
// python3-* packages (msgpack, lz4, snappy, zstandard) the vector generators
// and round-trip tests use; a pyenv python3 earlier on PATH may lack them.
const SystemPython = "/usr/bin/python3"
