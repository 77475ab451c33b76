#!/usr/bin/python3
"""Writes fixtures/ops.safetensors: inputs and PyTorch's outputs for every tensor op ember has,
which tests/test_ops_golden.cpp replays through ember.

Names are <op>.<case>.<dtype>.<role>: inputs a, b, x, t0.., cond; the expected `out` (plus
`strides` for layouts and `indices` for max/min); parameters as int64 tensors (dims, shape, ...)
or float64 scalars (s, e, lo, hi), so the C++ side reads what to do instead of repeating it:
`args` packs several (reductions: [keepdim, dims...], var/std: [unbiased, keepdim, dims...],
max/min: [dim, keepdim], slice: [dim, start, end, step], select: [dim, index]).
An input with a sibling `<name>_perm` is used permuted (a strided, non-contiguous operand).

Run with Debian's interpreter (it has torch and numpy):
  /usr/bin/python3 tests/golden/gen_ops.py
"""
import operator
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_numpy import save  # noqa: E402

PATH = os.path.join(HERE, "fixtures", "ops.safetensors")
F64, F32, I64 = torch.float64, torch.float32, torch.int64
FLOATS = [(F64, "f64"), (F32, "f32")]
CL = torch.channels_last

OUT = {}


def put(prefix, **tensors):
    for role, t in tensors.items():
        key = f"{prefix}.{role}"
        assert key not in OUT, key
        t = torch.as_tensor(t)
        assert t.dtype in (F32, F64, I64), (key, t.dtype)
        OUT[key] = t.detach().contiguous().numpy().copy()


def ints(values):
    return torch.tensor(list(values), dtype=I64)


def f64(value):
    return torch.tensor(float(value), dtype=F64)


def randn(*shape):
    return torch.randn(shape, dtype=F64)


def positive(*shape):
    return torch.rand(shape, dtype=F64) * 2 + 0.2


def nonzero(*shape):
    """Values with |v| in [0.5, 1.5): safe denominators."""
    return torch.sign(torch.randn(shape, dtype=F64)) * (torch.rand(shape, dtype=F64) + 0.5)


def inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def strided(name, logical, perm, store):
    """Stores `logical` as a contiguous tensor that becomes `logical` again after permute(perm)."""
    base = logical.permute(inverse(perm)).contiguous()
    store[name] = base
    store[name + "_perm"] = ints(perm)
    return base.permute(perm)


# ---- + - * / ----

BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
BINARY_SHAPES = {
    "same": ((3, 4), (3, 4)),
    "bcast": ((2, 1, 4), (3, 1)),  # size-1 dims on both sides -> [2, 3, 4]
    "outer": ((3, 1), (1, 4)),
    "rank": ((4,), (2, 3, 4)),  # missing leading dims
    "scalar_r": ((2, 3), ()),  # rank-0 tensor operand
    "scalar_l": ((), (2, 3)),
    "empty": ((0, 3), (1, 3)),  # 0-size dims broadcast with size-1 dims
    "empty2": ((2, 0, 3), (3,)),
}


def binary_ops():
    for op, fn in BINARY.items():
        for case, (sa, sb) in BINARY_SHAPES.items():
            a, b = randn(*sa), nonzero(*sb)
            for dt, tag in FLOATS:
                x, y = a.to(dt), b.to(dt)
                put(f"{op}.{case}.{tag}", a=x, b=y, out=fn(x, y))
        for dt, tag in FLOATS:  # a strided operand: a transposed view
            store = {}
            x = strided("a", randn(3, 4).to(dt), [1, 0], store)
            y = nonzero(3, 4).to(dt)
            put(f"{op}.strided.{tag}", **store, b=y, out=fn(x, y))
        # Type promotion: float32 with float64 is float64; a rank-0 float64 tensor does not widen
        # a float32 tensor that has dims (PyTorch's dimensioned-tensors-win rule).
        x, y = randn(2, 3).to(F32), nonzero(2, 3)
        put(f"{op}.promote.mix", a=x, b=y, out=fn(x, y))
        x, y = randn(2, 3).to(F32), nonzero()
        put(f"{op}.scalar_promote.mix", a=x, b=y, out=fn(x, y))
        # Python scalars on either side.
        for dt, tag in FLOATS:
            x = nonzero(2, 3).to(dt)
            put(f"{op}.pyscalar_r.{tag}", a=x, s=f64(1.75), out=fn(x, 1.75))
            put(f"{op}.pyscalar_l.{tag}", b=x, s=f64(-2.5), out=fn(-2.5, x))
        # Int64: + - * stay int64, / is true division (float32, PyTorch's default dtype).
        x = torch.randint(-9, 10, (2, 3))
        y = torch.randint(1, 5, (2, 3)) * torch.where(torch.rand(2, 3) < 0.5, -1, 1)
        put(f"{op}.int.i64", a=x, b=y, out=fn(x, y))
        put(f"{op}.int_pyint.i64", a=x, s=f64(3), out=fn(x, 3))  # python int: int64 (but / -> f32)
        put(f"{op}.int_pyfloat.i64", a=x, s=f64(2.5), out=fn(x, 2.5))  # python float -> float32


