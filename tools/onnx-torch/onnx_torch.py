#!/usr/bin/env python3
"""Float64 reference evaluator of ONNX graphs (domain "", opset 17) on PyTorch, for gradient checks.

ONNX Runtime has no float64 kernel for Conv, ConvTranspose, the pools, InstanceNormalization, Erf and others, so
GradCheck evaluates such models (their forward for finite differences, and the emitted gradient graph) here, with every
float tensor promoted to float64. An op it does not know is an error naming the op: never a silent approximation.

Usage: onnx_torch.py REQUEST_DIR   (REQUEST_DIR/request.json in, REQUEST_DIR/response.json out)
       onnx_torch.py --serve        (request directories, one per stdin line; "done" on stdout after each)
       onnx_torch.py --ops          (the op types it implements, as a JSON list)
request.json: {"jobs": [{"model": "j0.onnx", "feeds": {"x": "j0_x.pb"}, "outputs": ["y"],
                         "perturb": {"output": "loss", "offsets": [-2e-3, ...], "wrt": {"p": [0, 3, 7]}}}]}
Tensors are TensorProto files. Feeds override initializers of the same name. "perturb" evaluates the scalar
"output" with element i of "p" moved by each offset in turn: a [len(indices), len(offsets)] float64 tensor.
response.json: {"jobs": [{"outputs": {"y": "r0_0.pb"}, "perturb": {"p": "r0_p0.pb"}, "error": null}]}
"""
import json
import math
import os
import sys
import traceback

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

F64 = torch.float64
ONNX_TO_TORCH = {
    onnx.TensorProto.FLOAT: F64, onnx.TensorProto.DOUBLE: F64, onnx.TensorProto.FLOAT16: F64,
    onnx.TensorProto.INT64: torch.int64, onnx.TensorProto.INT32: torch.int32, onnx.TensorProto.INT16: torch.int16,
    onnx.TensorProto.INT8: torch.int8, onnx.TensorProto.UINT8: torch.uint8, onnx.TensorProto.BOOL: torch.bool,
}


class OpError(Exception):
    pass


def to_torch(array):
    t = torch.from_numpy(np.array(array, copy=True))
    return t.to(F64) if t.is_floating_point() else t


def from_proto(proto):
    return to_torch(numpy_helper.to_array(proto))


def attrs_of(node):
    result = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, onnx.TensorProto):
            v = from_proto(v)
        elif isinstance(v, onnx.GraphProto):
            v = Body(v)
        result[a.name] = v
    return result


def ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def axis_of(axis, rank):
    return axis + rank if axis < 0 else axis


def is_float(t):
    return t.is_floating_point()


# ---------------------------------------------------------------------------------------------------------------------
# Ops: each takes (inputs, attrs, node) and returns a list of outputs. Omitted optional inputs are None.

OPS = {}


def op(*names):
    def register(fn):
        for n in names:
            OPS[n] = fn
        return fn
    return register


def unary(fn):
    return lambda i, a, n: [fn(i[0], a)]


for _name, _fn in {
    "Neg": lambda x, a: -x, "Abs": lambda x, a: x.abs(), "Exp": lambda x, a: x.exp(), "Log": lambda x, a: x.log(),
    "Sqrt": lambda x, a: x.sqrt(), "Reciprocal": lambda x, a: 1.0 / x, "Tanh": lambda x, a: x.tanh(),
    "Sigmoid": lambda x, a: torch.sigmoid(x), "Relu": lambda x, a: torch.relu(x), "Erf": lambda x, a: torch.erf(x),
    "Identity": lambda x, a: x, "Floor": lambda x, a: x.floor(), "Ceil": lambda x, a: x.ceil(),
    "Round": lambda x, a: torch.round(x), "Sign": lambda x, a: torch.sign(x), "Sin": lambda x, a: x.sin(),
    "Cos": lambda x, a: x.cos(), "Not": lambda x, a: ~x, "IsNaN": lambda x, a: torch.isnan(x),
    "Softplus": lambda x, a: torch.log1p(torch.exp(-x.abs())) + torch.relu(x),
    "Softsign": lambda x, a: x / (1 + x.abs()),
    "HardSigmoid": lambda x, a: torch.clamp(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1),
    "HardSwish": lambda x, a: x * torch.clamp(x / 6 + 0.5, 0, 1),
    "LeakyRelu": lambda x, a: torch.where(x < 0, a.get("alpha", 0.01) * x, x),
    "Elu": lambda x, a: torch.where(x < 0, a.get("alpha", 1.0) * (torch.exp(x) - 1), x),
    "Selu": lambda x, a: a.get("gamma", 1.05070102214813232421875) * torch.where(
        x <= 0, a.get("alpha", 1.67326319217681884765625) * (torch.exp(x) - 1), x),
}.items():
    OPS[_name] = unary(_fn)


def binary(fn):
    return lambda i, a, n: [fn(i[0], i[1])]


def div(x, y):
    return x / y if is_float(x) else torch.div(x, y, rounding_mode="trunc")


for _name, _fn in {
    "Add": lambda x, y: x + y, "Sub": lambda x, y: x - y, "Mul": lambda x, y: x * y, "Div": div,
    "Pow": lambda x, y: torch.pow(x, y).to(x.dtype),
    "Equal": torch.eq, "Greater": torch.gt, "GreaterOrEqual": torch.ge, "Less": torch.lt, "LessOrEqual": torch.le,
    "And": torch.logical_and, "Or": torch.logical_or, "Xor": torch.logical_xor,
    "PRelu": lambda x, s: torch.where(x < 0, s * x, x),
}.items():
    OPS[_name] = binary(_fn)


