#!/usr/bin/python3
"""ember -> PyTorch: state dicts SAVED BY EMBER load into the equivalent torch models and give the
same outputs. Writes fixtures/ember_written_torch_outputs.safetensors for
tests/test_torch_interop.cpp.

Reads three files that ember wrote (the C++ test asserts they are byte for byte what ember writes):
  fixtures/ember_written_cnn.safetensors     examples/train_cnn.cpp's model (--channels 8), float32
  fixtures/ember_written_lstm.safetensors    LSTM(4, 6, num_layers=2, batch_first) + Linear(6, 3)
                                             head on the last step, float64
  fixtures/ember_written_inputs.safetensors  "cnn.input" [3,1,28,28] f32, "lstm.input" [2,5,4] f64
For each model it checks that the file's tensors have torch's state_dict names in torch's order,
with torch's dtypes (num_batches_tracked is int64) and shapes, loads them with
load_state_dict(strict=True), runs the input in eval mode and saves the outputs:
  "cnn.logits"; "lstm.sequence", "lstm.h_n", "lstm.c_n", "lstm.logits".
As a check on the fixture itself, the float32 CNN is also run in float64 on the same values, and
nothing is written if torch's own float32 error uses more than half of the C++ test's float32
tolerance (1e-5 relative + 1e-6 absolute).

Regenerate, after a deliberate change to what ember writes (init, names, safetensors layout):
  EMBER_REGENERATE_FIXTURES=1 build/tests/ember_tests --gtest_filter='TorchInterop.*'
  /usr/bin/python3 tests/golden/check_ember_written.py
  build/tests/ember_tests --gtest_filter='TorchInterop.*'
Run it with Debian's python3-torch (1.13) and numpy; the `python3` first on PATH has no torch.
"""
import copy
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
sys.path.insert(0, HERE)
from safetensors_numpy import load, save  # noqa: E402

F32_RTOL, F32_ATOL = 1e-5, 1e-6  # tests/test_torch_interop.cpp's float32 bounds


def make_cnn():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


class SequenceClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 6, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(6, 3)

    def forward(self, x):
        sequence, (h_n, c_n) = self.lstm(x)
        return sequence, h_n, c_n, self.head(sequence[:, -1])


def load_ember_state(model, name):
    """Loads fixtures/<name>.safetensors into `model` strictly, after checking that the file holds
    exactly torch's state_dict: same names in the same order, dtypes and shapes."""
    arrays, _ = load(os.path.join(FIXTURES, name + ".safetensors"))  # in the file's data order
    own = model.state_dict()
    assert list(arrays) == list(own), f"{name}: keys {list(arrays)} != torch's {list(own)}"
    for key, array in arrays.items():
        want = own[key]
        got = torch.from_numpy(array)
        assert got.dtype == want.dtype, f"{name}: {key} is {got.dtype}, torch has {want.dtype}"
        assert got.shape == want.shape, \
            f"{name}: {key} is {list(got.shape)}, torch has {list(want.shape)}"
    model.load_state_dict({k: torch.from_numpy(a) for k, a in arrays.items()}, strict=True)
    return model.eval()


def check_f32_headroom(what, f32, f64):
    """Refuses a fixture whose own float32 rounding would use most of the C++ tolerance."""
    error = (f32.double() - f64).abs()
    allowed = F32_ATOL + F32_RTOL * f64.abs()
    worst = (error / allowed).max().item()
    assert worst <= 0.5, f"{what}: torch's float32 error is {worst:.2f} of the C++ tolerance"
    return worst


def main():
    inputs, _ = load(os.path.join(FIXTURES, "ember_written_inputs.safetensors"))
    outputs = {}
    with torch.no_grad():
        cnn = load_ember_state(make_cnn(), "ember_written_cnn")
        x = torch.from_numpy(inputs["cnn.input"])
        logits = cnn(x)
        headroom = check_f32_headroom("cnn.logits", logits, copy.deepcopy(cnn).double()(x.double()))
        outputs["cnn.logits"] = logits

        lstm = load_ember_state(SequenceClassifier().double(), "ember_written_lstm")
        sequence, h_n, c_n, head = lstm(torch.from_numpy(inputs["lstm.input"]))
        outputs.update({"lstm.sequence": sequence, "lstm.h_n": h_n, "lstm.c_n": c_n,
                        "lstm.logits": head})

    metadata = {"generator": "tests/golden/check_ember_written.py, torch " + torch.__version__}
    path = os.path.join(FIXTURES, "ember_written_torch_outputs.safetensors")
    save(path, {k: v.numpy() for k, v in outputs.items()}, metadata)
    print(f"wrote {path} (cnn float32 error: {headroom:.3f} of the C++ tolerance)")
    for k, v in outputs.items():
        print(f"  {k} {list(v.shape)} {v.dtype} mean |x| {v.abs().mean().item():.4g}")


if __name__ == "__main__":
    main()