# ---- unary ----

UNARY = {
    "neg": (torch.neg, randn),
    "exp": (torch.exp, randn),
    "tanh": (torch.tanh, randn),
    "sigmoid": (torch.sigmoid, randn),
    "abs": (torch.abs, randn),
    "relu": (torch.relu, randn),
    "square": (torch.square, randn),
    "sqrt": (torch.sqrt, positive),
    "rsqrt": (torch.rsqrt, positive),
    "log": (torch.log, positive),
}


def unary_ops():
    for op, (fn, make) in UNARY.items():
        base, scalar, empty = make(3, 5) * 2, make(), make(0, 4)
        logical = make(5, 3)
        for dt, tag in FLOATS:
            put(f"{op}.base.{tag}", x=base.to(dt), out=fn(base.to(dt)))
            put(f"{op}.scalar.{tag}", x=scalar.to(dt), out=fn(scalar.to(dt)))
            put(f"{op}.empty.{tag}", x=empty.to(dt), out=fn(empty.to(dt)))
            store = {}
            x = strided("x", logical.to(dt), [1, 0], store)
            put(f"{op}.strided.{tag}", **store, out=fn(x))
        if make is randn:  # far tails and exact zeros
            wide = torch.tensor([-30.0, -20.0, -5.0, -0.5, -0.0, 0.0, 0.5, 5.0, 20.0, 30.0],
                                dtype=F64)
            if op == "exp":
                wide = wide.clamp(-30, 20)  # float32 exp overflows past ~88; keep it finite
            for dt, tag in FLOATS:
                put(f"{op}.wide.{tag}", x=wide.to(dt), out=fn(wide.to(dt)))
        # Int64 input: sign-like ops stay int64, transcendental ones give float32.
        x = torch.randint(1 if make is positive else -5, 6, (2, 4))
        put(f"{op}.int.i64", x=x, out=fn(x))


def pow_ops():
    for name, e in {"e2": 2.0, "e3": 3.0, "e0_5": 0.5, "em1_5": -1.5, "e0": 0.0, "e1": 1.0}.items():
        x = positive(3, 4)
        for dt, tag in FLOATS:
            put(f"pow.{name}.{tag}", x=x.to(dt), e=f64(e), out=torch.pow(x.to(dt), e))
    x = randn(3, 4)  # integral exponents are defined for negative bases
    for dt, tag in FLOATS:
        put(f"pow.negbase_e2.{tag}", x=x.to(dt), e=f64(2.0), out=torch.pow(x.to(dt), 2.0))
        put(f"pow.negbase_e3.{tag}", x=x.to(dt), e=f64(3.0), out=torch.pow(x.to(dt), 3.0))
    for case, (sa, sb) in {"same": ((3, 4), (3, 4)), "bcast": ((3, 1), (4,)),
                           "bcast2": ((2, 3, 4), (3, 1))}.items():
        a, b = positive(*sa), randn(*sb)
        for dt, tag in FLOATS:
            x, y = a.to(dt), b.to(dt)
            put(f"pow_t.{case}.{tag}", a=x, b=y, out=torch.pow(x, y))


def clamp_ops():
    x = randn(3, 5) * 2
    for dt, tag in FLOATS:
        xt = x.to(dt)
        put(f"clamp.both.{tag}", x=xt, lo=f64(-1.0), hi=f64(0.5), out=xt.clamp(-1.0, 0.5))
        put(f"clamp_min.lo.{tag}", x=xt, lo=f64(0.2), out=xt.clamp_min(0.2))
        put(f"clamp_max.hi.{tag}", x=xt, hi=f64(-0.3), out=xt.clamp_max(-0.3))


