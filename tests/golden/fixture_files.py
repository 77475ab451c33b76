"""What the golden generators share: the fixtures folder, the dtypes, the check that PyTorch's
own float32 error leaves the C++ tests room (gen_layers.py takes these), and for the case grids
of gen_norm.py and gen_rnn.py the files themselves — cases grouped by file, each case's spec
(JSON) and state_dict keys in the metadata, its tensors under "<case>/", and a "generator" entry
naming the script and the torch version.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_numpy import save  # noqa: E402

OUT_DIR = os.path.join(HERE, "fixtures")
DTYPES = {"f32": torch.float32, "f64": torch.float64}
# A float32 case is refused when PyTorch's own float32 error (against float64) uses more than
# this share of the C++ test's float32 tolerance.
SELF_CHECK_SHARE = 0.5


def to_numpy(t):
    return t.detach().cpu().numpy()


class FixtureFiles:
    def __init__(self, script, prefix):
        self.script = script  # e.g. "gen_norm.py"
        self.prefix = prefix  # files are fixtures/<prefix>_<file>.safetensors
        self.files = {}
        self.names = set()
        self.worst_f32 = (0.0, "")

    def claim(self, case):
        """Registers a case name; names must be unique across all files."""
        assert case not in self.names, case
        self.names.add(case)

    def check_f32(self, case, share):
        """`share`: how much of the f32 tolerance PyTorch's own float32 result uses."""
        self.worst_f32 = max(self.worst_f32, (share, case))
        if share > SELF_CHECK_SHARE:
            sys.exit(f"{case}: float32 PyTorch uses {share:.2f} of the f32 tolerance")

    def add(self, file, case, spec, keys, tensors):
        tensors_out, metadata = self.files.setdefault(file, ({}, {}))
        metadata[f"{case}/spec"] = json.dumps(spec, separators=(",", ":"))
        metadata[f"{case}/keys"] = ",".join(keys)
        for k, v in tensors.items():
            tensors_out[f"{case}/{k}"] = to_numpy(v)

    def write(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        total = 0
        for file, (tensors, metadata) in sorted(self.files.items()):
            metadata["generator"] = f"tests/golden/{self.script}, torch {torch.__version__}"
            path = os.path.join(OUT_DIR, f"{self.prefix}_{file}.safetensors")
            save(path, tensors, metadata)
            size = os.path.getsize(path)
            total += size
            n = sum(1 for k in metadata if k.endswith("/spec"))
            print(f"{path}: {n} cases, {len(tensors)} tensors, {size / 1e3:.0f} kB")
        print(f"{len(self.names)} cases, {total / 1e6:.2f} MB; PyTorch's float32 error uses at "
              f"most {self.worst_f32[0]:.2f} of the tolerance ({self.worst_f32[1]})")
