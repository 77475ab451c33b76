#!/usr/bin/python3
"""Writes fixtures/optim.safetensors: torch.optim's parameter trajectories over 20 steps on a fixed
float64 problem, which tests/test_optim.cpp replays with ember::optim.

The problem: inputs x [8, 3], targets y [8, 2], parameters w1 [4, 3], b1 [4], w2 [2, 4], and
  loss = ((tanh(x @ w1.T + b1) @ w2.T - y) ** 2).mean()
Runs marked skip_b1 leave b1 out of the loss on odd steps (k = 1, 3, ...), so b1 has no gradient
there (zero_grad(set_to_none=True)) and the optimizer must skip it.

Keys:
  problem.{x,y,w1,b1,w2}      the inputs and the initial parameters (shared by every run)
  <run>.{w1,b1,w2}            [20, ...]: the parameters after each step
  <run>.loss                  [20]: the loss whose gradient each step used
  <run>.lr                    [20, groups]: scheduler.get_last_lr() after each step (scheduled runs)
  <run>.checkpoint.<key>      optimizer.state_dict() after 10 steps, flattened to ember's names
                              (state.<i>.<name>, param_groups.<g>.<name>)
  <run>.scheduler.<key>       scheduler.state_dict() after 10 steps, likewise

The configurations are written twice, in RUNS here and in kRuns in test_optim.cpp; the test fails
unless both name the same runs.

Run with Debian's interpreter (it has torch and numpy):
  /usr/bin/python3 tests/golden/gen_optim.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_numpy import save  # noqa: E402

PATH = os.path.join(HERE, "fixtures", "optim.safetensors")
F64, I64 = torch.float64, torch.int64
STEPS = 20
CHECKPOINT_AFTER = 10

# torch.optim param_group keys ember has (the rest are torch-only switches left at their defaults).
GROUP_KEYS = {
    torch.optim.SGD: ["lr", "momentum", "dampening", "weight_decay", "nesterov"],
    torch.optim.Adam: ["lr", "betas", "eps", "weight_decay", "amsgrad"],
    torch.optim.AdamW: ["lr", "betas", "eps", "weight_decay", "amsgrad"],
}
TORCH_ONLY_DEFAULTS = {"maximize": False, "foreach": None, "capturable": False,
                       "differentiable": False, "fused": False}
SCHEDULER_KEYS = {
    torch.optim.lr_scheduler.StepLR: {"step_size": I64, "gamma": F64},
    torch.optim.lr_scheduler.CosineAnnealingLR: {"T_max": I64, "eta_min": F64},
}


def sgd(**kw):
    return lambda groups: torch.optim.SGD(groups, **kw)


def adam(**kw):
    return lambda groups: torch.optim.Adam(groups, **kw)


def adamw(**kw):
    return lambda groups: torch.optim.AdamW(groups, **kw)


def one_group(p):
    return [p["w1"], p["b1"], p["w2"]]


# name: (param groups from {w1, b1, w2}, optimizer, scheduler or None, skip_b1, checkpoint)
RUNS = {
    "sgd_plain": (one_group, sgd(lr=0.1), None, False, False),
    "sgd_momentum": (one_group, sgd(lr=0.1, momentum=0.9), None, False, True),
    "sgd_dampening": (one_group, sgd(lr=0.1, momentum=0.9, dampening=0.25), None, False, False),
    "sgd_nesterov": (one_group, sgd(lr=0.1, momentum=0.9, nesterov=True), None, False, False),
    "sgd_weight_decay": (one_group, sgd(lr=0.1, weight_decay=0.05), None, False, False),
    "sgd_all": (one_group, sgd(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True), None,
                False, False),
    "sgd_momentum_skip_b1": (one_group, sgd(lr=0.1, momentum=0.9), None, True, False),
    "adam": (one_group, adam(lr=0.05), None, False, False),
    "adam_weight_decay": (one_group, adam(lr=0.05, weight_decay=0.1), None, False, False),
    "adam_amsgrad": (one_group, adam(lr=0.05, betas=(0.8, 0.99), eps=1e-6, amsgrad=True), None,
                     False, True),
    "adam_skip_b1": (one_group, adam(lr=0.05), None, True, True),
    "adamw": (one_group, adamw(lr=0.05), None, False, False),
    "adamw_amsgrad": (one_group, adamw(lr=0.05, weight_decay=0.1, amsgrad=True), None, False,
                      False),
    "sgd_groups": (lambda p: [{"params": [p["w1"], p["b1"]]},
                              {"params": [p["w2"]], "lr": 0.02, "momentum": 0.5}],
                   sgd(lr=0.1, momentum=0.9), None, False, True),
    "adam_groups": (lambda p: [{"params": [p["w1"]]},
                               {"params": [p["b1"], p["w2"]], "lr": 0.01, "weight_decay": 0.1}],
                    adam(lr=0.05), None, False, False),
    "sgd_step_lr": (one_group, sgd(lr=0.2, momentum=0.9),
                    lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5), False,
                    True),
    "adam_cosine": (one_group, adam(lr=0.05),
                    lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.005),
                    False, False),
    "adamw_groups_cosine": (lambda p: [{"params": [p["w1"], p["w2"]]},
                                       {"params": [p["b1"]], "lr": 0.1, "amsgrad": True}],
                            adamw(lr=0.05, weight_decay=0.05),
                            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6),
                            False, True),
}


def loss_fn(x, y, p, use_b1):
    h = x @ p["w1"].T
    if use_b1:
        h = h + p["b1"]
    return ((torch.tanh(h) @ p["w2"].T - y) ** 2).mean()


def flat_optimizer_state(opt):
    """torch's optimizer.state_dict() in ember's flat names."""
    sd = opt.state_dict()
    out = {}
    for i, state in sorted(sd["state"].items()):
        for name, value in state.items():
            if value is None:  # SGD without momentum keeps momentum_buffer=None
                continue
            # torch keeps `step` as a float32 tensor; ember as float64 (exact for any count).
            # clone(): state_dict() shares the live tensors, which later steps change in place.
            dtype = F64 if name == "step" else value.dtype
            out[f"state.{i}.{name}"] = value.detach().to(dtype).clone()
    for g, group in enumerate(sd["param_groups"]):
        for key, default in TORCH_ONLY_DEFAULTS.items():
            assert group.get(key, default) == default, (key, group[key])
        for key in GROUP_KEYS[type(opt)]:
            out[f"param_groups.{g}.{key}"] = torch.tensor(group[key], dtype=F64)
        out[f"param_groups.{g}.params"] = torch.tensor(group["params"], dtype=I64)
    return out


def flat_scheduler_state(scheduler):
    sd = scheduler.state_dict()
    out = {
        "base_lrs": torch.tensor(sd["base_lrs"], dtype=F64),
        "last_epoch": torch.tensor(sd["last_epoch"], dtype=I64),
        "_step_count": torch.tensor(sd["_step_count"], dtype=I64),
        "_last_lr": torch.tensor(sd["_last_lr"], dtype=F64),
    }
    for key, dtype in SCHEDULER_KEYS[type(scheduler)].items():
        out[key] = torch.tensor(sd[key], dtype=dtype)
    return out


def main():
    torch.manual_seed(0)
    problem = {
        "x": torch.randn(8, 3, dtype=F64),
        "y": torch.randn(8, 2, dtype=F64),
        "w1": torch.randn(4, 3, dtype=F64) * 0.8,
        "b1": torch.randn(4, dtype=F64) * 0.2,
        "w2": torch.randn(2, 4, dtype=F64) * 0.8,
    }
    out = {f"problem.{k}": v for k, v in problem.items()}
    for run, (groups_of, make_opt, make_sched, skip_b1, checkpoint) in RUNS.items():
        p = {k: problem[k].clone().requires_grad_() for k in ("w1", "b1", "w2")}
        opt = make_opt(groups_of(p))
        sched = make_sched(opt) if make_sched else None
        trajectory = {k: [] for k in p}
        losses, lrs = [], []
        for k in range(STEPS):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(problem["x"], problem["y"], p, use_b1=not (skip_b1 and k % 2 == 1))
            loss.backward()
            assert (p["b1"].grad is None) == (skip_b1 and k % 2 == 1)
            opt.step()
            if sched:
                sched.step()
                lrs.append(sched.get_last_lr())
            losses.append(loss.item())
            for name, t in p.items():
                trajectory[name].append(t.detach().clone())
            if checkpoint and k + 1 == CHECKPOINT_AFTER:
                for key, value in flat_optimizer_state(opt).items():
                    out[f"{run}.checkpoint.{key}"] = value
                if sched:
                    for key, value in flat_scheduler_state(sched).items():
                        out[f"{run}.scheduler.{key}"] = value
        for name, steps in trajectory.items():
            out[f"{run}.{name}"] = torch.stack(steps)
        out[f"{run}.loss"] = torch.tensor(losses, dtype=F64)
        if sched:
            out[f"{run}.lr"] = torch.tensor(lrs, dtype=F64)
    save(PATH, {k: v.detach().contiguous().numpy() for k, v in out.items()},
         {"generator": "tests/golden/gen_optim.py", "torch": torch.__version__})
    print(f"wrote {len(out)} tensors to {PATH}")


if __name__ == "__main__":
    main()
