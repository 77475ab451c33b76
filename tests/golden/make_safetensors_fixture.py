#!/usr/bin/python3
"""Writes fixtures/python_written.safetensors: a PyTorch BatchNorm2d(3) state dict after one
training step, plus F64, I64 and empty tensors and metadata. The same values go to
fixtures/python_written.expected.txt as text (floats in float.hex(), so the text is exact), which
lets the C++ test check the loaded tensors against a source independent of the binary file.

Run with Debian's interpreter (it has torch and numpy):
  /usr/bin/python3 tests/golden/make_safetensors_fixture.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_numpy import NAMES, load, save  # noqa: E402

METADATA = {"format": "pt", "writer": "tests/golden/make_safetensors_fixture.py"}


def batchnorm_after_one_step():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    opt = torch.optim.SGD(bn.parameters(), lr=0.1)
    x = torch.randn(4, 3, 5, 5) * 2 + 1
    # A random target off zero gives every weight and bias a different, non-zero gradient.
    target = torch.randn(4, 3, 5, 5) + 0.5
    loss = ((bn(x) - target) ** 2).mean()
    loss.backward()
    opt.step()
    return {"bn." + k: v.detach() for k, v in bn.state_dict().items()}


def extras():
    special = [0.1, -0.0, float("inf"), 5e-324, 1.7976931348623157e308, float("nan")]
    return {
        "extra.double": torch.tensor(special, dtype=torch.float64).view(2, 3),
        "extra.int64": torch.tensor([[-1, 2**62], [-(2**63), 7]], dtype=torch.int64),
        "extra.empty": torch.zeros(0, 3),
    }


def text_value(v):
    return str(int(v)) if isinstance(v, int) else float(v).hex()


def write_expected(path, tensors):
    with open(path, "w") as f:
        f.write("# name dtype ndim dims... numel values... (floats as float.hex())\n")
        for name, a in tensors.items():
            values = [text_value(v) for v in a.reshape(-1).tolist()]
            fields = [name, NAMES[a.dtype], str(a.ndim), *map(str, a.shape), str(a.size), *values]
            f.write(" ".join(fields) + "\n")


def main():
    tensors = {**batchnorm_after_one_step(), **extras()}
    assert tensors["bn.num_batches_tracked"].dim() == 0
    out_dir = os.path.join(HERE, "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "python_written.safetensors")
    save(path, {k: v.numpy() for k, v in tensors.items()}, METADATA)
    # The expectation comes from the torch tensors, listed in data order (the order ember's loader
    # returns them in); reading the file back checks the writer.
    loaded, metadata = load(path)
    assert metadata == METADATA
    for name, a in loaded.items():
        assert torch.equal(torch.from_numpy(a).isnan(), tensors[name].isnan()), name
        assert torch.equal(torch.from_numpy(a).nan_to_num(), tensors[name].nan_to_num()), name
    expected = {name: tensors[name].numpy() for name in loaded}
    write_expected(os.path.join(out_dir, "python_written.expected.txt"), expected)
    print("wrote", path)


if __name__ == "__main__":
    main()
