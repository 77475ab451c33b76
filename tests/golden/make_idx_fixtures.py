#!/usr/bin/env python3
"""Writes the IDX corpus under tests/data/idx/ (plain python3: struct + gzip only).

  valid/       small well-formed files of every IDX type, raw and gzipped; test_data.cpp checks
               their values, which are spelled out below
  malformed/   one file per way a file can be wrong; each must make ember::data::read_idx throw an
               ember::Error (test_data.cpp maps every file to parts of its message)
  fashion_*/   tiny directories laid out like /usr/share/datasets/fashion-mnist, for FashionMNIST

gzip files are written with mtime=0, so rerunning the script reproduces the files byte for byte.
Run: python3 tests/golden/make_idx_fixtures.py
"""
import gzip
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "idx")

TYPE_CODES = {"B": 0x08, "b": 0x09, "h": 0x0B, "i": 0x0C, "f": 0x0D, "d": 0x0E}


def header(fmt, dims, type_code=None, ndims=None):
    code = TYPE_CODES[fmt] if type_code is None else type_code
    return bytes([0, 0, code, len(dims) if ndims is None else ndims]) + struct.pack(
        ">%dI" % len(dims), *dims)


def idx(fmt, dims, values):
    """A complete IDX file: header + big-endian elements."""
    return header(fmt, dims) + struct.pack(">%d%s" % (len(values), fmt), *values)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def write(subdir, name, data):
    os.makedirs(os.path.join(OUT, subdir), exist_ok=True)
    with open(os.path.join(OUT, subdir, name), "wb") as f:
        f.write(data)


UBYTE_2x3x4 = idx("B", [2, 3, 4], list(range(0, 240, 10)))  # 0, 10, ..., 230

VALID = {
    "ubyte_2x3x4.idx": UBYTE_2x3x4,
    "byte_4.idx": idx("b", [4], [-128, -1, 0, 127]),
    "short_3.idx": idx("h", [3], [-32768, 258, 32767]),
    "int_2x2.idx": idx("i", [2, 2], [-1, 0x01020304, -(2**31), 7]),
    "float_3.idx": idx("f", [3], [1.5, -0.25, 3.0e38]),
    "double_2.idx": idx("d", [2], [0.1, -2.0e300]),
    "ubyte_1x1x1x5.idx": idx("B", [1, 1, 1, 5], [1, 2, 3, 4, 255]),
    "ubyte_0x3.idx": idx("B", [0, 3], []),  # no elements: valid, an empty tensor
}

