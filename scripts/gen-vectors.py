#!/usr/bin/python3
"""Regenerate every golden vector file under internal/serial/testdata/vectors
with Debian's CPython (stdlib pickle/json/zlib/gzip and python3-msgpack,
python3-lz4, python3-snappy, python3-zstandard).

    scripts/gen-vectors.py [OUTDIR]     (default internal/serial/testdata/vectors)

The Go tests regenerate into a temporary directory and diff against the
committed files whenever /usr/bin/python3 has these modules (make test in CI).
"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "internal", "serial", "testdata", "vectors")
os.makedirs(out, exist_ok=True)
subprocess.run([sys.executable, os.path.join(here, "gen_vectors_pickle.py"), "-o", os.path.join(out, "pickle.jsonl")], check=True)
subprocess.run([sys.executable, os.path.join(here, "gen_vectors_msgpack.py"), out], check=True)