def select_ops():
    for op, fn in {"maximum": torch.maximum, "minimum": torch.minimum}.items():
        a, b = randn(3, 4), randn(4)
        a[0, :2] = b[:2]  # ties
        for dt, tag in FLOATS:
            put(f"{op}.bcast.{tag}", a=a.to(dt), b=b.to(dt), out=fn(a.to(dt), b.to(dt)))
            x, y = a.to(dt), a.flip(0).to(dt)
            put(f"{op}.same.{tag}", a=x, b=y, out=fn(x, y))


COMPARE = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt,
           "ge": torch.ge}


def compare_ops():
    # Small integers as floats: plenty of exact ties. ember returns 0/1 in the promoted dtype.
    for op, fn in COMPARE.items():
        a = torch.randint(-2, 3, (3, 4)).to(F64)
        b = torch.randint(-2, 3, (4,)).to(F64)
        s = torch.tensor(0.0, dtype=F64)
        for dt, tag in FLOATS:
            x, y = a.to(dt), b.to(dt)
            put(f"{op}.bcast.{tag}", a=x, b=y, out=fn(x, y).to(dt))
            put(f"{op}.scalar.{tag}", a=x, b=s.to(dt), out=fn(x, s.to(dt)).to(dt))
        put(f"{op}.mix.mix", a=a.to(F32), b=b, out=fn(a.to(F32), b).to(F64))
        ia, ib = torch.randint(-2, 3, (2, 3)), torch.randint(-2, 3, (2, 3))
        put(f"{op}.int.i64", a=ia, b=ib, out=fn(ia, ib).to(I64))


def where_ops():
    cond = torch.randint(0, 2, (3, 1))  # int64: "nonzero means true"
    a, b = randn(1, 4), randn(3, 4)
    for dt, tag in FLOATS:
        x, y = a.to(dt), b.to(dt)
        put(f"where.bcast.{tag}", cond=cond, a=x, b=y, out=torch.where(cond != 0, x, y))
        c2 = (torch.randn(3, 4) > 0).to(dt)  # a 0/1 float condition, as comparisons return
        z = torch.tensor(0.5, dtype=dt)
        put(f"where.scalar.{tag}", cond=c2, a=y, b=z, out=torch.where(c2 != 0, y, z))
    put("where.mix.mix", cond=cond, a=a.to(F32), b=b, out=torch.where(cond != 0, a.to(F32), b))


# ---- reductions ----

def reduce_ops():
    # args: sum/mean [keepdim, dims...]; var/std [unbiased, keepdim, dims...]. No dims: all.
    x = randn(3, 4, 5) * 2 + 1
    sum_cases = [([], False), ([0], False), ([0], True), ([-1], False), ([0, 2], True),
                 ([1, 2], False), ([1, 2], True), ([0, 1, 2], True)]
    for op in ("sum", "mean"):
        for i, (dims, keepdim) in enumerate(sum_cases):
            for dt, tag in FLOATS:
                xt = x.to(dt)
                f = getattr(xt, op)
                out = f() if not dims else f(dim=dims, keepdim=keepdim)
                put(f"{op}.c{i}.{tag}", x=xt, args=ints([keepdim, *dims]), out=out)
    var_cases = [([], True, False), ([], False, False), ([1], True, False), ([1], False, True),
                 ([-1], True, True), ([-1], False, False), ([0, 2], True, False),
                 ([0, 2], False, True)]
    for op in ("var", "std"):
        for i, (dims, unbiased, keepdim) in enumerate(var_cases):
            for dt, tag in FLOATS:
                xt = x.to(dt)
                f = getattr(xt, op)
                out = (f(unbiased=unbiased) if not dims
                       else f(dim=dims, unbiased=unbiased, keepdim=keepdim))
                put(f"{op}.c{i}.{tag}", x=xt, args=ints([unbiased, keepdim, *dims]), out=out)
    # Data far from zero: a naive E[x^2] - E[x]^2 would lose every digit.
    far = 1e4 + randn(4, 6) * 1e-2
    for dt, tag in FLOATS:
        xt = far.to(dt)
        put(f"var.far.{tag}", x=xt, args=ints([True, False, 1]), out=xt.var(dim=[1]))
    # Reductions touching 0-size dims.
    for dt, tag in FLOATS:
        e = torch.zeros(0, 3, dtype=dt)
        put(f"sum.empty.{tag}", x=e, args=ints([False, 0]), out=e.sum(dim=[0]))
        e2 = torch.zeros(2, 0, dtype=dt)
        put(f"mean.empty.{tag}", x=e2, args=ints([True, 0]), out=e2.mean(dim=[0], keepdim=True))
    xi = torch.randint(-50, 50, (3, 4))
    put("sum.int.i64", x=xi, args=ints([False, 1]), out=xi.sum(dim=[1]))


