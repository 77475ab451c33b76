#!/usr/bin/env python3
"""Writes the safetensors corpora under tests/data/ (plain python3: struct + json only).

  safetensors_malformed/  one file per way a file can be wrong; each must make ember::load throw
                          an ember::Error (test_safetensors.cpp maps every file to a message part)
  safetensors_valid/      small well-formed files: test inputs and fuzzing seeds

Run: python3 tests/golden/make_malformed_safetensors.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def frame(header, data=b"", length=None):
    """8-byte little-endian length + header bytes + data; `length` overrides the true length."""
    if not isinstance(header, bytes):
        header = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32_W = {"w": entry("F32", [2], 0, 8)}  # a well-formed one-tensor header, 8 data bytes
EIGHT = bytes(range(8))

MALFORMED = {
    "empty": b"",
    "truncated_length": b"\x10\x00\x00",
    "huge_header_length": frame(F32_W, EIGHT, length=2**64 - 1),
    "header_length_past_end": frame(F32_W, EIGHT, length=1000),
    "empty_header": frame(b""),
    "bad_json": frame(b'{"w": {"dtype": "F32",'),
    "trailing_garbage_json": frame(b'{"w": 1} x'),
    "invalid_utf8": frame(b'{"\xff\xfe": 1}'),
    "overlong_utf8": frame(b'{"\xc0\xaf": 1}'),
    "surrogate_utf8": frame(b'{"\xed\xa0\x80": 1}'),
    "header_not_object": frame([1, 2, 3]),
    "header_is_string": frame("w"),
    "too_deep": frame(b"[" * 100 + b"]" * 100),
    "entry_not_object": frame({"w": [1, 2]}),
    "missing_dtype": frame({"w": {"shape": [2], "data_offsets": [0, 8]}}, EIGHT),
    "missing_shape": frame({"w": {"dtype": "F32", "data_offsets": [0, 8]}}, EIGHT),
    "missing_offsets": frame({"w": {"dtype": "F32", "shape": [2]}}, EIGHT),
    "dtype_not_string": frame({"w": entry(32, [2], 0, 8)}, EIGHT),
    "unknown_dtype": frame({"w": entry("F16", [4], 0, 8)}, EIGHT),
    "shape_not_array": frame({"w": entry("F32", 2, 0, 8)}, EIGHT),
    "shape_float": frame({"w": entry("F32", [2.0], 0, 8)}, EIGHT),
    "shape_string": frame({"w": entry("F32", ["2"], 0, 8)}, EIGHT),
    "negative_dim": frame({"w": entry("F32", [-2, -1], 0, 8)}, EIGHT),
    "dim_too_large": frame({"w": entry("F32", [2**63], 0, 8)}, EIGHT),
    "overflow_shape": frame({"w": entry("F32", [2**32, 2**32, 2**32], 0, 8)}, EIGHT),
    "overflow_bytes": frame({"w": entry("F64", [2**62], 0, 8)}, EIGHT),
    "overflow_empty_shape": frame({"w": entry("F32", [0, 2**40, 2**40], 0, 0)}),
    "offsets_one_number": frame({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8]}}, EIGHT),
    "offsets_negative": frame({"w": entry("F32", [2], -8, 0)}, EIGHT),
    "offsets_float": frame({"w": entry("F32", [2], 0, 8.0)}, EIGHT),
    "offsets_reversed": frame({"w": entry("F32", [2], 8, 0)}, EIGHT),
    "wrong_size": frame({"w": entry("F32", [3], 0, 8)}, EIGHT),
    "wrong_size_i64": frame({"w": entry("I64", [2], 0, 8)}, EIGHT),
    "overlapping_offsets": frame({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)},
                                 bytes(12)),
    "same_offsets": frame({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 0, 8)}, EIGHT),
    "gap": frame({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)}, bytes(20)),
    "not_from_zero": frame({"w": entry("F32", [2], 4, 12)}, bytes(12)),
    "trailing_bytes": frame(F32_W, EIGHT + b"\x00\x00\x00\x00"),
    "data_truncated": frame(F32_W, EIGHT[:6]),
    "no_data": frame(F32_W),
    "duplicate_key": frame(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                           b'"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', EIGHT),
    "duplicate_field": frame(b'{"w":{"dtype":"F32","dtype":"F64","shape":[2],'
                             b'"data_offsets":[0,8]}}', EIGHT),
    "duplicate_metadata_key": frame(b'{"__metadata__":{"k":"a","k":"b"}}'),
    "metadata_not_object": frame({"__metadata__": ["format", "pt"]}),
    "metadata_value_not_string": frame({"__metadata__": {"format": 1}}),
}

# Well-formed files. "out_of_order" lists its tensors in the header in another order than their
# data, which ember must follow when it builds the StateDict.
VALID = {
    "one_f32": frame(F32_W, struct.pack("<2f", 1.5, -2.0)),
    "rank0_i64": frame({"n": entry("I64", [], 0, 8)}, struct.pack("<q", 42)),
    "empty_tensor": frame({"e": entry("F64", [0, 3], 0, 0)}),
    "no_tensors": frame(b"{}      "),
    "out_of_order": frame({"__metadata__": {"format": "pt"}, "b": entry("F64", [1], 8, 16),
                           "a": entry("I64", [1], 0, 8)}, struct.pack("<qd", 7, 0.25)),
    "padded_header": frame(json.dumps({"w": entry("F32", [2], 0, 8)}).encode() + b" " * 5,
                           struct.pack("<2f", 3.0, 4.0)),
}


def write_all(folder, files):
    path = os.path.join(DATA, folder)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):  # stale files would linger in the corpus
        if name.endswith(".safetensors"):
            os.remove(os.path.join(path, name))
    for name, blob in files.items():
        with open(os.path.join(path, name + ".safetensors"), "wb") as f:
            f.write(blob)
    print(f"wrote {len(files)} files to {os.path.normpath(path)}")


if __name__ == "__main__":
    write_all("safetensors_malformed", MALFORMED)
    write_all("safetensors_valid", VALID)