# (name, bytes); the comment says what read_idx must report.
MALFORMED = {
    "empty.idx": b"",  # fewer than the 4 magic bytes
    "short_magic.idx": b"\x00\x00\x08",
    "bad_magic.idx": b"\x12\x34" + UBYTE_2x3x4[2:],  # not two zero bytes
    "text.idx": b"hello, world: not an IDX file\n",  # a foreign file
    "png.idx": b"\x89PNG\r\n\x1a\n" + bytes(16),
    "bad_type.idx": header("B", [2], type_code=0x07) + b"\x01\x02",
    "zero_dims.idx": header("B", [], ndims=0),
    "five_dims.idx": header("B", [1, 1, 1, 1, 1]) + b"\x01",
    "header_truncated.idx": UBYTE_2x3x4[:10],  # 3 dims need a 16-byte header
    "huge_dims.idx": header("B", [0xFFFFFFFF] * 4) + bytes(8),  # > 2^64 bytes
    "huge_dims_zero_last.idx": header("B", [0xFFFFFFFF, 0xFFFFFFFF, 0]),  # partial product > 2^63
    "too_large.idx": header("i", [65536, 65536]) + bytes(8),  # 16 GiB: over the 2 GiB bound
    "truncated.idx": UBYTE_2x3x4[:-4],  # 16 + 20 of 40 bytes
    "trailing.idx": UBYTE_2x3x4 + b"\x00\x01\x02\x03\x04",  # 45 of 40 bytes
    "int_truncated.idx": idx("i", [3], [1, 2, 3])[:-2],  # 26 of 28 bytes
    "truncated.idx.gz": gz(UBYTE_2x3x4[:-4]),  # a complete gzip stream of truncated data
    "trailing.idx.gz": gz(UBYTE_2x3x4 + b"\x00\x01\x02\x03\x04"),
    "bad_magic.idx.gz": gz(b"\x12\x34" + UBYTE_2x3x4[2:]),
    "text.idx.gz": gz(b"hello, world: not an IDX file\n"),
    "huge_dims.idx.gz": gz(header("B", [0xFFFFFFFF] * 4) + bytes(8)),
    # 1000^3 ubyte = 1 GB, under the bound, but the stream holds 10 bytes: must fail at end of data
    # without allocating the gigabyte.
    "claims_1gb.idx.gz": gz(header("B", [1000, 1000, 1000]) + bytes(10)),
    "stream_cut.idx.gz": gz(UBYTE_2x3x4)[:-20],  # the gzip stream itself is cut in the data
    "stream_cut_trailer.idx.gz": gz(UBYTE_2x3x4)[:-4],  # all data, but no gzip length trailer
    "gzip_header_only.idx.gz": gz(UBYTE_2x3x4)[:10],
    "bad_crc.idx.gz": gz(UBYTE_2x3x4)[:-8] + b"\xde\xad\xbe\xef" + gz(UBYTE_2x3x4)[-4:],
    "corrupt_deflate.idx.gz": gz(UBYTE_2x3x4)[:10] + b"\xff" * 30,
}


def fashion_like(n_images, n_labels, labels=None, image_dims=(28, 28)):
    """A split's (images, labels) files: image i has pixel value (i * 37 + p) % 256 at p."""
    pixels = image_dims[0] * image_dims[1]
    images = idx("B", [n_images, *image_dims],
                 [(i * 37 + p) % 256 for i in range(n_images) for p in range(pixels)])
    labels = [i % 10 for i in range(n_labels)] if labels is None else labels
    return images, idx("B", [n_labels], labels)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for name, data in VALID.items():
        write("valid", name, data)
        write("valid", name + ".gz", gz(data))
    # Two gzip members back to back are one valid gzip file (gzip -c a >> f; gzip -c b >> f).
    write("valid", "ubyte_2x3x4_two_members.idx.gz", gz(UBYTE_2x3x4[:20]) + gz(UBYTE_2x3x4[20:]))
    for name, data in MALFORMED.items():
        write("malformed", name, data)

    # fashion_tiny: 3 training images (gzipped, as Debian ships them), 2 test images (raw).
    images, labels = fashion_like(3, 3, labels=[9, 0, 3])
    write("fashion_tiny", "train-images-idx3-ubyte.gz", gz(images))
    write("fashion_tiny", "train-labels-idx1-ubyte.gz", gz(labels))
    images, labels = fashion_like(2, 2, labels=[1, 2])
    write("fashion_tiny", "t10k-images-idx3-ubyte", images)
    write("fashion_tiny", "t10k-labels-idx1-ubyte", labels)
    # Directories whose training split is wrong in one way each.
    images, labels = fashion_like(3, 2)
    write("fashion_count_mismatch", "train-images-idx3-ubyte", images)
    write("fashion_count_mismatch", "train-labels-idx1-ubyte", labels)
    images, labels = fashion_like(2, 2, labels=[1, 10])
    write("fashion_bad_label", "train-images-idx3-ubyte", images)
    write("fashion_bad_label", "train-labels-idx1-ubyte", labels)
    images, labels = fashion_like(2, 2, image_dims=(28, 27))
    write("fashion_bad_shape", "train-images-idx3-ubyte", images)
    write("fashion_bad_shape", "train-labels-idx1-ubyte", labels)
    images, _ = fashion_like(2, 2)
    write("fashion_no_labels", "train-images-idx3-ubyte.gz", gz(images))


if __name__ == "__main__":
    main()