def variadic(fn):
    def run(i, a, n):
        r = i[0]
        for x in i[1:]:
            r = fn(r, x)
        return [r]
    return run


OPS["Sum"] = variadic(lambda x, y: x + y)
OPS["Max"] = variadic(torch.maximum)
OPS["Min"] = variadic(torch.minimum)
OPS["Mean"] = lambda i, a, n: [variadic(lambda x, y: x + y)(i, a, n)[0] / len(i)]


@op("Softmax", "LogSoftmax")
def softmax(i, a, n):
    f = torch.softmax if n.op_type == "Softmax" else torch.log_softmax
    return [f(i[0], dim=a.get("axis", -1))]


@op("Clip")
def clip(i, a, n):
    x = i[0]
    lo = i[1] if len(i) > 1 and i[1] is not None else None
    hi = i[2] if len(i) > 2 and i[2] is not None else None
    if lo is not None:
        x = torch.maximum(x, lo.to(x.dtype))
    if hi is not None:
        x = torch.minimum(x, hi.to(x.dtype))
    return [x]


@op("CumSum")
def cumsum(i, a, n):
    x, axis = i[0], axis_of(int(i[1].reshape(-1)[0]), i[0].dim())
    if a.get("reverse", 0):
        x = x.flip(axis)
    y = torch.cumsum(x, axis)
    if a.get("exclusive", 0):
        y = y - x
    if a.get("reverse", 0):
        y = y.flip(axis)
    return [y]


@op("Trilu")
def trilu(i, a, n):
    k = int(i[1].reshape(-1)[0]) if len(i) > 1 and i[1] is not None else 0
    return [torch.triu(i[0], k) if a.get("upper", 1) else torch.tril(i[0], k)]


@op("Dropout")
def dropout(i, a, n):
    training = len(i) > 2 and i[2] is not None and bool(i[2].reshape(-1)[0])
    ratio = float(i[1].reshape(-1)[0]) if len(i) > 1 and i[1] is not None else 0.5
    if training and ratio != 0:
        raise OpError("Dropout in training mode draws a random mask: no deterministic reference")
    return [i[0], torch.ones_like(i[0], dtype=torch.bool)]


@op("Cast")
def cast(i, a, n):
    to = a["to"]
    if to not in ONNX_TO_TORCH:
        raise OpError(f"Cast to ONNX type {to} is not supported")
    return [i[0].to(ONNX_TO_TORCH[to])]


@op("CastLike")
def cast_like(i, a, n):
    return [i[0].to(i[1].dtype)]


@op("Where")
def where(i, a, n):
    return [torch.where(i[0], i[1], i[2])]


def positive_indices(idx, size):
    idx = idx.to(torch.int64)
    return torch.where(idx < 0, idx + size, idx)


@op("ScatterElements")
def scatter_elements(i, a, n):
    data, idx, upd = i
    axis = axis_of(a.get("axis", 0), data.dim())
    idx = positive_indices(idx, data.shape[axis])
    reduction = a.get("reduction", "none")
    if reduction == "none":
        return [torch.scatter(data, axis, idx, upd)]
    if reduction == "add":
        return [torch.scatter_add(data, axis, idx, upd)]
    raise OpError(f"ScatterElements reduction '{reduction}' is not supported")


@op("ScatterND")
def scatter_nd(i, a, n):
    data, idx, upd = i
    k = idx.shape[-1]
    flat = idx.reshape(-1, k).to(torch.int64)
    for d in range(k):
        flat[:, d] = positive_indices(flat[:, d], data.shape[d])
    updates = upd.reshape((flat.shape[0],) + tuple(data.shape[k:]))
    reduction = a.get("reduction", "none")
    if reduction not in ("none", "add"):
        raise OpError(f"ScatterND reduction '{reduction}' is not supported")
    out = data.clone()
    out.index_put_(tuple(flat[:, d] for d in range(k)), updates, accumulate=reduction == "add")
    return [out]


@op("LpNormalization")
def lp_normalization(i, a, n):
    p = a.get("p", 2)
    axis = a.get("axis", -1)
    norm = i[0].abs().sum(axis, keepdim=True) if p == 1 else (i[0] * i[0]).sum(axis, keepdim=True).sqrt()
    return [i[0] / norm]


@op("MeanVarianceNormalization")
def mvn(i, a, n):
    x = i[0]
    axes = a.get("axes", [0, 2, 3])
    mean = x.mean(dim=axes, keepdim=True)
    var = (x * x).mean(dim=axes, keepdim=True) - mean * mean
    return [(x - mean) / (var.sqrt() + 1e-9)]


# --- linear algebra ----------------------------------------------------------------------------------------------------

@op("MatMul")
def matmul(i, a, n):
    return [torch.matmul(i[0], i[1])]


@op("Gemm")
def gemm(i, a, n):
    x = i[0].t() if a.get("transA", 0) else i[0]
    w = i[1].t() if a.get("transB", 0) else i[1]
    y = a.get("alpha", 1.0) * (x @ w)
    if len(i) > 2 and i[2] is not None:
        y = y + a.get("beta", 1.0) * i[2]
    return [y]


@op("Einsum")
def einsum(i, a, n):
    return [torch.einsum(a["equation"].replace(" ", ""), *i)]


# --- convolution and pooling -------------------------------------------------------------------------------------------

