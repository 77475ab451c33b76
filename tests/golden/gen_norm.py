#!/usr/bin/python3
"""Writes fixtures/norm_*.safetensors: PyTorch's answers for ember's normalization layers, for
tests/test_norm_golden.cpp.

Run with Debian's python3-torch (1.13) and numpy:  /usr/bin/python3 tests/golden/gen_norm.py
(the `python3` first on PATH has no torch). Output is deterministic: every case seeds its own
generator from a CRC of its name, so adding a case leaves the others' bytes unchanged.

The grid: every layer (BatchNorm1d on [N,C] and [N,C,L], BatchNorm2d/3d, InstanceNorm1d/2d/3d,
LayerNorm with normalized_shape of rank 1-3, GroupNorm with 1, 2 and C groups, RMSNorm) x its option
sets (affine on/off, LayerNorm bias=False, track_running_stats on/off, momentum 0.1/0.3/None,
eps 1e-5/1e-3) x f32/f64 x a few shapes, including scaled-down versions of the shapes in the
seed notebooks ([3,28,28] layer/instance norm at full size; [16,32,64,64] as [2,32,4,4]).

Layout of one file. Metadata (all strings):
  "generator"            this script and the torch version
  "<case>/spec"          JSON: {"layer", "options": {...PyTorch kwargs...}, "dtype": "f32"|"f64",
                         "shape", "modes": ["train", "eval"], "steps": 0|3}
  "<case>/keys"          the module's state_dict keys in order, comma-separated ("" if none)
Tensors (dtype of the case unless noted):
  <case>/init/<key>      the state loaded before every run: non-trivial random parameters and
                         running stats (so affine and running-stat bugs show), num_batches_tracked
                         as an int64 scalar
  <case>/x, <case>/grad_out          input and a random upstream gradient (shared by both modes)
  <case>/<mode>/y, /dx, /dweight, /dbias
                         output and gradients after y.backward(grad_out), starting from init
                         (dweight/dbias only when the module has them)
  <case>/steps/<i>/x     for modules with running stats: three training inputs (i = 0, 1, 2),
  <case>/steps/<i>/<buffer>  and running_mean/running_var/num_batches_tracked after step i
  <case>/after/x, <case>/after/y     an eval-mode forward on a fourth input after the three steps

Case names spell the layer, its options as passed to PyTorch, a non-zero initial
num_batches_tracked in braces, the input shape and the dtype, e.g.
  BatchNorm2d(num_features=3,momentum=null){num_batches_tracked=2}[4,3,2,3]f32

f32 fixtures are PyTorch's own float32 results (parity is what is tested; the C++ tolerance,
1e-4 relative + 1e-5 absolute, allows for different summation orders). As a check on the fixtures
themselves, every f32 case is re-run in float64 on the same values, and the script refuses to write
anything if PyTorch's own float32 error uses more than half of that tolerance anywhere (which would
make the case a test of rounding luck, not of ember).
"""
import copy
import json
import zlib

import torch
import torch.nn as nn

from fixture_files import DTYPES, FixtureFiles

NUM_STEPS = 3
# The C++ test's float32 tolerance, |ember - torch| <= ATOL + RTOL * |torch|. PyTorch's own float32
# error (measured against float64 on the same values) may use at most SELF_CHECK_SHARE (in
# fixture_files.py) of it, so ember's rounding, which differs from PyTorch's, has the rest; an
# ill-conditioned case (e.g. train-mode BatchNorm dx with 2 values per channel: pure
# cancellation) is refused, not written.
F32_RTOL, F32_ATOL = 1e-4, 1e-5