def minmax_ops():
    # max/min with a dim give values; argmax/argmin give the indices PyTorch documents: the first
    # extreme value. `indices` comes from torch.argmax/argmin so ties are defined.
    # args: [dim, keepdim]; absent: over everything (argmax over the flattened tensor).
    x = randn(3, 4, 5)
    ties = torch.randint(0, 3, (4, 6)).to(F64)
    for op, arg in (("max", torch.argmax), ("min", torch.argmin)):
        for dt, tag in FLOATS:
            xt = x.to(dt)
            for dim, keepdim in ((0, False), (1, True), (-1, False), (-1, True)):
                case = f"dim{dim % 3}{'k' if keepdim else ''}"
                vals = getattr(torch, op)(xt, dim=dim, keepdim=keepdim).values
                put(f"{op}.{case}.{tag}", x=xt, args=ints([dim, keepdim]), out=vals,
                    indices=arg(xt, dim=dim, keepdim=keepdim))
            put(f"{op}.all.{tag}", x=xt, out=getattr(torch, op)(xt), indices=arg(xt))
            tt = ties.to(dt)
            put(f"{op}.ties.{tag}", x=tt, args=ints([1, False]),
                out=getattr(torch, op)(tt, dim=1).values, indices=arg(tt, dim=1))
            put(f"{op}.ties_all.{tag}", x=tt, out=getattr(torch, op)(tt), indices=arg(tt))
        xi = torch.randint(-20, 20, (3, 5))
        put(f"{op}.int.i64", x=xi, args=ints([1, False]),
            out=getattr(torch, op)(xi, dim=1).values, indices=arg(xi, dim=1))


# ---- linear algebra ----

MATMUL_SHAPES = {
    "vv": ((4,), (4,)),
    "vm": ((3,), (3, 4)),
    "mv": ((3, 4), (4,)),
    "mm": ((3, 4), (4, 5)),
    "b3x2": ((2, 3, 4), (4, 5)),
    "b2x3": ((3, 4), (2, 4, 5)),
    "b4x3": ((2, 1, 3, 4), (3, 4, 2)),  # batch dims broadcast: [2, 1] with [3] -> [2, 3]
    "vb": ((4,), (2, 4, 3)),
    "bv": ((2, 3, 4), (4,)),
    "k0": ((2, 0), (0, 3)),  # empty inner dim: zeros
}


def matmul_ops():
    for case, (sa, sb) in MATMUL_SHAPES.items():
        a, b = randn(*sa), randn(*sb)
        for dt, tag in FLOATS:
            x, y = a.to(dt), b.to(dt)
            put(f"matmul.{case}.{tag}", a=x, b=y, out=torch.matmul(x, y))
    for dt, tag in FLOATS:  # transposed operands (Aᵀ·B with both strided)
        store = {}
        a = strided("a", randn(3, 4).to(dt), [1, 0], store)
        b = strided("b", randn(4, 2).to(dt), [1, 0], store)
        put(f"matmul.strided.{tag}", **store, out=torch.matmul(a, b))
        a, b = randn(2, 3, 4).to(dt), randn(2, 4, 5).to(dt)
        put(f"bmm.base.{tag}", a=a, b=b, out=torch.bmm(a, b))