def spatial_pads(a, in_sizes, kernel, strides, dilations):
    """ONNX pads as [(begin, end)] per spatial axis, auto_pad resolved."""
    r = len(in_sizes)
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for d in range(r):
            out = -(-in_sizes[d] // strides[d])
            total = max(0, (out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - in_sizes[d])
            small = total // 2
            pads.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return pads
    if auto == "VALID":
        return [(0, 0)] * r
    p = a.get("pads", [0] * (2 * r))
    return [(p[d], p[d + r]) for d in range(r)]


def torch_pad(pads):
    """[(begin, end)] per spatial axis → F.pad's last-axis-first list."""
    out = []
    for b, e in reversed(pads):
        out += [b, e]
    return out


CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@op("Conv")
def conv(i, a, n):
    x, w = i[0], i[1]
    b = i[2] if len(i) > 2 else None
    r = x.dim() - 2
    if r not in CONV:
        raise OpError(f"Conv of {r} spatial dims is not supported")
    kernel = list(w.shape[2:])
    strides = a.get("strides", [1] * r)
    dilations = a.get("dilations", [1] * r)
    pads = spatial_pads(a, list(x.shape[2:]), kernel, strides, dilations)
    x = F.pad(x, torch_pad(pads))
    return [CONV[r](x, w, b, stride=strides, dilation=dilations, groups=a.get("group", 1))]


@op("ConvTranspose")
def conv_transpose(i, a, n):
    x, w = i[0], i[1]
    b = i[2] if len(i) > 2 else None
    r = x.dim() - 2
    if r not in CONV_T:
        raise OpError(f"ConvTranspose of {r} spatial dims is not supported")
    kernel = list(w.shape[2:])
    strides = a.get("strides", [1] * r)
    dilations = a.get("dilations", [1] * r)
    out_pad = a.get("output_padding", [0] * r)
    in_sizes = list(x.shape[2:])
    full = [(in_sizes[d] - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 for d in range(r)]
    auto = a.get("auto_pad", "NOTSET")
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        shape = a["output_shape"][-r:] if "output_shape" in a else [in_sizes[d] * strides[d] for d in range(r)]
        pads = []
        for d in range(r):
            total = full[d] + out_pad[d] - shape[d]
            if auto == "SAME_UPPER":
                pads.append((total // 2, total - total // 2))
            else:
                pads.append((total - total // 2, total // 2))
    elif auto == "VALID":
        pads = [(0, 0)] * r
    else:
        p = a.get("pads", [0] * (2 * r))
        pads = [(p[d], p[d + r]) for d in range(r)]
    y = CONV_T[r](x, w, None, stride=strides, dilation=dilations, groups=a.get("group", 1))
    # output_padding adds positions no input reaches; pads crop (a negative crop is zero-padding).
    y = F.pad(y, torch_pad([(-pb, op_ - pe) for (pb, pe), op_ in zip(pads, out_pad)]))
    if b is not None:
        y = y + b.reshape([1, -1] + [1] * r)
    return [y]


def pool_geometry(a, x, dilated=True):
    r = x.dim() - 2
    kernel = a["kernel_shape"]
    strides = a.get("strides", [1] * r)
    dilations = a.get("dilations", [1] * r) if dilated else [1] * r
    in_sizes = list(x.shape[2:])
    pads = spatial_pads(a, in_sizes, kernel, strides, dilations)
    extra = []
    for d in range(r):
        span = (kernel[d] - 1) * dilations[d] + 1
        padded = in_sizes[d] + pads[d][0] + pads[d][1]
        count = (padded - span) / strides[d] + 1
        out = math.ceil(count) if a.get("ceil_mode", 0) else math.floor(count)
        extra.append(max(0, (out - 1) * strides[d] + span - padded))
    return r, kernel, strides, dilations, pads, extra


MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


@op("MaxPool")
def max_pool(i, a, n):
    x = i[0]
    if a.get("storage_order", 0) != 0:
        raise OpError("MaxPool storage_order=1 is not supported")
    r, kernel, strides, dilations, pads, extra = pool_geometry(a, x)
    all_pads = [(b, e + x_) for (b, e), x_ in zip(pads, extra)]
    xp = F.pad(x, torch_pad(all_pads), value=-math.inf)
    y, idx = MAX_POOL[r](xp, kernel, strides, 0, dilations, return_indices=True)
    # torch's indices are flat within one padded plane; ONNX's are flat over the whole unpadded tensor.
    padded = list(xp.shape[2:])
    sizes = list(x.shape[2:])
    coords = []
    rest = idx
    for d in reversed(range(r)):
        coords.insert(0, torch.remainder(rest, padded[d]) - all_pads[d][0])
        rest = torch.div(rest, padded[d], rounding_mode="floor")
    flat = torch.zeros_like(idx)
    for d in range(r):
        flat = flat * sizes[d] + coords[d]
    plane = int(np.prod(sizes))
    nc = torch.arange(x.shape[0] * x.shape[1], dtype=torch.int64).reshape([x.shape[0], x.shape[1]] + [1] * r)
    return [y, flat + nc * plane]


@op("AveragePool")
def average_pool(i, a, n):
    x = i[0]
    r, kernel, strides, dilations, pads, extra = pool_geometry(a, x, dilated=False)
    if r not in CONV:
        raise OpError(f"AveragePool of {r} spatial dims is not supported")
    ones = torch.ones([1, 1] + list(kernel), dtype=x.dtype)
    flat = x.reshape([-1, 1] + list(x.shape[2:]))
    total = CONV[r](F.pad(flat, torch_pad([(b, e + x_) for (b, e), x_ in zip(pads, extra)])), ones, stride=strides)
    inside = torch.ones([1, 1] + list(x.shape[2:]), dtype=x.dtype)
    if a.get("count_include_pad", 0):
        inside = F.pad(inside, torch_pad(pads), value=1.0)
        counted = F.pad(inside, torch_pad([(0, x_) for x_ in extra]))
    else:
        counted = F.pad(inside, torch_pad([(b, e + x_) for (b, e), x_ in zip(pads, extra)]))
    count = CONV[r](counted, ones, stride=strides)
    y = total / count
    return [y.reshape(list(x.shape[:2]) + list(y.shape[2:]))]


@op("GlobalAveragePool")
def global_average_pool(i, a, n):
    return [i[0].mean(dim=list(range(2, i[0].dim())), keepdim=True)]


@op("GlobalMaxPool")
def global_max_pool(i, a, n):
    return [torch.amax(i[0], dim=list(range(2, i[0].dim())), keepdim=True)]


# --- normalization -----------------------------------------------------------------------------------------------------

def per_channel(t, rank):
    return t.reshape([1, -1] + [1] * (rank - 2))


@op("BatchNormalization")
def batch_normalization(i, a, n):
    x, scale, bias, mean, var = i[:5]
    eps = a.get("epsilon", 1e-5)
    r = x.dim()
    if a.get("training_mode", 0):
        axes = [0] + list(range(2, r))
        batch_mean = x.mean(dim=axes)
        batch_var = ((x - per_channel(batch_mean, r)) ** 2).mean(dim=axes)
        m = a.get("momentum", 0.9)
        y = (x - per_channel(batch_mean, r)) / torch.sqrt(per_channel(batch_var, r) + eps) * per_channel(scale, r) + per_channel(bias, r)
        return [y, mean * m + batch_mean * (1 - m), var * m + batch_var * (1 - m)]
    y = (x - per_channel(mean, r)) / torch.sqrt(per_channel(var, r) + eps) * per_channel(scale, r) + per_channel(bias, r)
    return [y]


@op("InstanceNormalization")
def instance_normalization(i, a, n):
    x, scale, bias = i
    r = x.dim()
    axes = list(range(2, r))
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    return [(x - mean) / torch.sqrt(var + a.get("epsilon", 1e-5)) * per_channel(scale, r) + per_channel(bias, r)]


@op("LayerNormalization")
def layer_normalization(i, a, n):
    x, scale = i[0], i[1]
    bias = i[2] if len(i) > 2 else None
    axis = axis_of(a.get("axis", -1), x.dim())
    axes = list(range(axis, x.dim()))
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    inv = 1 / torch.sqrt(var + a.get("epsilon", 1e-5))
    y = (x - mean) * inv * scale
    if bias is not None:
        y = y + bias
    return [y, mean, inv]


# --- shape and data movement -------------------------------------------------------------------------------------------

@op("Reshape")
def reshape(i, a, n):
    x, shape = i[0], ints(i[1])
    if not a.get("allowzero", 0):
        shape = [x.shape[d] if s == 0 else s for d, s in enumerate(shape)]
    return [x.reshape(shape)]


@op("Flatten")
def flatten(i, a, n):
    x = i[0]
    axis = axis_of(a.get("axis", 1), x.dim())
    lead = int(np.prod(x.shape[:axis]))
    return [x.reshape(lead, -1) if x.numel() else x.reshape(lead, int(np.prod(x.shape[axis:])))]


@op("Transpose")
def transpose(i, a, n):
    perm = a.get("perm", list(reversed(range(i[0].dim()))))
    return [i[0].permute(perm)]


def axes_input_or_attribute(i, a):
    """Squeeze/Unsqueeze/Split take their list as an input since opset 13, as an attribute before."""
    if len(i) > 1 and i[1] is not None:
        return ints(i[1])
    return a.get("axes")


@op("Squeeze")
def squeeze(i, a, n):
    x = i[0]
    listed = axes_input_or_attribute(i, a)
    if listed is not None:
        axes = sorted(axis_of(v, x.dim()) for v in listed)
        for d in reversed(axes):
            x = x.squeeze(d)
        return [x]
    return [x.reshape([s for s in x.shape if s != 1])]


@op("Unsqueeze")
def unsqueeze(i, a, n):
    x = i[0]
    listed = axes_input_or_attribute(i, a)
    rank = x.dim() + len(listed)
    for d in sorted(axis_of(v, rank) for v in listed):
        x = x.unsqueeze(d)
    return [x]


@op("Concat")
def concat(i, a, n):
    return [torch.cat(i, dim=a["axis"])]


@op("Split")
def split(i, a, n):
    x = i[0]
    axis = axis_of(a.get("axis", 0), x.dim())
    if len(i) > 1 and i[1] is not None:
        sizes = ints(i[1])
    elif "split" in a:
        sizes = list(a["split"])
    else:
        parts = len(n.output)
        if x.shape[axis] % parts:
            raise OpError(f"Split of {x.shape[axis]} into {parts} equal parts")
        sizes = [x.shape[axis] // parts] * parts
    return list(torch.split(x, sizes, dim=axis))


@op("Slice")
def slice_(i, a, n):
    x = i[0]
    starts, ends = ints(i[1]), ints(i[2])
    axes = ints(i[3]) if len(i) > 3 and i[3] is not None else list(range(len(starts)))
    steps = ints(i[4]) if len(i) > 4 and i[4] is not None else [1] * len(starts)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax = axis_of(ax, x.dim())
        dim = x.shape[ax]
        s = s + dim if s < 0 else s
        e = e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
        else:
            s, e = min(max(s, -1), dim - 1), min(max(e, -1), dim - 1)
        x = torch.index_select(x, ax, torch.tensor(list(range(s, e, st)), dtype=torch.int64))
    return [x]


@op("Gather")
def gather(i, a, n):
    x, idx = i
    axis = axis_of(a.get("axis", 0), x.dim())
    idx = positive_indices(idx, x.shape[axis])
    out = torch.index_select(x, axis, idx.reshape(-1))
    return [out.reshape(list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:]))]


@op("GatherElements")
def gather_elements(i, a, n):
    x, idx = i
    axis = axis_of(a.get("axis", 0), x.dim())
    return [torch.gather(x, axis, positive_indices(idx, x.shape[axis]))]


@op("Expand")
def expand(i, a, n):
    shape = torch.broadcast_shapes(tuple(i[0].shape), tuple(ints(i[1])))
    return [i[0].expand(shape).clone()]


@op("Tile")
def tile(i, a, n):
    return [i[0].repeat(ints(i[1]))]


@op("Pad")
def pad(i, a, n):
    x = i[0]
    r = x.dim()
    p = ints(i[1])
    if len(i) > 3 and i[3] is not None:
        raise OpError("Pad with an axes input (opset 18) is not supported")
    value = float(i[2].reshape(-1)[0]) if len(i) > 2 and i[2] is not None and i[2].numel() else 0.0
    mode = a.get("mode", "constant")
    if mode == "constant":
        return [F.pad(x, torch_pad([(p[d], p[d + r]) for d in range(r)]), value=value)]
    for d in range(r):
        b, e = p[d], p[d + r]
        size = x.shape[d]
        idx = []
        for k in range(-b, size + e):
            if mode == "edge":
                idx.append(min(max(k, 0), size - 1))
            elif mode == "reflect":
                period = 2 * (size - 1)
                j = k % period if period else 0
                idx.append(j if j < size else period - j)
            else:
                raise OpError(f"Pad mode '{mode}' is not supported")
        x = torch.index_select(x, d, torch.tensor(idx, dtype=torch.int64))
    return [x]


@op("Shape")
def shape(i, a, n):
    dims = list(i[0].shape)
    start = a.get("start", 0)
    end = a.get("end", len(dims))
    return [torch.tensor(dims[start:end], dtype=torch.int64)]


@op("Size")
def size(i, a, n):
    return [torch.tensor(i[0].numel(), dtype=torch.int64)]


@op("Constant")
def constant(i, a, n):
    if "value" in a:
        return [a["value"]]
    if "value_float" in a:
        return [torch.tensor(a["value_float"], dtype=F64)]
    if "value_floats" in a:
        return [torch.tensor(a["value_floats"], dtype=F64)]
    if "value_int" in a:
        return [torch.tensor(a["value_int"], dtype=torch.int64)]
    if "value_ints" in a:
        return [torch.tensor(a["value_ints"], dtype=torch.int64)]
    raise OpError("Constant without a supported value attribute")


@op("ConstantOfShape")
def constant_of_shape(i, a, n):
    value = a.get("value", torch.zeros(1, dtype=F64))
    return [torch.full(ints(i[0]), value.reshape(-1)[0].item(), dtype=value.dtype)]


@op("Range")
def range_(i, a, n):
    start, limit, delta = (t.reshape(-1)[0] for t in i)
    return [torch.arange(start.item(), limit.item(), delta.item(), dtype=i[0].dtype)]


@op("OneHot")
def one_hot(i, a, n):
    idx, depth, values = i
    depth = int(depth.reshape(-1)[0])
    idx = positive_indices(idx, depth)
    hot = F.one_hot(idx, depth).to(torch.bool)
    rank = idx.dim() + 1
    axis = axis_of(a.get("axis", -1), rank)
    hot = hot.movedim(-1, axis)
    return [torch.where(hot, values[1], values[0])]


@op("DepthToSpace")
def depth_to_space(i, a, n):
    x = i[0]
    b = a["blocksize"]
    N, C, H, W = x.shape
    if a.get("mode", "DCR") == "DCR":
        y = x.reshape(N, b, b, C // (b * b), H, W).permute(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(N, C // (b * b), b, b, H, W).permute(0, 1, 4, 2, 5, 3)
    return [y.reshape(N, C // (b * b), H * b, W * b)]


@op("SpaceToDepth")
def space_to_depth(i, a, n):
    x = i[0]
    b = a["blocksize"]
    N, C, H, W = x.shape
    y = x.reshape(N, C, H // b, b, W // b, b).permute(0, 3, 5, 1, 2, 4)
    return [y.reshape(N, C * b * b, H // b, W // b)]


def reduce_axes(i, a, x):
    if len(i) > 1 and i[1] is not None:
        axes = ints(i[1])
    else:
        axes = a.get("axes", [])
    if not axes:
        return None if a.get("noop_with_empty_axes", 0) else list(range(x.dim()))
    return sorted(axis_of(v, x.dim()) for v in axes)


def reduction(fn):
    def run(i, a, n):
        x = i[0]
        axes = reduce_axes(i, a, x)
        if axes is None:
            return [x]
        keep = bool(a.get("keepdims", 1))
        return [fn(x, axes, keep)]
    return run


def reduce_prod(x, axes, keep):
    for d in reversed(axes):
        x = x.prod(d, keepdim=True)
    return x if keep else x.reshape([s for k, s in enumerate(x.shape) if k not in axes])


for _name, _fn in {
    "ReduceSum": lambda x, ax, k: x.sum(dim=ax, keepdim=k),
    "ReduceMean": lambda x, ax, k: x.mean(dim=ax, keepdim=k),
    "ReduceMax": lambda x, ax, k: torch.amax(x, dim=ax, keepdim=k),
    "ReduceMin": lambda x, ax, k: torch.amin(x, dim=ax, keepdim=k),
    "ReduceProd": reduce_prod,
    "ReduceL1": lambda x, ax, k: x.abs().sum(dim=ax, keepdim=k),
    "ReduceL2": lambda x, ax, k: (x * x).sum(dim=ax, keepdim=k).sqrt(),
    "ReduceSumSquare": lambda x, ax, k: (x * x).sum(dim=ax, keepdim=k),
    "ReduceLogSumExp": lambda x, ax, k: torch.logsumexp(x, dim=ax, keepdim=k),
}.items():
    OPS[_name] = reduction(_fn)


@op("ArgMax", "ArgMin")
def arg_reduce(i, a, n):
    x = i[0]
    axis = axis_of(a.get("axis", 0), x.dim())
    last = a.get("select_last_index", 0)
    if last:
        x = x.flip(axis)
    r = torch.argmax(x, axis, keepdim=True) if n.op_type == "ArgMax" else torch.argmin(x, axis, keepdim=True)
    if last:
        r = x.shape[axis] - 1 - r
    return [r if a.get("keepdims", 1) else r.squeeze(axis)]


@op("TopK")
def top_k(i, a, n):
    k = int(i[1].reshape(-1)[0])
    values, indices = torch.topk(i[0], k, dim=a.get("axis", -1), largest=bool(a.get("largest", 1)), sorted=True)
    return [values, indices]


# --- Resize ------------------------------------------------------------------------------------------------------------
# Separable: each resized axis is a [m, n] matrix of taps applied in turn, innermost axis first (as ONNX's own reference
# nests them; the order matters only for tf_crop_and_resize's extrapolated rows). Output sizes and source coordinates
# use float32 arithmetic in ONNX Runtime's order (floor(float(n)·scale), (j + 0.5)/scale − 0.5 …), so that a tap at an
# exact tie is the one the runtime that trains picks; the interpolation itself is float64.

F32 = np.float32


def resize_source(j, n, m, scale, transform, roi_start, roi_end):
    """Source coordinate of output j (float32), or None where tf_crop_and_resize extrapolates."""
    j, n_, m_ = F32(j), F32(n), F32(m)
    if transform == "half_pixel":
        return (j + F32(0.5)) / scale - F32(0.5)
    if transform == "pytorch_half_pixel":
        return (j + F32(0.5)) / scale - F32(0.5) if m > 1 else F32(0)
    if transform == "asymmetric":
        return j / scale
    if transform == "tf_half_pixel_for_nn":
        return (j + F32(0.5)) / scale
    if transform == "align_corners":
        # length_resized is the output length (ONNX's operator text, as ONNX Runtime), not n·scale.
        return F32(0) if m == 1 else j * (n_ - F32(1)) / (m_ - F32(1))
    if transform == "tf_crop_and_resize":
        start, end = F32(roi_start), F32(roi_end)
        v = (start * (n_ - F32(1)) + j * (end - start) * (n_ - F32(1)) / (m_ - F32(1)) if m > 1
             else F32(0.5) * (start + end) * (n_ - F32(1)))
        return None if v < 0 or v > n - 1 else v
    raise OpError(f"Resize coordinate_transformation_mode '{transform}' is not supported")


def cubic_weights(r, a):
    """Keys cubic convolution weights of the taps at distances 1 + r, r, 1 − r, 2 − r (r in (0, 1])."""
    def near(t):
        return ((a + 2) * t - (a + 3)) * t * t + 1

    def far(t):
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return [far(1 + r), near(r), near(1 - r), far(2 - r)]


def resize_matrix(n, m, scale, mode, transform, nearest, cubic_a, exclude_outside, roi_start, roi_end):
    """[m, n] float64 taps of one axis, and the rows (output positions) that take the extrapolation value."""
    w = np.zeros((m, n))
    outside = []
    for j in range(m):
        v = resize_source(j, n, m, scale, transform, roi_start, roi_end)
        if v is None:
            outside.append(j)
            continue
        if mode == "nearest":
            k = {"round_prefer_floor": math.ceil(float(v) - 0.5), "round_prefer_ceil": math.floor(float(v) + 0.5),
                 "floor": math.floor(float(v)), "ceil": math.ceil(float(v))}.get(nearest)
            if k is None:
                raise OpError(f"Resize nearest_mode '{nearest}' is not supported")
            w[j, min(max(k, 0), n - 1)] = 1.0
            continue
        v = float(v)
        if mode == "linear":
            lo = math.floor(v)
            r = v - lo
            taps = [(lo, 1 - r), (lo + 1, r)]
        elif mode == "cubic":
            # The four nearest inputs, the lower ones preferred: at an integer v the taps are v − 2 … v + 1 with r = 1.
            base = math.ceil(v) - 1
            r = v - base
            taps = list(zip(range(base - 1, base + 3), cubic_weights(r, cubic_a)))
            if exclude_outside:
                taps = [(k, c if 0 <= k < n else 0.0) for k, c in taps]
                total = sum(c for _, c in taps)
                taps = [(k, c / total) for k, c in taps]
        else:
            raise OpError(f"Resize mode '{mode}' is not supported")
        for k, c in taps:
            w[j, min(max(k, 0), n - 1)] += c
    return w, outside


@op("Resize")
def resize(i, a, n):
    if len(n.input) < 3:
        raise OpError("Resize-10 (X, scales) is not supported: upgrade the model to opset 11 or later")
    x = i[0]
    roi = i[1] if len(i) > 1 and i[1] is not None and i[1].numel() else None
    scales = i[2] if len(i) > 2 and i[2] is not None and i[2].numel() else None
    sizes = i[3] if len(i) > 3 and i[3] is not None and i[3].numel() else None
    for unsupported in ("antialias", "axes", "keep_aspect_ratio_policy"):
        if unsupported in a:
            raise OpError(f"Resize attribute '{unsupported}' (opset 18) is not supported")
    mode = a.get("mode", "nearest")
    transform = a.get("coordinate_transformation_mode", "half_pixel")
    nearest = a.get("nearest_mode", "round_prefer_floor")
    cubic_a = a.get("cubic_coeff_a", -0.75)
    exclude_outside = a.get("exclude_outside", 0)
    extrapolation = a.get("extrapolation_value", 0.0)
    if (scales is None) == (sizes is None):
        raise OpError("Resize needs exactly one of scales and sizes")
    if not is_float(x) and mode != "nearest":
        raise OpError(f"Resize mode '{mode}' of an integer tensor is not supported")
    rank = x.dim()
    shape = list(x.shape)
    if scales is not None:
        scale = [F32(v) for v in scales.reshape(-1).tolist()]
        out = [int(math.floor(F32(shape[d]) * scale[d])) for d in range(rank)]
    else:
        out = ints(sizes)
        scale = [F32(F32(out[d]) / F32(shape[d])) for d in range(rank)]
    if len(out) != rank:
        raise OpError(f"Resize of a rank-{rank} tensor with {len(out)} scales or sizes")
    if transform == "tf_crop_and_resize" and roi is None:
        raise OpError("Resize tf_crop_and_resize needs roi")
    r = roi.reshape(-1).tolist() if roi is not None else [0.0] * (2 * rank)
    y = x.to(F64) if is_float(x) else x.to(F64)
    for d in reversed(range(rank)):
        if out[d] == shape[d] and scale[d] == F32(1) and transform != "tf_crop_and_resize":
            continue
        w, outside = resize_matrix(shape[d], out[d], scale[d], mode, transform, nearest, cubic_a, exclude_outside, r[d], r[d + rank])
        y = torch.tensordot(torch.from_numpy(w), y.movedim(d, 0), dims=([1], [0])).movedim(0, d)
        if outside:
            index = [slice(None)] * rank
            index[d] = torch.tensor(outside, dtype=torch.int64)
            y[tuple(index)] = extrapolation
    return [y if is_float(x) else y.round().to(x.dtype)]

# --- control flow ------------------------------------------------------------------------------------------------------

def graph_references(graph):
    """The names a (sub)graph reads from its enclosing scopes, in first-use order."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    for node in graph.node:
        defined.update(o for o in node.output if o)
    refs = []
    for node in graph.node:
        for x in node_reads(node):
            if x not in defined and x not in refs:
                refs.append(x)
    return refs


def node_reads(node):
    """A node's inputs, and the outer-scope values its subgraph attributes read."""
    reads = [x for x in node.input if x]
    for a in node.attribute:
        for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
            reads += [x for x in graph_references(g) if x not in reads]
    return reads


def check_nodes(graph):
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise OpError(f"node '{node.name}' of domain '{node.domain}' is not supported")
        if node.op_type not in OPS:
            raise OpError(f"op '{node.op_type}' (node '{node.name}') is not implemented by the float64 reference")
        for a in node.attribute:
            for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                check_nodes(g)


class Body:
    """A subgraph: evaluated whole, with the enclosing scope's values visible under its own."""

    def __init__(self, graph):
        check_nodes(graph)
        self.graph = graph
        self.initializers = {t.name: from_proto(t) for t in graph.initializer}
        self.attrs = [attrs_of(node) for node in graph.node]
        self.inputs = [i.name for i in graph.input]
        self.outputs = [o.name for o in graph.output]

    def run(self, scope, inputs):
        values = dict(scope)
        values.update(self.initializers)
        values.update(zip(self.inputs, inputs))
        for node, attrs in zip(self.graph.node, self.attrs):
            evaluate(node, attrs, values)
        return [values[o] for o in self.outputs]


# The values of the graph whose node is being evaluated, for subgraphs to read (a stack: bodies nest).
SCOPES = []
OPSET = [17]


@op("Scan")
def scan(i, a, n):
    if OPSET[0] < 9:
        raise OpError("Scan-8 (sequence_lens, batch axis) is not supported")
    body = a["body"]
    m = a["num_scan_inputs"]
    states, sequences = list(i[:len(i) - m]), i[len(i) - m:]
    count = len(states)
    in_axes = [axis_of(v, sequences[k].dim()) for k, v in enumerate(a.get("scan_input_axes", [0] * m))]
    in_dirs = a.get("scan_input_directions", [0] * m)
    k_out = len(body.outputs) - count
    out_axes = a.get("scan_output_axes", [0] * k_out)
    out_dirs = a.get("scan_output_directions", [0] * k_out)
    steps = sequences[0].shape[in_axes[0]]
    if any(s.shape[ax] != steps for s, ax in zip(sequences, in_axes)):
        raise OpError(f"Scan inputs of different lengths along their scan axes: {[s.shape[ax] for s, ax in zip(sequences, in_axes)]}")
    if steps == 0 and k_out:
        raise OpError("Scan over 0 steps with scan outputs: their shape is not determined")
    scope = SCOPES[-1]
    per_step = [[] for _ in range(k_out)]
    for t in range(steps):
        slices = [s.select(ax, steps - 1 - t if d else t) for s, ax, d in zip(sequences, in_axes, in_dirs)]
        results = body.run(scope, states + slices)
        states = results[:count]
        for k in range(k_out):
            per_step[k].append(results[count + k])
    stacked = []
    for k in range(k_out):
        axis = axis_of(out_axes[k], per_step[k][0].dim() + 1)
        y = torch.stack(per_step[k], dim=axis)
        stacked.append(y.flip(axis) if out_dirs[k] else y)
    return states + stacked


def evaluate(node, attrs, values):
    """Runs one node on values (names → tensors), adding its outputs."""
    args = [values[x] if x else None for x in node.input]
    while args and args[-1] is None:
        args.pop()
    SCOPES.append(values)
    try:
        results = OPS[node.op_type](args, attrs, node)
    except OpError:
        raise
    except Exception as e:
        raise OpError(f"{node.op_type} node '{node.name}': {type(e).__name__}: {e}") from e
    finally:
        SCOPES.pop()
    for name, value in zip(node.output, results):
        if name:
            values[name] = value


# ---------------------------------------------------------------------------------------------------------------------

class Model:
    def __init__(self, path):
        m = onnx.load(path)
        for imp in m.opset_import:
            if imp.domain not in ("", "ai.onnx") :
                raise OpError(f"domain '{imp.domain}' is not supported")
        self.opset = max([imp.version for imp in m.opset_import if imp.domain in ("", "ai.onnx")] or [17])
        self.graph = m.graph
        check_nodes(m.graph)
        self.initializers = {t.name: from_proto(t) for t in m.graph.initializer}
        self.producer = {}
        for k, node in enumerate(m.graph.node):
            for o in node.output:
                if o:
                    self.producer[o] = k
        self.reads = [node_reads(node) for node in m.graph.node]
        self.attrs = [attrs_of(node) for node in m.graph.node]
        self.plans = {}

    def plan(self, outputs):
        """The nodes needed for outputs, in graph order."""
        key = tuple(outputs)
        if key not in self.plans:
            need, stack = set(), list(outputs)
            while stack:
                name = stack.pop()
                k = self.producer.get(name)
                if k is None or k in need:
                    continue
                need.add(k)
                stack.extend(self.reads[k])
            self.plans[key] = sorted(need)
        return self.plans[key]

    def run(self, feeds, outputs, base=None, changed=None):
        """Evaluates the nodes needed for outputs. With base (every value of an earlier run) and changed (the feed names that
        differ from it), only the nodes downstream of a changed value (read directly or by a subgraph) are recomputed."""
        OPSET[0] = self.opset
        values = dict(self.initializers) if base is None else dict(base)
        values.update(feeds)
        dirty = set(changed or ())
        for k in self.plan(outputs):
            node = self.graph.node[k]
            if base is not None and not any(x in dirty for x in self.reads[k]):
                continue
            evaluate(node, self.attrs[k], values)
            dirty.update(o for o in node.output if o)
        missing = [o for o in outputs if o not in values]
        if missing:
            raise OpError(f"outputs {missing} are not produced by the graph")
        self.last = values
        return [values[o] for o in outputs]


def write_tensor(path, t):
    array = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    # np.ascontiguousarray would make a scalar 1-D.
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.array(array, order="C", copy=True)).SerializeToString())


def run_job(directory, j, job):
    result = {"outputs": {}, "perturb": {}, "error": None}
    model = Model(os.path.join(directory, job["model"]))
    feeds = {}
    for name, file in job.get("feeds", {}).items():
        t = onnx.TensorProto()
        with open(os.path.join(directory, file), "rb") as f:
            t.ParseFromString(f.read())
        feeds[name] = from_proto(t)
    outputs = job.get("outputs", [])
    if outputs:
        with torch.no_grad():
            values = model.run(feeds, outputs)
        for k, (name, value) in enumerate(zip(outputs, values)):
            file = f"r{j}_o{k}.pb"
            write_tensor(os.path.join(directory, file), value)
            result["outputs"][name] = file
    perturb = job.get("perturb")
    if perturb:
        loss, offsets = perturb["output"], perturb["offsets"]
        with torch.no_grad():
            model.run(feeds, [loss])
        base = model.last
        for k, (name, indices) in enumerate(perturb["wrt"].items()):
            original = base[name]
            flat = original.reshape(-1)
            table = np.zeros((len(indices), len(offsets)))
            with torch.no_grad():
                for e, index in enumerate(indices):
                    for o, offset in enumerate(offsets):
                        moved = flat.clone()
                        moved[index] += offset
                        value = model.run({name: moved.reshape(original.shape)}, [loss], base, [name])[0]
                        table[e, o] = float(value.reshape(-1)[0])
            file = f"r{j}_p{k}.pb"
            write_tensor(os.path.join(directory, file), table)
            result["perturb"][name] = file
    return result


def serve_one(directory):
    with open(os.path.join(directory, "request.json")) as f:
        request = json.load(f)
    results = []
    for j, job in enumerate(request["jobs"]):
        try:
            results.append(run_job(directory, j, job))
        except OpError as e:
            results.append({"error": str(e)})
        except Exception as e:
            results.append({"error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})
    with open(os.path.join(directory, "response.json"), "w") as f:
        json.dump({"jobs": results}, f)


def main():
    if sys.argv[1] == "--ops":
        print(json.dumps(sorted(OPS)))
        return
    if sys.argv[1] == "--serve":
        # One request directory per stdin line, "done" on stdout after each: PyTorch's import is paid once.
        for line in sys.stdin:
            directory = line.strip()
            if directory:
                serve_one(directory)
                print("done", flush=True)
        return
    serve_one(sys.argv[1])


if __name__ == "__main__":
    main()
