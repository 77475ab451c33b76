#!/usr/bin/python3
"""Writes fixtures/layers.safetensors and fixtures/layers_losses.safetensors: PyTorch's answers
for ember's training-stack layers (Linear, Conv2d, pooling, activations, Flatten, Embedding,
Softmax/LogSoftmax) and losses (cross_entropy, nll_loss, mse_loss), replayed by
tests/test_layers.cpp and tests/test_losses.cpp.

Run with Debian's python3-torch (1.13) and numpy:  /usr/bin/python3 tests/golden/gen_layers.py
(the `python3` first on PATH has no torch). Output is deterministic: every case seeds its own
generator from a CRC of its name, so adding a case leaves the others' bytes unchanged.

Layout of one file. Metadata (all strings):
  "generator"          this script and the torch version
  "<case>/spec"        JSON: {"layer": PyTorch class or function name, "options": {kwargs as
                       passed to PyTorch}, "gradcheck": bool (false where the function has kinks
                       at the data: ties in max pooling, ReLU at 0, in-place max_norm)}
  "<case>/repr"        repr(module) (modules only)
  "<case>/keys"        the module's state_dict entries in order, "name:d0xd1x..;..." ("" if none)
Tensors, per dtype tag f32/f64 (the inputs are the same values in both):
  <case>/<tag>/x                  the input (Int64 indices for Embedding)
  <case>/<tag>/param/<name>       the module's parameters before the forward
  <case>/<tag>/target             loss target (Int64 class indices, or floats for mse_loss)
  <case>/<tag>/class_weight       cross_entropy/nll_loss weight= (when given)
  <case>/<tag>/gy                 random upstream gradient (shape of y)
  <case>/<tag>/y                  the output
  <case>/<tag>/gx, gtarget        input gradient (float inputs), target gradient (mse_loss)
  <case>/<tag>/grad/<name>        parameter gradients
  <case>/<tag>/param_after/<name> parameters after the forward (Embedding max_norm renormalizes)

f32 fixtures are PyTorch's own float32 results. As a check on the fixtures themselves, every f32
case is re-run in float64 on the same values, and the script refuses to write anything if
PyTorch's own float32 error uses more than half of the C++ test's float32 tolerance (1e-4 relative
+ 1e-5 absolute) anywhere.
"""
import json
import os
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_files import DTYPES, OUT_DIR, SELF_CHECK_SHARE
from safetensors_numpy import save

F32_RTOL, F32_ATOL = 1e-4, 1e-5


class Fixture:
    def __init__(self, filename):
        self.path = os.path.join(OUT_DIR, filename)
        self.tensors = {}
        self.metadata = {"generator": f"tests/golden/gen_layers.py, torch {torch.__version__}"}

    def put(self, key, t):
        assert key not in self.tensors, key
        t = torch.as_tensor(t).detach().contiguous()
        assert t.dtype in (torch.float32, torch.float64, torch.int64), (key, t.dtype)
        self.tensors[key] = t.numpy().copy()

    def meta(self, key, value):
        assert key not in self.metadata, key
        self.metadata[key] = value

    def write(self):
        save(self.path, self.tensors, self.metadata)
        print(f"{self.path}: {len(self.tensors)} tensors, {len(self.metadata)} metadata entries")


def kw(options):
    """PyTorch kwargs from a case's JSON options: lists become the tuples a user would pass (and
    that PyTorch's reprs print as "(2, 3)")."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


def generator(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode()))
    return g


def randn(gen, *shape):
    """float64 values that float32 represents exactly: both dtypes then see the same inputs, and
    the float32 self-check compares like with like."""
    return torch.randn(shape, generator=gen, dtype=torch.float64).float().double()


def self_check(case, key, t32, t64):
    """PyTorch's float32 answer must sit well inside the C++ tolerance of its float64 answer."""
    if t32 is None or not t32.dtype.is_floating_point:
        return
    err = (t32.double() - t64).abs()
    allowed = SELF_CHECK_SHARE * (F32_ATOL + F32_RTOL * t64.abs())
    finite = torch.isfinite(t64)
    if bool((err[finite] > allowed[finite]).any()):
        sys.exit(f"{case}: {key}: torch float32 error {float(err[finite].max()):.3g} uses more "
                 "than half the test tolerance; refusing to write an ill-conditioned case")