def cat_stack_ops():
    cat_cases = {
        "d0": (0, [(1, 3), (2, 3), (0, 3)]),  # including an empty part
        "d1": (1, [(2, 1, 4), (2, 3, 4), (2, 2, 4)]),
        "dneg": (-1, [(2, 3), (2, 1), (2, 2)]),
    }
    for case, (dim, shapes) in cat_cases.items():
        parts = [randn(*s) for s in shapes]
        for dt, tag in FLOATS:
            ps = [p.to(dt) for p in parts]
            put(f"cat.{case}.{tag}", **{f"t{i}": p for i, p in enumerate(ps)}, dim=ints([dim]),
                out=torch.cat(ps, dim=dim))
    parts = [randn(2, 3), randn(1, 3).to(F32)]
    put("cat.mix.mix", t0=parts[0], t1=parts[1], dim=ints([0]), out=torch.cat(parts, 0))
    parts = [randn(2, 3) for _ in range(3)]
    for dim in (0, 1, 2, -1):
        for dt, tag in FLOATS:
            ps = [p.to(dt) for p in parts]
            put(f"stack.d{dim % 3}{'n' if dim < 0 else ''}.{tag}",
                **{f"t{i}": p for i, p in enumerate(ps)}, dim=ints([dim]),
                out=torch.stack(ps, dim=dim))


# ---- views and layouts ----

def view_case(op, case, x, out, store=None, **params):
    """`out` is a view (or copy) of x; its strides are part of the expectation."""
    put(f"{op}.{case}.f64", **(store or {"x": x}), **params, out=out,
        strides=ints(out.stride()))


def view_ops():
    x = randn(2, 3, 4)
    view_case("view", "flat", x, x.view(24), shape=ints([24]))
    view_case("view", "split", x, x.view(4, 6), shape=ints([4, 6]))
    view_case("view", "infer", x, x.view(2, -1, 2), shape=ints([2, -1, 2]))
    view_case("view", "ones", x, x.view(1, 2, 1, 12, 1), shape=ints([1, 2, 1, 12, 1]))
    store = {}
    xt = strided("x", randn(2, 3, 4), [1, 0, 2], store)  # merge-able inner dims only
    view_case("view", "strided", xt, xt.view(2, 3, 2, 2), store, shape=ints([2, 3, 2, 2]))
    view_case("reshape", "contig", x, x.reshape(6, 4), shape=ints([6, 4]))
    store = {}
    xt = strided("x", randn(3, 4), [1, 0], store)  # not viewable: copies
    view_case("reshape", "copy", xt, xt.reshape(12), store, shape=ints([12]))
    view_case("permute", "p201", x, x.permute(2, 0, 1), dims=ints([2, 0, 1]))
    view_case("permute", "pneg", x, x.permute(-1, 1, 0), dims=ints([-1, 1, 0]))
    view_case("transpose", "t02", x, x.transpose(0, 2), dims=ints([0, 2]))
    view_case("transpose", "tneg", x, x.transpose(-1, -2), dims=ints([-1, -2]))
    y = randn(2, 1, 3, 1)
    view_case("squeeze", "all", y, y.squeeze(), dims=ints([]))
    view_case("squeeze", "d1", y, y.squeeze(1), dims=ints([1]))
    view_case("squeeze", "dneg", y, y.squeeze(-1), dims=ints([-1]))
    view_case("squeeze", "noop", y, y.squeeze(0), dims=ints([0]))
    view_case("unsqueeze", "d0", x, x.unsqueeze(0), dim=ints([0]))
    view_case("unsqueeze", "d2", x, x.unsqueeze(2), dim=ints([2]))
    view_case("unsqueeze", "dneg", x, x.unsqueeze(-1), dim=ints([-1]))
    view_case("flatten", "all", x, x.flatten(), dims=ints([0, -1]))
    view_case("flatten", "d12", x, x.flatten(1, 2), dims=ints([1, 2]))
    view_case("flatten", "d01", x, x.flatten(0, 1), dims=ints([0, 1]))
    z = randn(4, 6, 5)
    # slice(dim, start, end, step) as Python's z[..., start:end:step]
    for case, (dim, start, end, step) in {"d0": (0, 1, 3, 1), "d1s2": (1, 1, 6, 2),
                                          "neg": (2, -3, 100, 2), "s3": (1, 0, 6, 3),
                                          "empty": (0, 2, 2, 1)}.items():
        index = [slice(None)] * 3
        index[dim] = slice(start, end, step)
        view_case("slice", case, z, z[tuple(index)], args=ints([dim, start, end, step]))
    for case, (dim, i) in {"d0": (0, 1), "d1neg": (1, -1), "d2": (2, 0)}.items():
        view_case("select", case, z, z.select(dim, i), args=ints([dim, i]))
    c = randn(3, 1)
    view_case("expand", "lead", c, c.expand(2, 3, 4), shape=ints([2, 3, 4]))
    view_case("expand", "infer", c, c.expand(2, -1, 5), shape=ints([2, -1, 5]))
    s = randn()
    view_case("expand", "scalar", s, s.expand(2, 2), shape=ints([2, 2]))
    # From rank 0: every new dim has size 1.
    view_case("view", "from_scalar", s, s.view(1, 1), shape=ints([1, 1]))
    view_case("reshape", "from_scalar", s, s.reshape(1), shape=ints([1]))
    view_case("flatten", "scalar", s, s.flatten(), dims=ints([0, -1]))
    for dt, tag in FLOATS:
        store = {}
        xt = strided("x", randn(3, 4).to(dt), [1, 0], store)
        out = xt.contiguous()
        put(f"contiguous.t.{tag}", **store, out=out, strides=ints(out.stride()))
        store = {}
        xt = strided("x", randn(2, 3, 4).to(dt), [2, 0, 1], store)
        out = xt.contiguous()
        put(f"contiguous.p3.{tag}", **store, out=out, strides=ints(out.stride()))