class RMSNormRef(nn.Module):
    """torch 1.13 has no nn.RMSNorm; this is the reference formula of torch 2.x's
    F.rms_norm, y = x * rsqrt(mean(x^2 over the normalized dims) + eps) * weight, evaluated in
    float64 (so even f32 fixtures are exact up to the final rounding) with autograd through the
    casts. eps=None means torch.finfo(input dtype).eps, as in torch 2.x."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        dims = tuple(range(-len(self.normalized_shape), 0))
        x64 = x.double()
        y = x64 * torch.rsqrt(x64.pow(2).mean(dims, keepdim=True) + eps)
        if self.weight is not None:
            y = y * self.weight.double()
        return y.to(x.dtype)


def make_module(layer, options):
    o = dict(options)
    if layer.startswith("BatchNorm") or layer.startswith("InstanceNorm"):
        return getattr(nn, layer)(o.pop("num_features"), **o)
    if layer == "LayerNorm":
        bias = o.pop("bias")
        m = nn.LayerNorm(o.pop("normalized_shape"), **o)
        if not bias and m.weight is not None:
            # torch 1.13 has no bias=False (added in 2.1): deleting the parameter gives the same
            # module (weight only, no "bias" in the state dict).
            m.bias = None
        return m
    if layer == "GroupNorm":
        return nn.GroupNorm(o.pop("num_groups"), o.pop("num_channels"), **o)
    if layer == "RMSNorm":
        return RMSNormRef(o.pop("normalized_shape"), **o)
    raise ValueError(layer)


def randomize_state(module, gen, num_batches_tracked):
    """Parameters away from 1/0 and running stats away from 0/1, so that a missing or swapped
    affine transform, or eval mode ignoring the running stats, changes the answer."""
    with torch.no_grad():
        for name, t in module.named_parameters():
            if name == "weight":
                t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float64) + 0.5)
                # A few negative scales: a kernel that takes |weight| or sqrt(weight^2) fails.
                t.mul_(1 - 2 * (torch.rand(t.shape, generator=gen) < 0.25).to(t.dtype))
            else:
                t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float64) * 0.5)
        for name, t in module.named_buffers():
            if name == "running_mean":
                t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float64) * 0.5)
            elif name == "running_var":
                t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float64) * 1.5 + 0.5)
            elif name == "num_batches_tracked":
                t.fill_(num_batches_tracked)


def random_input(shape, gen, dtype, kind, step=0):
    if kind == "seed_scaled":
        # The distribution of seed 004: per-channel scales 1..C, per-sample offsets 0.25/0.75.
        n, c = shape[0], shape[1]
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
        x = x * torch.arange(1, c + 1, dtype=torch.float64).view([1, c] + [1] * (len(shape) - 2))
        x = x + torch.tensor([0.25, 0.75] * n, dtype=torch.float64)[:n].view(
            [n] + [1] * (len(shape) - 1))
        return x.to(dtype)
    if kind == "uniform":  # the seeds' torch.rand inputs
        return (torch.rand(shape, generator=gen, dtype=torch.float64) + 0.1 * step).to(dtype)
    # Off-centre and not unit scale, different for every step, so running stats move visibly.
    scale = 1.5 + 0.5 * step
    offset = 0.5 - 0.4 * step
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale + offset).to(dtype)


def state_tensors(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def run_mode(base, x, grad_out, train):
    m = copy.deepcopy(base)
    m.train(train)
    xi = x.clone().requires_grad_()
    y = m(xi)
    y.backward(grad_out)
    out = {"y": y.detach(), "dx": xi.grad}
    for name, p in m.named_parameters():
        out["d" + name] = p.grad
    return out


def run_steps(base, inputs, after_x):
    m = copy.deepcopy(base)
    m.train()
    out = {}
    for i, x in enumerate(inputs):
        with torch.no_grad():
            m(x)
        for name, b in m.named_buffers():
            out[f"steps/{i}/{name}"] = b.detach().clone()
    m.eval()
    with torch.no_grad():
        out["after/y"] = m(after_x)
    return out


def has_running_stats(module):
    return any(name == "running_mean" for name, _ in module.named_buffers())


def compute(case, spec, dtype_name, gen_seed):
    """All tensors of one case, computed with the given dtype on the given random stream."""
    dtype = DTYPES[dtype_name]
    gen = torch.Generator().manual_seed(gen_seed)
    base = make_module(spec["layer"], spec["options"])
    randomize_state(base, gen, spec.pop("init_num_batches_tracked"))
    base = base.to(dtype)
    kind = spec.pop("input_kind", "normal")
    shape = spec["shape"]
    x = random_input(shape, gen, dtype, kind)
    grad_out = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    tensors = {f"init/{k}": v for k, v in state_tensors(base).items()}
    tensors["x"], tensors["grad_out"] = x, grad_out
    for mode in spec["modes"]:
        for k, v in run_mode(base, x, grad_out, mode == "train").items():
            tensors[f"{mode}/{k}"] = v
    spec["steps"] = NUM_STEPS if (has_running_stats(base) and "train" in spec["modes"]) else 0
    if spec["steps"]:
        inputs = [random_input(shape, gen, dtype, kind, step=i + 1) for i in range(NUM_STEPS)]
        after_x = random_input(shape, gen, dtype, kind, step=NUM_STEPS + 1)
        for i, s in enumerate(inputs):
            tensors[f"steps/{i}/x"] = s
        tensors["after/x"] = after_x
        tensors.update(run_steps(base, inputs, after_x))
    return tensors, list(base.state_dict().keys())


def self_check(case, t32, spec):
    """Re-runs the f32 case in float64 on the same float32 values; returns the worst
    |f32 - f64| / (F32_ATOL + F32_RTOL * |f64|) over everything PyTorch computed."""
    base = make_module(spec["layer"], spec["options"]).double()
    base.load_state_dict({k[len("init/"):]: v.double() for k, v in t32.items()
                          if k.startswith("init/")})
    x, g = t32["x"].double(), t32["grad_out"].double()
    ref = {}
    for mode in spec["modes"]:
        for k, v in run_mode(base, x, g, mode == "train").items():
            ref[f"{mode}/{k}"] = v
    if spec["steps"]:
        inputs = [t32[f"steps/{i}/x"].double() for i in range(NUM_STEPS)]
        ref.update(run_steps(base, inputs, t32["after/x"].double()))
    worst = 0.0
    for k, v in ref.items():
        if not v.is_floating_point():
            assert torch.equal(v, t32[k]), (case, k)
            continue
        err = ((t32[k].double() - v).abs() / (F32_ATOL + F32_RTOL * v.abs())).max().item()
        worst = max(worst, err)
    return worst


# ---- the grid ----

def bn_option_sets():
    sets = []
    for affine in (True, False):
        sets.append(dict(affine=affine, track_running_stats=False))
        for momentum in (0.1, 0.3, None):
            sets.append(dict(affine=affine, track_running_stats=True, momentum=momentum))
    sets.append(dict(affine=True, track_running_stats=True, momentum=0.1, eps=1e-3))
    sets.append(dict(affine=False, track_running_stats=False, eps=1e-3))
    return sets


def in_option_sets():
    sets = []
    for affine in (False, True):
        sets.append(dict(affine=affine, track_running_stats=False))
        for momentum in (0.1, 0.3):
            sets.append(dict(affine=affine, track_running_stats=True, momentum=momentum))
    sets.append(dict(affine=True, track_running_stats=True, eps=1e-3))
    return sets


def cases():
    """(file, spec) for every case; spec = {layer, options, shape, modes[, input_kind]}."""
    both = ["train", "eval"]
    out = []

    def add(file, layer, options, shape, modes=both, input_kind="normal", batches=0):
        # batches: num_batches_tracked in the initial state (momentum=None averages with it).
        out.append((file, dict(layer=layer, options=options, shape=list(shape), modes=modes,
                               input_kind=input_kind, init_num_batches_tracked=batches)))

    bn_shapes = [("BatchNorm1d", [6, 4]), ("BatchNorm1d", [4, 3, 5]),
                 ("BatchNorm2d", [4, 3, 4, 5]), ("BatchNorm3d", [2, 3, 2, 3, 4])]
    for layer, shape in bn_shapes:
        for opts in bn_option_sets():
            add("batchnorm", layer, dict(num_features=shape[1], **opts), shape)
    # Extra shapes with the defaults, and the seeds.
    add("batchnorm", "BatchNorm2d", dict(num_features=2), [3, 2, 1, 7])
    add("batchnorm", "BatchNorm1d", dict(num_features=3), [3, 3, 1])
    add("batchnorm", "BatchNorm2d", dict(num_features=32), [2, 32, 4, 4], input_kind="uniform")
    add("batchnorm", "BatchNorm1d", dict(num_features=5), [2, 5])
    add("batchnorm", "BatchNorm1d", dict(num_features=5), [1, 5], modes=["eval"])  # batch of 1
    add("batchnorm", "BatchNorm2d", dict(num_features=4, momentum=0.001), [2, 4, 2, 2],
        input_kind="seed_scaled")
    # A loaded num_batches_tracked must count: the cumulative average weighs the next batch 1/3.
    add("batchnorm", "BatchNorm2d", dict(num_features=3, momentum=None), [4, 3, 2, 3], batches=2)
    add("batchnorm", "BatchNorm1d", dict(num_features=4, momentum=0.3), [6, 4], batches=7)

    in_shapes = [("InstanceNorm1d", [3, 4, 6]), ("InstanceNorm2d", [2, 3, 4, 4]),
                 ("InstanceNorm3d", [2, 3, 2, 3, 3])]
    for layer, shape in in_shapes:
        for opts in in_option_sets():
            add("instancenorm", layer, dict(num_features=shape[1], **opts), shape)
    add("instancenorm", "InstanceNorm2d", dict(num_features=3), [1, 3, 28, 28],
        input_kind="uniform")
    add("instancenorm", "InstanceNorm2d", dict(num_features=32), [2, 32, 4, 4],
        input_kind="uniform")
    add("instancenorm", "InstanceNorm2d",
        dict(num_features=4, momentum=0.001, track_running_stats=True), [2, 4, 2, 2],
        input_kind="seed_scaled")
    # PyTorch's InstanceNorm never advances num_batches_tracked, whatever was loaded.
    add("instancenorm", "InstanceNorm1d", dict(num_features=4, track_running_stats=True),
        [3, 4, 6], batches=3)

    ln_shapes = [([4, 3, 8], [8]), ([2, 3, 4, 5], [4, 5]), ([2, 3, 4, 5], [3, 4, 5]), ([5, 6], [6])]
    for shape, ns in ln_shapes:
        for opts in (dict(), dict(elementwise_affine=False), dict(bias=False), dict(eps=1e-3)):
            o = dict(normalized_shape=ns, elementwise_affine=True, bias=True)
            o.update(opts)
            add("layernorm", "LayerNorm", o, shape)
    seed_ln = dict(elementwise_affine=True, bias=True)
    add("layernorm", "LayerNorm", dict(normalized_shape=[3, 28, 28], **seed_ln), [1, 3, 28, 28],
        input_kind="uniform")
    add("layernorm", "LayerNorm", dict(normalized_shape=[32, 4, 4], **seed_ln), [2, 32, 4, 4],
        input_kind="uniform")
    add("layernorm", "LayerNorm", dict(normalized_shape=[4, 2, 2], **seed_ln), [2, 4, 2, 2],
        input_kind="seed_scaled")

    for groups in (1, 2, 4):
        for opts in (dict(), dict(affine=False), dict(eps=1e-3)):
            add("groupnorm", "GroupNorm", dict(num_groups=groups, num_channels=4, **opts),
                [3, 4, 3, 3])
    add("groupnorm", "GroupNorm", dict(num_groups=3, num_channels=6), [2, 6, 5])
    add("groupnorm", "GroupNorm", dict(num_groups=2, num_channels=6), [4, 6])
    add("groupnorm", "GroupNorm", dict(num_groups=2, num_channels=4), [2, 4, 2, 1, 3])
    add("groupnorm", "GroupNorm", dict(num_groups=8, num_channels=32), [2, 32, 3, 3],
        input_kind="uniform")
    add("groupnorm", "GroupNorm", dict(num_groups=2, num_channels=4), [2, 4, 2, 2],
        input_kind="seed_scaled")

    rms_shapes = [([4, 3, 8], [8]), ([2, 3, 4, 5], [4, 5]), ([2, 3, 4, 5], [3, 4, 5])]
    for shape, ns in rms_shapes:
        for opts in (dict(eps=None), dict(eps=1e-5), dict(eps=1e-3),
                     dict(eps=None, elementwise_affine=False)):
            o = dict(normalized_shape=ns, elementwise_affine=True)
            o.update(opts)
            add("rmsnorm", "RMSNorm", o, shape)
    return out


def case_name(spec, dtype_name):
    opts = ",".join(f"{k}={json.dumps(v).replace(' ', '')}" for k, v in spec["options"].items())
    shape = ",".join(str(d) for d in spec["shape"])
    batches = spec["init_num_batches_tracked"]
    state = f"{{num_batches_tracked={batches}}}" if batches else ""
    return f"{spec['layer']}({opts}){state}[{shape}]{dtype_name}"


def main():
    out = FixtureFiles("gen_norm.py", "norm")
    for file, proto in cases():
        for dtype_name in ("f32", "f64"):
            spec = copy.deepcopy(proto)
            case = case_name(spec, dtype_name)
            out.claim(case)
            tensors, keys = compute(case, spec, dtype_name, zlib.crc32(case.encode()))
            if dtype_name == "f32":
                out.check_f32(case, self_check(case, tensors, spec))
            spec["dtype"] = dtype_name
            out.add(file, case, spec, keys, tensors)
    out.write()


if __name__ == "__main__":
    main()