def store(fx, case, results):
    """Checks every f32 result against its f64 twin, then writes both under "<case>/<tag>/"."""
    for key, t32 in results["f32"].items():
        self_check(case, key, t32, results["f64"][key])
    for tag, out in results.items():
        for key, t in out.items():
            fx.put(f"{case}/{tag}/{key}", t)


def state_keys(module):
    return ";".join(f"{k}:{'x'.join(str(s) for s in v.shape)}"
                    for k, v in module.state_dict().items())


def run_module(fx, case, layer, options, make, x64, gradcheck=True, int_input=False):
    """make() builds the module (float32 parameters, torch's init); the same parameter values are
    used for both dtypes."""
    gen = generator(case)
    torch.manual_seed(zlib.crc32(case.encode()))
    base = make()
    params64 = {k: v.detach().double().clone() for k, v in base.named_parameters()}
    fx.meta(f"{case}/spec", json.dumps({"layer": layer, "options": options,
                                        "gradcheck": gradcheck}))
    fx.meta(f"{case}/repr", repr(base))
    fx.meta(f"{case}/keys", state_keys(base))
    gy64 = None
    results = {}
    for tag, dtype in DTYPES.items():
        m = make()
        with torch.no_grad():
            for k, v in m.named_parameters():
                v.copy_(params64[k])
        m = m.to(dtype)
        x = x64.clone() if int_input else x64.to(dtype).requires_grad_(True)
        before = {k: v.detach().clone() for k, v in m.named_parameters()}
        y = m(x)
        if gy64 is None:
            gy64 = randn(gen, *y.shape)
        gy = gy64.to(dtype)
        y.backward(gy)
        out = {"x": x.detach(), "gy": gy, "y": y.detach()}
        if not int_input:
            out["gx"] = x.grad
        for k, v in before.items():
            out[f"param/{k}"] = v
        for k, v in m.named_parameters():
            out[f"grad/{k}"] = v.grad if v.grad is not None else torch.zeros_like(v)
            if not torch.equal(v.detach(), before[k]):
                out[f"param_after/{k}"] = v.detach()
        results[tag] = out
    store(fx, case, results)


# ---- layers ----

def linear_cases(fx):
    cases = [
        ("basic", dict(in_features=5, out_features=3), [4, 5]),
        ("nobias", dict(in_features=5, out_features=3, bias=False), [4, 5]),
        ("batched3d", dict(in_features=5, out_features=3), [2, 3, 5]),
        ("vector", dict(in_features=5, out_features=3), [5]),
        ("wide", dict(in_features=64, out_features=10), [8, 64]),
    ]
    for label, o, shape in cases:
        case = f"Linear.{label}"
        run_module(fx, case, "Linear", o, lambda o=o: nn.Linear(**kw(o)),
                   randn(generator(case + "/x"), *shape))


def conv_cases(fx):
    cases = [
        ("basic", dict(in_channels=1, out_channels=4, kernel_size=3, padding=1), [2, 1, 6, 6]),
        ("stride2_pad1", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1),
         [2, 3, 7, 7]),
        ("dilation2", dict(in_channels=2, out_channels=3, kernel_size=3, padding=2, dilation=2),
         [2, 2, 8, 8]),
        ("groups2", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2), [2, 4, 6, 5]),
        ("depthwise_rect", dict(in_channels=3, out_channels=3, kernel_size=[3, 2], stride=[2, 1],
                                padding=[1, 0], groups=3), [2, 3, 7, 6]),
        ("pointwise_nobias", dict(in_channels=3, out_channels=5, kernel_size=1, bias=False),
         [2, 3, 4, 4]),
        ("asymmetric", dict(in_channels=2, out_channels=4, kernel_size=[2, 3], stride=[1, 2],
                            padding=[0, 1], dilation=[2, 1]), [1, 2, 7, 8]),
        ("same_even", dict(in_channels=2, out_channels=3, kernel_size=4, padding="same"),
         [2, 2, 5, 5]),
        ("same_dilated", dict(in_channels=2, out_channels=2, kernel_size=[3, 2], padding="same",
                              dilation=[2, 3]), [1, 2, 6, 7]),
        ("valid", dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"),
         [1, 2, 5, 6]),
        ("unbatched", dict(in_channels=3, out_channels=2, kernel_size=3, padding=1), [3, 5, 5]),
        ("full_kernel", dict(in_channels=2, out_channels=3, kernel_size=5), [2, 2, 5, 5]),
        ("stride_gaps", dict(in_channels=2, out_channels=2, kernel_size=2, stride=3),
         [1, 2, 8, 8]),
        ("groups_pad_stride", dict(in_channels=6, out_channels=4, kernel_size=3, stride=2,
                                   padding=2, groups=2, dilation=2), [2, 6, 9, 8]),
    ]
    for label, o, shape in cases:
        case = f"Conv2d.{label}"
        run_module(fx, case, "Conv2d", o, lambda o=o: nn.Conv2d(**kw(o)),
                   randn(generator(case + "/x"), *shape))


