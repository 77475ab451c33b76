#!/usr/bin/python3
"""Writes fixtures/rnn_cells.safetensors and fixtures/rnn_layers.safetensors: PyTorch's answers for
ember's recurrent layers, for tests/test_rnn.cpp.

Run with Debian's python3-torch (1.13) and numpy:  /usr/bin/python3 tests/golden/gen_rnn.py
(the `python3` first on PATH has no torch). Output is deterministic: every case seeds its own
generator from a CRC of its name, so adding a case leaves the others' bytes unchanged.

The grid: RNNCell (tanh, relu), LSTMCell, GRUCell x bias on/off x initial state given/absent x
batched/unbatched input; RNN (tanh, relu), LSTM, GRU x 1/2 layers x batch_first off/on x initial
state given/absent (and bias off for two layers); plus unbatched inputs, a few larger shapes, an
eval-mode case with dropout, and saturated gates (inputs scaled by 20); all in f32 and f64.

Layout of one file. Metadata (all strings):
  "generator"          this script and the torch version
  "<case>/spec"        JSON: {"module", "options": {...PyTorch kwargs...}, "dtype": "f32"|"f64",
                       "x_shape", "hx": true|false, "train": true|false, "outputs": [names],
                       optionally "scale"}
  "<case>/keys"        the module's state_dict keys in order, comma-separated
Tensors (dtype of the case):
  <case>/state/<key>   PyTorch's own initial parameters (loaded with load_state_dict)
  <case>/x             the input, N(0, scale²); <case>/h0 and, for LSTMs, <case>/c0 when "hx" is
                       true, N(0, (scale/2)²) (scale: spec "scale", default 1)
  <case>/gout/<name>   a random upstream gradient for each output: cells "h" (and "c"), layers
                       "output", "h_n" (and "c_n")
  <case>/out/<name>    the outputs
  <case>/grad/x, /grad/h0, /grad/c0, /grad/<key>
                       gradients of sum(out * gout) over all outputs, for the input, the initial
                       state and every parameter

f32 fixtures are PyTorch's own float32 results. As a check on the fixtures themselves, every f32
case is re-run in float64 on the same values, and the script refuses to write anything if
PyTorch's own float32 error uses more than half of the C++ test's f32 tolerance (1e-4 relative +
1e-5 absolute) anywhere.
"""
import copy
import json
import zlib

import torch
import torch.nn as nn

from fixture_files import DTYPES, FixtureFiles

F32_RTOL, F32_ATOL = 1e-4, 1e-5
CELLS = ("RNNCell", "LSTMCell", "GRUCell")


def make_module(name, options):
    o = dict(options)
    return getattr(nn, name)(o.pop("input_size"), o.pop("hidden_size"), **o)


def output_names(name):
    if name in CELLS:
        return ["h", "c"] if name == "LSTMCell" else ["h"]
    return ["output", "h_n", "c_n"] if name == "LSTM" else ["output", "h_n"]


def hidden_shape(spec):
    """The shape of h0 (and c0) for the spec's input."""
    o, shape = spec["options"], spec["x_shape"]
    if spec["module"] in CELLS:
        return [shape[0], o["hidden_size"]] if len(shape) == 2 else [o["hidden_size"]]
    layers = o.get("num_layers", 1)
    if len(shape) == 2:
        return [layers, o["hidden_size"]]
    batch = shape[0] if o.get("batch_first", False) else shape[1]
    return [layers, batch, o["hidden_size"]]


def forward(module, spec, x, states):
    """The module's outputs as a list, in output_names order."""
    hx = None
    if states:
        hx = tuple(states) if spec["module"] in ("LSTM", "LSTMCell") else states[0]
    result = module(x, hx)
    if spec["module"] in CELLS:
        return list(result) if isinstance(result, tuple) else [result]
    y, h = result
    return [y] + (list(h) if isinstance(h, tuple) else [h])


def run(module, spec, x, h0, c0, gouts):
    """Forward and backward of sum(out * gout); returns {name: tensor} of everything computed."""
    m = copy.deepcopy(module)
    m.train(spec["train"])
    xi = x.clone().requires_grad_()
    states = [s.clone().requires_grad_() for s in (h0, c0) if s is not None]
    outs = forward(m, spec, xi, states)
    names = output_names(spec["module"])
    sum((o * gouts[n]).sum() for o, n in zip(outs, names)).backward()
    out = {f"out/{n}": o.detach() for o, n in zip(outs, names)}
    out["grad/x"] = xi.grad
    for s, n in zip(states, ("h0", "c0")):
        out[f"grad/{n}"] = s.grad
    for key, p in m.named_parameters():
        out[f"grad/{key}"] = p.grad
    return out


