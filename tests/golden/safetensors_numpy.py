#!/usr/bin/python3
"""A minimal safetensors reader and writer on numpy (Debian packages no `safetensors`).

Golden scripts import `load` and `save`; the C++ tests run it as a program:
  safetensors_numpy.py list FILE          print "name dtype shape" per tensor (file order);
                                          exit 1 unless each tensor equals arange(numel) in its dtype
  safetensors_numpy.py roundtrip IN OUT   read IN, write the same tensors and metadata to OUT
The writer lays data out like safetensors.torch.save_file: wider dtypes first, then by name.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.dtype(np.float32), "F64": np.dtype(np.float64), "I64": np.dtype(np.int64)}
NAMES = {v: k for k, v in DTYPES.items()}
ORDER = ["I64", "F64", "F32"]  # the reference writer's order: by dtype, widest first


def load(path):
    """Returns ({name: ndarray} in data order, {metadata})."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = e["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=DTYPES[e["dtype"]])
        tensors[name] = a.reshape(e["shape"]).copy()
    return tensors, metadata


def save(path, tensors, metadata=None):
    """Writes {name: ndarray} (float32/float64/int64) with optional {str: str} metadata."""
    arrays = {name: np.array(t, order="C") for name, t in tensors.items()}  # keeps 0-d arrays 0-d
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name in sorted(arrays, key=lambda name: (ORDER.index(NAMES[arrays[name].dtype]), name)):
        a = arrays[name]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # aligns the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def _list(path):
    tensors, _ = load(path)
    ok = True
    for name, a in tensors.items():
        expected = np.arange(a.size, dtype=a.dtype).reshape(a.shape)
        same = np.array_equal(a, expected)
        ok = ok and same
        print(f"{name} {NAMES[a.dtype]} {list(a.shape)}" + ("" if same else " MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "list":
        sys.exit(_list(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "roundtrip":
        save(sys.argv[3], *load(sys.argv[2]))
        sys.exit(0)
    sys.exit(__doc__)