def pool_cases(fx):
    maxpool = [
        ("k2", dict(kernel_size=2), [2, 3, 6, 6]),
        ("k3_s1_p1", dict(kernel_size=3, stride=1, padding=1), [2, 2, 5, 5]),
        ("rect_ceil", dict(kernel_size=[2, 3], ceil_mode=True), [1, 2, 7, 8]),
        ("dilated", dict(kernel_size=3, stride=2, padding=1, dilation=2), [1, 2, 9, 9]),
        ("ceil_pad", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), [1, 2, 6, 6]),
        ("ceil_drop_last", dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
         [1, 1, 5, 5]),
        ("unbatched", dict(kernel_size=2), [3, 4, 4]),
        ("tuple_kernel", dict(kernel_size=[2, 2], stride=[1, 2]), [1, 2, 4, 6]),
    ]
    for label, o, shape in maxpool:
        case = f"MaxPool2d.{label}"
        run_module(fx, case, "MaxPool2d", o, lambda o=o: nn.MaxPool2d(**kw(o)),
                   randn(generator(case + "/x"), *shape))
    # Integer-valued input: many ties, which go to the first maximum in window order.
    case = "MaxPool2d.ties"
    ties = torch.randint(-2, 3, (2, 2, 5, 5), generator=generator(case + "/x")).double()
    run_module(fx, case, "MaxPool2d", dict(kernel_size=2, stride=1),
               lambda: nn.MaxPool2d(2, stride=1), ties, gradcheck=False)
    # The same with the common 2×2 stride-2 window on odd sizes (its own fast path in ember).
    case = "MaxPool2d.ties_k2"
    ties = torch.randint(-2, 3, (2, 2, 5, 7), generator=generator(case + "/x")).double()
    run_module(fx, case, "MaxPool2d", dict(kernel_size=2),
               lambda: nn.MaxPool2d(2), ties, gradcheck=False)

    avgpool = [
        ("k2", dict(kernel_size=2), [2, 3, 6, 6]),
        ("k3_s2_p1", dict(kernel_size=3, stride=2, padding=1), [2, 2, 7, 7]),
        ("exclude_pad", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
         [1, 2, 6, 6]),
        ("ceil_exclude_pad", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                  count_include_pad=False), [1, 2, 6, 6]),
        ("ceil_include_pad", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
         [1, 2, 6, 6]),
        ("divisor", dict(kernel_size=3, stride=2, padding=1, divisor_override=4), [1, 2, 7, 7]),
        ("rect", dict(kernel_size=[2, 3], stride=[1, 2]), [1, 2, 5, 7]),
        ("unbatched", dict(kernel_size=2), [2, 4, 4]),
    ]
    for label, o, shape in avgpool:
        case = f"AvgPool2d.{label}"
        run_module(fx, case, "AvgPool2d", o, lambda o=o: nn.AvgPool2d(**kw(o)),
                   randn(generator(case + "/x"), *shape))

    adaptive = [
        ("global", dict(output_size=1), [2, 3, 5, 7]),
        ("rect", dict(output_size=[2, 3]), [2, 2, 5, 7]),
        ("overlapping", dict(output_size=3), [1, 2, 8, 8]),
        ("identity", dict(output_size=[4, 4]), [1, 1, 4, 4]),
        ("upsample", dict(output_size=[5, 4]), [1, 2, 3, 3]),
        ("unbatched", dict(output_size=2), [3, 5, 5]),
    ]
    for label, o, shape in adaptive:
        case = f"AdaptiveAvgPool2d.{label}"
        run_module(fx, case, "AdaptiveAvgPool2d", o, lambda o=o: nn.AdaptiveAvgPool2d(**kw(o)),
                   randn(generator(case + "/x"), *shape))


