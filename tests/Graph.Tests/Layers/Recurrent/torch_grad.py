"""float64 autograd reference for ScanTorchGradientTests: reads one JSON case on stdin, prints the gradients of
sum(output * projection) with respect to x and the Keras-layout weights."""
import json, sys

import torch

torch.set_default_dtype(torch.float64)
c = json.load(sys.stdin)
kind, b, t, f, u = c["kind"], c["batch"], c["time"], c["features"], c["units"]
x = torch.tensor(c["x"]).reshape(b, t, f).requires_grad_()
kernel = torch.tensor(c["kernel"]).reshape(f, -1).requires_grad_()
rec = torch.tensor(c["recurrent_kernel"]).reshape(u, -1).requires_grad_()
bias = torch.tensor(c["bias"]).requires_grad_()
proj = torch.tensor(c["projection"]).reshape(b, t, u)

h = torch.zeros(b, u)
cell = torch.zeros(b, u)
outs = []
for s in range(t):
    xt = x[:, s] @ kernel
    if kind == "lstm":
        z = xt + h @ rec + bias
        i, fg, g, o = z.split(u, dim=1)
        cell = torch.sigmoid(fg) * cell + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(cell)
    else:  # GRU, reset_after=True: bias [2, 3u] = input bias; recurrent bias
        bb = bias.reshape(2, 3 * u)
        xi = xt + bb[0]
        hr = h @ rec + bb[1]
        xz, xr, xh = xi.split(u, dim=1)
        hz, hrr, hh = hr.split(u, dim=1)
        zg = torch.sigmoid(xz + hz)
        r = torch.sigmoid(xr + hrr)
        cand = torch.tanh(xh + r * hh)
        h = zg * h + (1 - zg) * cand
    outs.append(h)
y = torch.stack(outs, dim=1)
(y * proj).sum().backward()
print(json.dumps({"x": x.grad.flatten().tolist(), "kernel": kernel.grad.flatten().tolist(),
                  "recurrent_kernel": rec.grad.flatten().tolist(), "bias": bias.grad.flatten().tolist()}))