def channels_last_ops():
    # `out` holds logical values (stored contiguous), `strides` the layout PyTorch chose.
    def case(name, out, **inputs):
        put(f"cl.{name}.f64", **inputs, out=out, strides=ints(out.stride()))

    for name, shape in {"nchw": (2, 3, 4, 5), "c1": (2, 1, 3, 3), "hw1": (2, 3, 1, 1)}.items():
        x = randn(*shape)
        case(name, x.contiguous(memory_format=CL), x=x)
    x = randn(2, 3, 4, 5)
    xc = x.contiguous(memory_format=CL)
    y = randn(2, 3, 4, 5)
    bias = randn(1, 3, 1, 1)
    case("add", xc + y, x=x, y=y)
    case("add_bias", xc + bias, x=x, y=bias)
    case("mul_scalar", xc * 2.0, x=x)
    case("exp", xc.exp(), x=x)
    case("relu", xc.relu(), x=x)
    case("clamp", xc.clamp(-0.5, 0.5), x=x)
    case("to_f32", xc.to(F32).to(F64), x=x)
    case("cl_plus_cl", xc + y.contiguous(memory_format=CL), x=x, y=y)
    # PyTorch's TensorIterator lets the first operand with a decided layout pick the output's:
    # contiguous + channels-last is contiguous.
    case("add_rev", y + xc, x=x, y=y)
    case("where", torch.where(xc > 0, xc, y), x=x, y=y)


def to_ops():
    v = torch.tensor([-2.9, -2.5, -1.0, -0.5, -0.0, 0.4, 0.5, 1.0, 2.5, 2.9, 123456.75,
                      -9876543.5], dtype=F64)
    for src, stag in FLOATS:
        put(f"to.{stag}_i64.{stag}", x=v.to(src), out=v.to(src).to(I64))  # truncates toward 0
    put("to.f64_f32.f64", x=v * 1.1, out=(v * 1.1).to(F32))  # rounds to nearest
    put("to.f32_f64.f32", x=(v * 1.1).to(F32), out=(v * 1.1).to(F32).to(F64))
    i = torch.tensor([-7, 0, 3, 2**40 + 1, -(2**53) - 1], dtype=I64)
    put("to.i64_f64.i64", x=i, out=i.to(F64))
    put("to.i64_f32.i64", x=i, out=i.to(F32))


def main():
    torch.manual_seed(0)
    for gen in (binary_ops, unary_ops, pow_ops, clamp_ops, select_ops, compare_ops, where_ops,
                reduce_ops, minmax_ops, matmul_ops, cat_stack_ops, view_ops, channels_last_ops,
                to_ops):
        gen()
    save(PATH, OUT, {"writer": "tests/golden/gen_ops.py", "torch": torch.__version__})
    print(f"{PATH}: {len(OUT)} tensors, {os.path.getsize(PATH)} bytes")


if __name__ == "__main__":
    main()