def activation_cases(fx):
    def spread(case):
        return randn(generator(case + "/x"), 3, 4, 5) * 2

    case = "ReLU.zeros"  # exact zeros: the gradient there is 0, as in PyTorch
    x = spread(case)
    x[0, 0, :3] = 0
    run_module(fx, case, "ReLU", {}, nn.ReLU, x, gradcheck=False)
    case = "ReLU.random"
    run_module(fx, case, "ReLU", {}, nn.ReLU, spread(case))
    for label, o in [("none", {}), ("tanh", dict(approximate="tanh"))]:
        case = f"GELU.{label}"
        run_module(fx, case, "GELU", o, lambda o=o: nn.GELU(**kw(o)), spread(case))
    for layer in ["Tanh", "Sigmoid"]:
        case = f"{layer}.basic"
        run_module(fx, case, layer, {}, getattr(nn, layer), spread(case))
    for layer in ["Softmax", "LogSoftmax"]:
        for label, dim, scale, shift in [("dim1", 1, 1, 0), ("last", -1, 1, 0), ("dim0", 0, 1, 0),
                                         ("large", -1, 30, 1000)]:
            case = f"{layer}.{label}"
            x = (randn(generator(case + "/x"), 3, 4, 5) * scale + shift).float().double()
            run_module(fx, case, layer, dict(dim=dim), lambda d=dim, l=layer: getattr(nn, l)(d), x)


def flatten_cases(fx):
    for label, o in [("default", {}), ("all", dict(start_dim=0, end_dim=-1)),
                     ("middle", dict(start_dim=1, end_dim=2)),
                     ("negative", dict(start_dim=-3, end_dim=-2))]:
        case = f"Flatten.{label}"
        run_module(fx, case, "Flatten", o, lambda o=o: nn.Flatten(**kw(o)),
                   randn(generator(case + "/x"), 2, 3, 4, 5))


def embedding_cases(fx):
    cases = [
        ("basic", dict(num_embeddings=10, embedding_dim=4), True),
        # padding_idx and scale_grad_by_freq change the gradient by definition (it is no longer
        # the derivative), so they are checked against PyTorch only.
        ("padding_idx", dict(num_embeddings=10, embedding_dim=4, padding_idx=0), False),
        ("negative_padding_idx", dict(num_embeddings=10, embedding_dim=4, padding_idx=-1), False),
        ("scale_grad_by_freq", dict(num_embeddings=10, embedding_dim=4, scale_grad_by_freq=True),
         False),
        ("max_norm", dict(num_embeddings=10, embedding_dim=4, max_norm=1.0), False),
        ("max_norm_l1", dict(num_embeddings=10, embedding_dim=4, max_norm=1.5, norm_type=1.0),
         False),
    ]
    for label, o, gradcheck in cases:
        case = f"Embedding.{label}"
        idx = torch.tensor([[1, 0, 3, 3], [9, 1, 3, 0]])  # repeats, the first and last rows
        run_module(fx, case, "Embedding", o, lambda o=o: nn.Embedding(**kw(o)), idx,
                   gradcheck=gradcheck, int_input=True)


# ---- losses ----

def run_loss(fx, case, fn_name, options, x64, target, class_weight=None):
    """target: Int64 (class losses) or float64 (mse_loss, which also gets a target gradient)."""
    gen = generator(case)
    spec = {"layer": fn_name, "options": options, "gradcheck": True}
    fx.meta(f"{case}/spec", json.dumps(spec))
    fn = getattr(F, fn_name)
    gy64 = None
    results = {}
    for tag, dtype in DTYPES.items():
        x = x64.to(dtype).requires_grad_(True)
        t = target.to(dtype).requires_grad_(True) if target.is_floating_point() else target
        kwargs = dict(options)
        if class_weight is not None:
            kwargs["weight"] = class_weight.to(dtype)
        y = fn(x, t, **kwargs)
        if gy64 is None:
            gy64 = randn(gen, *y.shape)
        y.backward(gy64.to(dtype))
        out = {"x": x.detach(), "target": t.detach(), "gy": gy64.to(dtype), "y": y.detach(),
               "gx": x.grad}
        if target.is_floating_point():
            out["gtarget"] = t.grad
        if class_weight is not None:
            out["class_weight"] = class_weight.to(dtype)
        results[tag] = out
    store(fx, case, results)