def compute(spec, dtype_name, seed):
    dtype = DTYPES[dtype_name]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # PyTorch's default init draws from the global generator
    module = make_module(spec["module"], spec["options"]).to(dtype)

    def randn(shape, scale=1.0):
        return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)

    scale = spec.get("scale", 1.0)
    x = randn(spec["x_shape"], scale)
    h0 = c0 = None
    if spec["hx"]:
        h0 = randn(hidden_shape(spec), 0.5 * scale)
        if spec["module"] in ("LSTM", "LSTMCell"):
            c0 = randn(hidden_shape(spec), 0.5 * scale)
    tensors = {f"state/{k}": v.detach().clone() for k, v in module.state_dict().items()}
    tensors["x"] = x
    if h0 is not None:
        tensors["h0"] = h0
    if c0 is not None:
        tensors["c0"] = c0
    with torch.no_grad():  # for the outputs' shapes
        outs = forward(copy.deepcopy(module).train(spec["train"]), spec, x,
                       [s for s in (h0, c0) if s is not None])
    gouts = {n: randn(o.shape) for o, n in zip(outs, output_names(spec["module"]))}
    for n, g in gouts.items():
        tensors[f"gout/{n}"] = g
    tensors.update(run(module, spec, x, h0, c0, gouts))
    return tensors, list(module.state_dict().keys())


def self_check(spec, t32):
    """Re-runs the f32 case in float64 on the same float32 values; returns the worst
    |f32 - f64| / (F32_ATOL + F32_RTOL * |f64|)."""
    module = make_module(spec["module"], spec["options"]).double()
    module.load_state_dict({k[len("state/"):]: v.double() for k, v in t32.items()
                            if k.startswith("state/")})
    get = lambda k: t32[k].double() if k in t32 else None  # noqa: E731
    gouts = {n: t32[f"gout/{n}"].double() for n in output_names(spec["module"])}
    ref = run(module, spec, get("x"), get("h0"), get("c0"), gouts)
    worst = 0.0
    for k, v in ref.items():
        err = ((t32[k].double() - v).abs() / (F32_ATOL + F32_RTOL * v.abs())).max().item()
        worst = max(worst, err)
    return worst


# ---- the grid ----

def cases():
    """(file, spec) for every case; spec = {module, options, x_shape, hx, train}."""
    out = []

    def add(file, module, options, x_shape, hx, train=True, scale=1.0):
        spec = dict(module=module, options=options, x_shape=list(x_shape), hx=hx, train=train)
        if scale != 1.0:
            spec["scale"] = scale
        out.append((file, spec))

    I, H, B, T = 5, 4, 3, 6
    cells = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
             ("GRUCell", {})]
    for module, extra in cells:
        for bias in (True, False):
            for hx in (True, False):
                for x_shape in ([B, I], [I]):
                    add("cells", module, dict(input_size=I, hidden_size=H, bias=bias, **extra),
                        x_shape, hx)
        add("cells", module, dict(input_size=16, hidden_size=24, bias=True, **extra), [6, 16],
            True)
        # Saturated gates: inputs and states of magnitude ~20-40 push sigmoid and tanh to their
        # limits, where approximations of exp and tanh go wrong first.
        add("cells", module, dict(input_size=I, hidden_size=H, **extra), [B, I], True, scale=20.0)

    layers = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
    for module, extra in layers:
        for num_layers in (1, 2):
            for batch_first in (False, True):
                for hx in (True, False):
                    shape = [B, T, I] if batch_first else [T, B, I]
                    add("layers", module,
                        dict(input_size=I, hidden_size=H, num_layers=num_layers,
                             batch_first=batch_first, **extra), shape, hx)
        for hx in (True, False):  # bias=False (what it changes does not depend on the layout)
            add("layers", module, dict(input_size=I, hidden_size=H, num_layers=2, bias=False,
                                       **extra), [T, B, I], hx)
        for batch_first in (False, True):  # unbatched: batch_first must not matter
            add("layers", module, dict(input_size=I, hidden_size=H, num_layers=2,
                                       batch_first=batch_first, **extra), [T, I], True)
        add("layers", module, dict(input_size=I, hidden_size=H, **extra), [1, B, I], True)
        add("layers", module, dict(input_size=I, hidden_size=H, num_layers=2, **extra), [T, B, I],
            True, scale=20.0)
    for module in ("LSTM", "GRU"):
        add("layers", module, dict(input_size=16, hidden_size=24, num_layers=2, batch_first=True),
            [4, 9, 16], True)
        # Dropout only acts in training: in eval the result is deterministic.
        add("layers", module, dict(input_size=I, hidden_size=H, num_layers=3, dropout=0.5),
            [T, B, I], True, train=False)
    return out


def case_name(spec, dtype_name):
    opts = ",".join(f"{k}={json.dumps(v).replace(' ', '')}" for k, v in spec["options"].items())
    shape = ",".join(str(d) for d in spec["x_shape"])
    hx = "{hx}" if spec["hx"] else ""
    mode = "" if spec["train"] else "{eval}"
    scale = f"{{x{spec['scale']:g}}}" if "scale" in spec else ""
    return f"{spec['module']}({opts}){hx}{mode}{scale}[{shape}]{dtype_name}"


def main():
    out = FixtureFiles("gen_rnn.py", "rnn")
    for file, proto in cases():
        for dtype_name in ("f32", "f64"):
            spec = copy.deepcopy(proto)
            case = case_name(spec, dtype_name)
            out.claim(case)
            tensors, keys = compute(spec, dtype_name, zlib.crc32(case.encode()))
            if dtype_name == "f32":
                out.check_f32(case, self_check(spec, tensors))
            spec["dtype"] = dtype_name
            spec["outputs"] = output_names(spec["module"])
            out.add(file, case, spec, keys, tensors)
    out.write()


if __name__ == "__main__":
    main()
