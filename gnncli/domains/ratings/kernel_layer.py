"""A dense layer whose weights are kernelized: sparse by a learned distance between its inputs and outputs.

Muller, Martel and Indiveri, "Kernelized synaptic weight matrices", ICML 2018 (Sparse FC); the
local kernel of Han, Lim, Long, Burgstaller and Poon, "GLocal-K: global and local kernels for
recommender systems", CIKM 2021. Every input i and output j has a point in R^d (``u_i``, ``v_j``);
the weight between them is W_ij scaled by the finite-support kernel

    w(u_i, v_j) = max(0, 1 - ||u_i - v_j||^2),

so that an input and an output whose points lie apart are not connected, and the layer is

    Y = act(X (W * w(U, V)) + b).

The points start near the origin (every weight on) and move apart under :meth:`penalty`, which
weighs the sum of squared kernel values (sparsity, ``lambda_s``) and of squared weights (L2,
``lambda_2``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class KernelLinear(nn.Module):
    r"""A linear layer with kernelized sparse weights.

    Args:
        in_channels (int): input features.
        out_channels (int): output features.
        kernel_dim (int): dimension d of the points u_i, v_j (default 5).
        activation (str): ``sigmoid`` (the hidden layers of both papers) or ``identity`` (the
            output layer).

    Shapes:
        - input: :math:`(N, F_{in})`
        - output: :math:`(N, F_{out})`
    """

    def __init__(self, in_channels: int, out_channels: int, *, kernel_dim: int = 5, activation: str = "sigmoid") -> None:
        super().__init__()
        if activation not in ("sigmoid", "identity"):
            raise ValueError(f"activation {activation}: expected sigmoid or identity")
        self.in_channels, self.out_channels, self.kernel_dim = in_channels, out_channels, kernel_dim
        self.activation = activation
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.u = nn.Parameter(torch.empty(in_channels, kernel_dim))
        self.v = nn.Parameter(torch.empty(out_channels, kernel_dim))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)
        nn.init.trunc_normal_(self.u, std=1e-3, a=-2e-3, b=2e-3)  # points near the origin: every weight on
        nn.init.trunc_normal_(self.v, std=1e-3, a=-2e-3, b=2e-3)
        nn.init.zeros_(self.bias)

    def kernel(self, u: Tensor | None = None, v: Tensor | None = None) -> Tensor:
        """w(u_i, v_j) [F_in, F_out], in [0, 1], of the layer's points (or of ``u``, ``v`` given)."""
        u = self.u if u is None else u
        v = self.v if v is None else v
        # ||u_i - v_j||^2 as ||u_i||^2 + ||v_j||^2 - 2 u_i.v_j: one matrix product, no [F_in, F_out, d] tensor
        dist2 = u.pow(2).sum(1, keepdim=True) + v.pow(2).sum(1) - 2.0 * u @ v.t()
        return torch.clamp(1.0 - dist2, min=0.0)

    def forward(self, x: Tensor, kernel: Tensor | None = None, weights: dict[str, Tensor] | None = None) -> Tensor:
        """``x`` through the layer; ``weights`` (``weight``, ``u``, ``v``, ``bias``) in place of the
        layer's own, e.g. their moving averages."""
        p = weights or {"weight": self.weight, "u": self.u, "v": self.v, "bias": self.bias}
        k = self.kernel(p["u"], p["v"]) if kernel is None else kernel
        y = torch.addmm(p["bias"], x, p["weight"] * k)
        return torch.sigmoid(y) if self.activation == "sigmoid" else y

    def penalty(self, lambda_s: float, lambda_2: float, kernel: Tensor | None = None) -> Tensor:
        """``lambda_s * sum w(u_i, v_j)^2 + lambda_2 * sum W_ij^2``."""
        k = self.kernel() if kernel is None else kernel
        return lambda_s * k.pow(2).sum() + lambda_2 * self.weight.pow(2).sum()

    def density(self) -> float:
        """The share of weights the kernel leaves on (w > 0)."""
        with torch.no_grad():
            return float((self.kernel() > 0).float().mean())

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, kernel_dim={self.kernel_dim}, "
                f"activation={self.activation})")