def class_loss_cases(fx):
    def targets(case, shape, C, ignored=(), ignore_index=-100):
        t = torch.randint(0, C, shape, generator=generator(case + "/t"))
        flat = t.view(-1)
        for i in ignored:
            flat[i] = ignore_index
        return t

    N, C = 6, 5
    weight = torch.tensor([0.5, 2.0, 1.0, 0.25, 1.5], dtype=torch.float64)
    ce = [
        # label, options, input shape, ignored positions, ignore_index, class weights, x scale
        ("mean", dict(), [N, C], (), -100, None, 1),
        ("sum", dict(reduction="sum"), [N, C], (), -100, None, 1),
        ("none", dict(reduction="none"), [N, C], (), -100, None, 1),
        ("smooth_mean", dict(label_smoothing=0.1), [N, C], (), -100, None, 1),
        ("smooth_sum", dict(label_smoothing=0.25, reduction="sum"), [N, C], (), -100, None, 1),
        ("smooth_none", dict(label_smoothing=0.2, reduction="none"), [N, C], (), -100, None, 1),
        ("ignore", dict(), [N, C], (1, 4), -100, None, 1),
        ("ignore_custom_smooth", dict(ignore_index=2, label_smoothing=0.1), [N, C], (0, 3), 2,
         None, 1),
        ("weight", dict(), [N, C], (), -100, weight, 1),
        ("weight_sum", dict(reduction="sum"), [N, C], (), -100, weight, 1),
        ("weight_smooth_ignore", dict(label_smoothing=0.3), [N, C], (2,), -100, weight, 1),
        ("weight_smooth_ignore_none", dict(label_smoothing=0.3, reduction="none"), [N, C], (2,),
         -100, weight, 1),
        ("kdim", dict(), [2, C, 3, 2], (), -100, None, 1),
        ("kdim_smooth_none", dict(label_smoothing=0.1, reduction="none"), [2, C, 3, 2], (4,),
         -100, None, 1),
        ("unbatched", dict(), [C], (), -100, None, 1),
        ("unbatched_none", dict(reduction="none", label_smoothing=0.2), [C], (), -100, None, 1),
        ("large_logits", dict(label_smoothing=0.1), [N, C], (), -100, None, 1000),
    ]
    for label, o, shape, ignored, ignore_index, w, scale in ce:
        case = f"cross_entropy.{label}"
        t_shape = [] if len(shape) == 1 else [shape[0]] + shape[2:]
        t = targets(case, t_shape, C, ignored, ignore_index)
        x = (randn(generator(case + "/x"), *shape) * scale).float().double()
        run_loss(fx, case, "cross_entropy", o, x, t, w)

    nll = [
        ("mean", dict(), [N, C], (), -100, None),
        ("sum", dict(reduction="sum"), [N, C], (), -100, None),
        ("none", dict(reduction="none"), [N, C], (), -100, None),
        ("weight_ignore", dict(), [N, C], (0, 5), -100, weight),
        ("weight_ignore_none", dict(reduction="none", ignore_index=1), [N, C], (2,), 1, weight),
        ("kdim", dict(), [2, C, 3, 2], (), -100, None),
    ]
    for label, o, shape, ignored, ignore_index, w in nll:
        case = f"nll_loss.{label}"
        t = targets(case, [shape[0]] + shape[2:], C, ignored, ignore_index)
        x = torch.log_softmax(randn(generator(case + "/x"), *shape), dim=1).float().double()
        run_loss(fx, case, "nll_loss", o, x, t, w)


def mse_cases(fx):
    for label, o, xs, ts in [("mean", dict(), [4, 5], [4, 5]),
                             ("sum", dict(reduction="sum"), [4, 5], [4, 5]),
                             ("none", dict(reduction="none"), [4, 5], [4, 5]),
                             ("broadcast", dict(), [3, 5], [5])]:
        case = f"mse_loss.{label}"
        run_loss(fx, case, "mse_loss", o, randn(generator(case + "/x"), *xs),
                 randn(generator(case + "/t"), *ts))


def main():
    import warnings
    warnings.simplefilter("ignore")  # mse_loss's broadcast warning is expected
    layers = Fixture("layers.safetensors")
    linear_cases(layers)
    conv_cases(layers)
    pool_cases(layers)
    activation_cases(layers)
    flatten_cases(layers)
    embedding_cases(layers)
    layers.write()
    losses = Fixture("layers_losses.safetensors")
    class_loss_cases(losses)
    mse_cases(losses)
    losses.write()


if __name__ == "__main__":
    main()
