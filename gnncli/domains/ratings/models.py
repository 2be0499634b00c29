"""Models of ratings: graph filters and GNNs over the item-similarity graph, their two baselines,
and GC-MC over the bipartite user-item graph.

Every model takes a :class:`~gnncli.domains.ratings.data.RatingBatch` of (user, item) pairs and
gives one output per pair: a standardized rating (``graph-filter``, ``gnn``, ``linear``, ``fcnn``)
or logits over the rating levels (``gcmc``). ``embed(batch)`` is the vector the output is read
from; ``all_items(batch)`` scores every item for each pair's user at once (top-N lists).

Item-signal models (Ruiz, Gama and Ribeiro 2021; alelab's ``movieGNN``): a pair's input is the
user's training ratings as a signal over the items, with the pair's own rating left out
(``batch.x``, ``batch.m``: ratings and rated-indicator, [B, N]); the output is read at the pair's
item alone. The graph models take two features per item, the rating's deviation from the
training mean (0 where unrated) and the indicator, and multiply by the one shared shift operator;
their weights do not depend on the graph (transference). The baselines take the raw rating
vector and have weights per item, so they are tied to one set of items.

Hyperparameters beyond :class:`~gnncli.models.ModelConfig` come in ``params``: ``taps`` (K,
filter taps; default 5), ``mean``/``std`` of the training ratings and ``n_users``/``n_items``/
``levels`` (filled in by the ratings domain); GC-MC also ``embed`` (75), ``bases`` (2) and
``node_dropout`` (0.7).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnncli.models.config import ModelConfig
from gnncli.domains.ratings.graph_filter import GraphFilter, shift_rows


def _param(config: ModelConfig, name: str, default):
    return config.params.get(name, default)


class _ItemSignalModel(nn.Module):
    """What the graph models share: each pair's input signal over the items, shifted.

    A pair's signal has three channels per item j: the user's rating's deviation from the user's
    mean (0 where unrated), whether j is rated, and j's bias (its shrunk mean deviation from the
    global mean). The pair's own rating is left out of all three (and of the user's mean and the
    item's bias), and the user's mean is added back to the output.

    Shifts are never made per pair: the users' whole signals are shifted once per context
    (``context.user_shifts``), and a pair's are those less a rank-one term, its own rating times
    column i of S^k (only the diagonal of S^k when only the output at i is read).
    """

    in_channels = 3

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.mean = float(_param(config, "mean", 0.0))
        self.std = float(_param(config, "std", 1.0)) or 1.0
        self.taps = int(_param(config, "taps", 5))
        if self.taps < 1:
            raise ValueError(f"taps must be at least 1, got {self.taps}")

    def _per_graph(self, batch, fn) -> Tensor:
        """``fn`` over the batch, or over each fold's part of a training batch on that fold's graph."""
        parts = batch.by_graph()
        if len(parts) == 1:
            return fn(parts[0][1])
        outs = [(pos, fn(sub)) for pos, sub in parts]
        out = outs[0][1].new_empty((batch.num_items, *outs[0][1].shape[1:]))
        for pos, value in outs:
            out[pos] = value
        return out

    def forward(self, batch) -> Tensor:
        return self._per_graph(batch, self._forward)

    def embed(self, batch) -> Tensor:
        return self._per_graph(batch, self._embed)

    def _pair_terms(self, batch, stats, leave_out: bool):
        """Per pair: own (rating, indicator) left out, the user's mean and the item's bias without it."""
        from gnncli.domains.ratings.data import ITEM_PRIOR, USER_PRIOR

        users, items = batch.users, batch.items
        own = batch.own if leave_out else torch.zeros(users.numel(), 2, device=users.device)
        ox, om = own[:, 0], own[:, 1]
        mean = stats["mean"]
        user_mean = (stats["user_sum"][users] - ox + USER_PRIOR * mean) / (stats["user_cnt"][users] - om + USER_PRIOR)
        cnt = stats["item_cnt"][items] - om
        bias_loo = (stats["item_sum"][items] - ox - cnt * mean) / (cnt + ITEM_PRIOR)
        return ox, om, user_mean, stats["bias"][items] - bias_loo

    def baseline(self, user_mean: Tensor) -> Tensor:
        return ((user_mean - self.mean) / self.std).unsqueeze(-1)

    def inputs_at_items(self, batch) -> tuple[Tensor, Tensor]:
        """[K, B, 3]: [S^k x]_i for each pair's signal x and item i; and the baseline [B, 1]."""
        device = batch.users.device
        Y = batch.context.user_shifts(self.taps, device, batch.graph)  # [K, U, N, 2]
        stats = batch.context.stats(self.taps, device, batch.graph)
        ox, om, user_mean, bias_gap = self._pair_terms(batch, stats, True)
        Z = Y[:, batch.users, batch.items]  # [K, B, 2]
        zx, zm, zb = Z[..., 0], Z[..., 1], stats["bias_shifts"][:, batch.items]
        if bool((om != 0).any()):  # some pairs are training ratings: leave them out (else nothing to remove)
            D = batch.context.diag_powers(self.taps, device, batch.graph)[:, batch.items]  # [K, B]
            zx, zm, zb = zx - D * ox, zm - D * om, zb - D * bias_gap
        return torch.stack([(zx - user_mean * zm) / self.std, zm, zb / self.std], dim=-1), self.baseline(user_mean)

    def inputs(self, batch, *, leave_out: bool = True) -> tuple[Tensor, Tensor, list[Tensor] | None]:
        """[K, B, N, 3]: S^k x over every item for each pair's signal x; the baseline [B, 1]; and
        the rows of S^k at the pairs' items ([B, N] each; the columns too, S being symmetric)."""
        device = batch.users.device
        stats = batch.context.stats(self.taps, device, batch.graph)
        ox, om, user_mean, bias_gap = self._pair_terms(batch, stats, leave_out)
        Z = batch.context.user_shifts(self.taps, device, batch.graph)[:, batch.users]  # [K, B, N, 2]
        zx, zm = Z[..., 0], Z[..., 1]
        zb = stats["bias_shifts"].unsqueeze(1).expand_as(zx)
        rows = None
        if leave_out:
            S = batch.context.shift_operator(device, batch.graph)
            rows = shift_rows(S, batch.items, S.size(0), self.taps)
            R = torch.stack(rows)  # [K, B, N]
            zx, zm = zx - R * ox.view(1, -1, 1), zm - R * om.view(1, -1, 1)
            zb = zb - R * bias_gap.view(1, -1, 1)
        mu = user_mean.view(1, -1, 1)
        return torch.stack([(zx - mu * zm) / self.std, zm, zb / self.std], dim=-1), self.baseline(user_mean), rows


class GraphFilterModel(_ItemSignalModel):
    """A linear graph filter: rating(u, i) = mean_u + [sum_k S^k X_u H_k]_i + b, with K taps, on
    the three channels of the user's signal."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.filter = GraphFilter(self.in_channels, 1, self.taps)

    def _embed(self, batch) -> Tensor:
        """The shifted channels at the pair's item, [B, 3K]: what the taps weigh."""
        Z, _ = self.inputs_at_items(batch)
        return Z.transpose(0, 1).reshape(Z.size(1), -1)

    def _forward(self, batch) -> Tensor:
        Z, base = self.inputs_at_items(batch)
        return base + self.filter.combine(Z)

    def all_items(self, batch) -> Tensor:
        Z, base, _ = self.inputs(batch, leave_out=False)
        return base + self.filter.combine(Z)[..., 0]


class GNNModel(_ItemSignalModel):
    """A graph neural network: ``depth`` graph-filter layers of ``hidden`` features with ReLU, and a
    local linear readout at the pair's item (the lectures' GNN has one layer of 64 features).
    With one layer the output at item i needs only [S^k x]_i; deeper, the first layer runs at
    every item and the last at the pairs' items alone (the same function, without computing
    outputs nobody reads)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        depth, hidden = max(1, config.depth), config.hidden
        widths = [self.in_channels] + [hidden] * depth
        self.layers = nn.ModuleList(GraphFilter(widths[i], widths[i + 1], self.taps) for i in range(depth))
        self.dropout = nn.Dropout(config.dropout)
        self.readout = nn.Linear(hidden, 1)

    def _full(self, batch, Z: Tensor) -> Tensor:
        """Node states [N, B, F] after every layer but the last, from the first layer's shifts Z."""
        S = batch.context.shift_operator(batch.users.device, batch.graph)
        H = self.dropout(torch.relu(self.layers[0].combine(Z))).transpose(0, 1).contiguous()
        for layer in self.layers[1:-1]:
            H = self.dropout(torch.relu(layer(S, H)))
        return H

    def _hidden(self, batch) -> tuple[Tensor, Tensor]:
        if len(self.layers) == 1:
            Z, base = self.inputs_at_items(batch)
            return torch.relu(self.layers[0].combine(Z)), base
        Z, base, rows = self.inputs(batch)
        return torch.relu(self.layers[-1].at(rows, self._full(batch, Z))), base

    def _embed(self, batch) -> Tensor:
        return self._hidden(batch)[0]

    def _forward(self, batch) -> Tensor:
        h, base = self._hidden(batch)
        return base + self.readout(self.dropout(h))

    def all_items(self, batch) -> Tensor:
        Z, base, _ = self.inputs(batch, leave_out=False)
        if len(self.layers) == 1:
            H = torch.relu(self.layers[0].combine(Z))  # [B, N, F]
            return base + self.readout(H)[..., 0]
        S = batch.context.shift_operator(batch.users.device)
        H = torch.relu(self.layers[-1](S, self._full(batch, Z)))  # [N, B, F]
        return base + self.readout(H)[..., 0].t()


class LinearModel(nn.Module):
    """Linear regression on the raw rating vector: rating(u, i) = W_i . x_u + b_i (one weight per
    pair of items). The lectures' first baseline."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        n = int(_param(config, "n_items", 0))
        self.weight = nn.Parameter(torch.zeros(n, n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.scale = float(_param(config, "high", 5.0)) or 1.0

    def embed(self, batch) -> Tensor:
        """The item's weights over all items, [B, N]."""
        return self.weight[batch.items]

    def forward(self, batch) -> Tensor:
        x = batch.x / self.scale
        return ((self.weight[batch.items] * x).sum(1) + self.bias[batch.items]).unsqueeze(1)

    def all_items(self, batch) -> Tensor:
        return batch.x / self.scale @ self.weight.t() + self.bias


class FCNNModel(nn.Module):
    """A fully connected network on the raw rating vector: ``depth`` hidden layers of ``hidden``
    units with ReLU, then one output per item, read at the pair's item. The lectures' second baseline."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        n = int(_param(config, "n_items", 0))
        layers: list[nn.Module] = []
        width = n
        for _ in range(max(1, config.depth)):
            layers += [nn.Linear(width, config.hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = config.hidden
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, n)
        self.scale = float(_param(config, "high", 5.0)) or 1.0

    def embed(self, batch) -> Tensor:
        return self.body(batch.x / self.scale)

    def forward(self, batch) -> Tensor:
        h = self.embed(batch)
        return ((h * self.out.weight[batch.items]).sum(1) + self.out.bias[batch.items]).unsqueeze(1)

    def all_items(self, batch) -> Tensor:
        return self.out(self.embed(batch))


class _WeightAverage:
    """An exponential moving average of some of a module's parameters, kept in its buffers.

    Mixed into an :class:`~torch.nn.Module`: :meth:`_init_average` registers one buffer per
    parameter (``ema_`` + its name with dots as underscores) and ``ema_steps``; :meth:`_step_average`
    updates them at each training step (the weights as the last optimizer step left them), and
    :meth:`_use_average` says whether predictions read them (eval mode with a decay above 0).
    """

    ema: float

    def _init_average(self, decay: float, names: list[str]) -> None:
        self.ema = decay
        self._averaged_names = list(names)
        params = dict(self.named_parameters())
        for name in self._averaged_names:
            self.register_buffer(self._ema_name(name), params[name].detach().clone())
        self.register_buffer("ema_steps", torch.zeros((), dtype=torch.long))

    @staticmethod
    def _ema_name(name: str) -> str:
        return "ema_" + name.replace(".", "_")

    def _use_average(self) -> bool:
        return not self.training and self.ema > 0

    @torch.no_grad()
    def _update_ema(self) -> None:
        """One step of the average, with a shorter memory over the first steps (as TensorFlow's
        ExponentialMovingAverage with num_updates), so that the initial weights fade quickly."""
        steps = int(self.ema_steps)
        decay = min(self.ema, (1 + steps) / (10 + steps))
        params = dict(self.named_parameters())
        for name in self._averaged_names:
            getattr(self, self._ema_name(name)).mul_(decay).add_(params[name].detach(), alpha=1 - decay)
        self.ema_steps += 1

    def _step_average(self) -> None:
        """Update the average at a training step (not in eval mode, nor under ``torch.no_grad``)."""
        if self.training and self.ema > 0 and torch.is_grad_enabled():
            self._update_ema()


class GCMC(_WeightAverage, nn.Module):
    """Graph convolutional matrix completion (van den Berg, Kipf and Welling, 2017).

    Encoder: one message type per rating level r over the bipartite user-item graph, with
    ordinal weight sharing (W_r = T_1 + ... + T_r) on one-hot node inputs, messages normalized by
    sqrt(deg_i deg_j), the levels stacked (``hidden`` features in all) and a ReLU, then a dense
    layer to ``embed`` features per node. Node dropout (``node_dropout``) drops every message of a
    node. Decoder: bilinear per level with ``bases`` shared basis matrices, Q_r = sum_s a_rs P_s;
    logits_r(u, i) = u^T Q_r v, so that softmax over r is a distribution over rating levels.

    ``messages`` says which training ratings carry messages while training: ``apart``, all but
    the batch's own pairs (supervision edges never carry messages to themselves; trained in
    mini-batches); ``all``, every training rating, as in the paper's full-batch training, where
    each step scores every training pair and dropout keeps a pair from relying on its own edge.
    ``level_dropout`` drops a node's messages of each rating level independently (the paper's
    and DGL's GC-MC: dropout on each level's source normalizers) instead of all of a node's at
    once. ``activation`` is ``relu`` or ``leaky`` (leaky ReLU, slope 0.1) after the levels are
    stacked. A run's config records all three; runs from before they existed are read as
    ``apart``, per-node dropout and ``relu``.

    Side features (``--user-features``, ``--item-features``; the paper's GC-MC+Feat): each side's
    features pass a dense ReLU layer of ``side_hidden`` units (default 10) whose output joins
    the stacked messages in the layer to ``embed`` features.

    Predictions can use an exponential moving average of the weights (decay ``ema`` per training
    step; 0 uses the weights as they are): it is updated at each training batch, kept in the
    model's state, and used whenever the model is in eval mode.
    """

    _WEIGHTS = ("ordinal", "w_user", "w_item", "basis", "coefficients")

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.n_users = int(_param(config, "n_users", 0))
        self.n_items = int(_param(config, "n_items", 0))
        self.n_levels = int(_param(config, "levels", 5))
        self.node_dropout = float(_param(config, "node_dropout", 0.7))
        self.messages = str(_param(config, "messages", "apart"))
        self.level_dropout = bool(_param(config, "level_dropout", False))
        self.activation = str(_param(config, "activation", "relu"))
        if self.messages not in ("apart", "all"):
            raise ValueError(f"--model-param messages={self.messages}: expected apart or all")
        if self.activation not in ("relu", "leaky"):
            raise ValueError(f"--model-param activation={self.activation}: expected relu or leaky")
        embed, bases = int(_param(config, "embed", 75)), int(_param(config, "bases", 2))
        per_level = max(1, config.hidden // self.n_levels)
        nodes = self.n_users + self.n_items
        self.ordinal = nn.Parameter(torch.empty(self.n_levels, nodes, per_level))
        self._weights = list(self._WEIGHTS)
        # Side features (when the run has them): a dense ReLU layer of ``side_hidden`` units per
        # side, its output beside the messages' in the layer to ``embed`` (the paper's GC-MC+Feat).
        side = int(_param(config, "side_hidden", 10))
        extra = {}
        for who in ("user", "item"):
            n_in = int(_param(config, f"{who}_features", 0))
            extra[who] = side if n_in else 0
            if n_in:
                setattr(self, f"side_{who}", nn.Parameter(torch.empty(side, n_in)))
                setattr(self, f"side_{who}_bias", nn.Parameter(torch.zeros(side)))
                nn.init.xavier_uniform_(getattr(self, f"side_{who}"))
                self._weights += [f"side_{who}", f"side_{who}_bias"]
        self.w_user = nn.Parameter(torch.empty(embed, per_level * self.n_levels + extra["user"]))
        self.w_item = nn.Parameter(torch.empty(embed, per_level * self.n_levels + extra["item"]))
        self.dropout = nn.Dropout(config.dropout)
        self.basis = nn.Parameter(torch.empty(bases, embed, embed))
        self.coefficients = nn.Parameter(torch.empty(self.n_levels, bases))
        nn.init.xavier_uniform_(self.ordinal.view(self.n_levels * nodes, per_level))
        nn.init.xavier_uniform_(self.w_user)
        nn.init.xavier_uniform_(self.w_item)
        nn.init.orthogonal_(self.basis.view(bases * embed, embed))
        nn.init.xavier_uniform_(self.coefficients)
        self._init_average(float(_param(config, "ema", 0.995)), self._weights)
        self._cached: tuple | None = None

    def _w(self, name: str) -> Tensor:
        """A weight as used now: the live one while training, its moving average in eval mode."""
        return getattr(self, self._ema_name(name)) if self._use_average() else getattr(self, name)

    def train(self, mode: bool = True):
        self._cached = None
        return super().train(mode)

    def encode(self, batch) -> tuple[Tensor, Tensor]:
        """User vectors [n_users, embed] and item vectors [n_items, embed] from the message graph."""
        context, device = batch.context, batch.users.device
        if not self.training and self._cached is not None and self._cached[0] is context:
            return self._cached[1], self._cached[2]
        self._step_average()  # the weights as the last optimizer step left them
        users, items, level = context.edges(device)
        if self.training and batch.edge is not None and self.messages == "apart":
            keep = torch.ones(users.numel(), dtype=torch.bool, device=device)
            keep[batch.edge[batch.edge >= 0]] = False
            users, items, level = users[keep], items[keep], level[keep]
        deg_u = torch.bincount(users, minlength=self.n_users).clamp(min=1).float()
        deg_i = torch.bincount(items, minlength=self.n_items).clamp(min=1).float()
        norm = (deg_u[users] * deg_i[items]).rsqrt().unsqueeze(1)
        W = self._w("ordinal").cumsum(0)  # ordinal weight sharing
        to_user = W[level, self.n_users + items] * norm
        to_item = W[level, users] * norm
        if self.training and self.node_dropout > 0:
            keep = self.sender_dropout(device)
            from_item, from_user = self.n_users + items, users
            if self.level_dropout:
                to_user = to_user * keep[level, from_item].unsqueeze(1)
                to_item = to_item * keep[level, from_user].unsqueeze(1)
            else:
                to_user = to_user * keep[from_item].unsqueeze(1)
                to_item = to_item * keep[from_user].unsqueeze(1)
        per_level = W.size(2)
        h_user = torch.zeros(self.n_users * self.n_levels, per_level, device=device)
        h_item = torch.zeros(self.n_items * self.n_levels, per_level, device=device)
        h_user.index_add_(0, users * self.n_levels + level, to_user)
        h_item.index_add_(0, items * self.n_levels + level, to_item)
        act = (lambda h: F.leaky_relu(h, 0.1)) if self.activation == "leaky" else torch.relu
        h_user = act(h_user.view(self.n_users, -1))
        h_item = act(h_item.view(self.n_items, -1))
        h = {"user": self.dropout(h_user), "item": self.dropout(h_item)}
        for who, features in zip(("user", "item"), context.side(device)):
            if f"side_{who}" in self._weights:
                side = torch.relu(features @ self._w(f"side_{who}").t() + self._w(f"side_{who}_bias"))
                h[who] = torch.cat([h[who], side], dim=1)
        u = h["user"] @ self._w("w_user").t()
        v = h["item"] @ self._w("w_item").t()
        if not self.training:
            self._cached = (context, u, v)
        return u, v

    def sender_dropout(self, device=None) -> Tensor:
        """One training step's dropout of senders (users, then items), scaled by 1 / (1 - p): a
        factor per node [nodes], or per rating level and node [levels, nodes] with ``level_dropout``."""
        shape = (self.n_levels, self.n_users + self.n_items) if self.level_dropout else (self.n_users + self.n_items,)
        return (torch.rand(shape, device=device) >= self.node_dropout).float() / (1.0 - self.node_dropout)

    def _levels(self) -> Tensor:
        return torch.einsum("rs,sde->rde", self._w("coefficients"), self._w("basis"))

    def _logits(self, u: Tensor, v: Tensor) -> Tensor:
        return torch.einsum("bd,rde,be->br", u, self._levels(), v)

    def embed(self, batch) -> Tensor:
        u, v = self.encode(batch)
        return torch.cat([u[batch.users], v[batch.items]], dim=1)

    def forward(self, batch) -> Tensor:
        u, v = self.encode(batch)
        return self._logits(u[batch.users], v[batch.items])

    def all_items(self, batch) -> Tensor:
        """Logits [B, n_items, levels] for every item of each pair's user."""
        u, v = self.encode(batch)
        return torch.einsum("bd,rde,ne->bnr", u[batch.users], self._levels(), v)

    def vectors(self, batch) -> dict[str, Tensor]:
        u, v = self.encode(batch)
        return {"user": u, "item": v}


class KernelAutoencoder(_WeightAverage, nn.Module):
    """Item-based autoencoders with kernelized sparse layers (Sparse FC: Muller, Martel and
    Indiveri, ICML 2018; the local kernel of GLocal-K: Han et al., CIKM 2021), averaged.

    Each item's column of training ratings over the users (0 where unrated) passes ``depth``
    :class:`~gnncli.domains.ratings.kernel_layer.KernelLinear` layers of ``hidden`` sigmoid units
    and one linear kernelized layer back to the users, reconstructing the column (I-AutoRec's
    shape); rating(u, i) is the reconstruction of item i at user u. ``members`` such autoencoders,
    each initialized on its own, are trained side by side and their reconstructions averaged.

    With ``bag`` < 1, each member reads and learns from its own random share of the training
    ratings (drawn when the model is built, kept in its state), so that the members differ as
    runs on different validation cuts do.

    The loss is each member's own error on its training ratings, not the average's (the model
    hands the task, which adds the average's error, the difference), so that the members train
    as they would alone, plus the penalty of every
    layer (``lambda_s`` on the kernels' squares, ``lambda_2`` on the weights'), per training
    rating in the task's standardized units so that the papers' weights carry over, and averaged
    over the members; the model
    hands spread and penalty to the loss as ``batch.penalty``. The whole rating matrix is
    reconstructed at every step (full batch); in eval mode once per context, then reused.

    Predictions use an exponential moving average of the weights (decay ``ema`` per training
    step; 0 uses the weights as they are), kept in the model's state: trained full-batch at a
    constant learning rate, the weights keep moving about a minimum, and their average sits nearer it.

    Params (``--model-param``): ``members`` (default 1), ``bag`` (1), ``ema`` (0), ``kernel_dim`` (5), ``lambda_s``
    (0.006), ``lambda_2`` (20); the last three are GLocal-K's ML-100K settings. Filled in by the ratings
    domain: ``n_users``, ``n_items``, ``mean``, ``std`` and ``ratings`` (the number of training ratings).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        from gnncli.domains.ratings.kernel_layer import KernelLinear

        self.config = config
        self.n_users = int(_param(config, "n_users", 0))
        self.n_items = int(_param(config, "n_items", 0))
        self.mean = float(_param(config, "mean", 0.0))
        self.std = float(_param(config, "std", 1.0)) or 1.0
        self.lambda_s = float(_param(config, "lambda_s", 0.006))
        self.lambda_2 = float(_param(config, "lambda_2", 20.0))
        self.n_ratings = max(1, int(_param(config, "ratings", 1)))
        dim = int(_param(config, "kernel_dim", 5))
        members = int(_param(config, "members", 1))
        if dim < 1:
            raise ValueError(f"--model-param kernel_dim={dim}: must be at least 1")
        if members < 1:
            raise ValueError(f"--model-param members={members}: must be at least 1")
        widths = [self.n_users] + [config.hidden] * max(1, config.depth)
        self.members = nn.ModuleList(
            nn.ModuleList([*(KernelLinear(a, b, kernel_dim=dim) for a, b in zip(widths, widths[1:])),
                           KernelLinear(widths[-1], self.n_users, kernel_dim=dim, activation="identity")])
            for _ in range(members))
        self.bag = float(_param(config, "bag", 1.0))
        if not 0.0 < self.bag <= 1.0:
            raise ValueError(f"--model-param bag={self.bag}: must be in (0, 1]")
        if self.bag < 1.0:  # which training ratings each member reads and learns from (drawn at build, seeded)
            self.register_buffer("bag_keep", torch.rand(members, self.n_ratings) < self.bag)
        ema = float(_param(config, "ema", 0.0))
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"--model-param ema={ema}: must be in [0, 1)")
        self._init_average(ema, [name for name, _ in self.named_parameters()])
        self._cached: tuple | None = None

    def train(self, mode: bool = True):
        self._cached = None
        return super().train(mode)

    def _layers(self) -> list:
        return [layer for member in self.members for layer in member]

    def _averaged(self, k: int, j: int) -> dict[str, Tensor] | None:
        """Layer j of member k's moving-average weights, used in eval mode (None: the live ones)."""
        if not self._use_average():
            return None
        return {attr: getattr(self, self._ema_name(f"members.{k}.{j}.{attr}")) for attr in ("weight", "u", "v", "bias")}

    def encode(self, context) -> tuple[Tensor, Tensor, Tensor | None]:
        """The items' codes [n_items, members * hidden], every member's reconstructed ratings
        [members, n_items, n_users] (raw units) and, while training, the penalty (None in eval mode)."""
        if not self.training and self._cached is not None and self._cached[0] is context:
            return self._cached[1], self._cached[2], None
        self._step_average()  # the weights as the last optimizer step left them
        x = context.item_columns(self.members[0][0].weight.device)
        codes, outs, penalty = [], [], 0.0
        for m, member in enumerate(self.members):
            h = self._member_input(context, x, m)
            for j, layer in enumerate(member):
                if self.training:
                    k = layer.kernel()
                    penalty = penalty + layer.penalty(self.lambda_s, self.lambda_2, k)
                    if j == len(member) - 1:
                        codes.append(h)
                    h = layer(h, k)
                else:
                    if j == len(member) - 1:
                        codes.append(h)
                    h = layer(h, weights=self._averaged(m, j))
            outs.append(h)
        code, out = torch.cat(codes, dim=1), torch.stack(outs)
        if not self.training:
            self._cached = (context, code, out)
            return code, out, None
        return code, out, penalty / (len(self.members) * self.n_ratings * self.std**2)  # per member

    def _bagged(self, context) -> bool:
        return self.bag < 1.0 and len(context.ratings) == self.bag_keep.size(1)

    def _member_input(self, context, x: Tensor, m: int) -> Tensor:
        """Member m's input: the item columns without the training ratings outside its bag."""
        if not self._bagged(context):
            return x
        users, items, _ = context.edges(x.device)
        out = x.clone()
        left = ~self.bag_keep[m]
        out[items[left], users[left]] = 0.0
        return out

    def forward(self, batch) -> Tensor:
        _, out, penalty = self.encode(batch.context)
        pred = (out[:, batch.items, batch.users] - self.mean) / self.std  # [members, B]
        average = pred.mean(0)
        if penalty is not None:
            y = (batch.y - self.mean) / self.std
            weight = torch.ones_like(pred)
            if self._bagged(batch.context) and batch.edge is not None:
                edge = batch.edge.clamp(min=0)
                weight = self.bag_keep[:, edge].float() * (batch.edge >= 0).float()  # a member learns its own ratings
            own = ((pred - y).pow(2) * weight).sum(1) / weight.sum(1).clamp(min=1)
            # the task adds the error of the average; this makes the loss each member's own error
            batch.penalty = penalty + own.mean() - (average - y).pow(2).mean()
        return average.unsqueeze(1)

    def embed(self, batch) -> Tensor:
        """The pair's item's code [B, members * hidden]."""
        return self.encode(batch.context)[0][batch.items]

    def all_items(self, batch) -> Tensor:
        out = self.encode(batch.context)[1].mean(0)
        return (out[:, batch.users].t() - self.mean) / self.std


def graph_filter(config: ModelConfig) -> nn.Module:
    return GraphFilterModel(config)


def gnn(config: ModelConfig) -> nn.Module:
    return GNNModel(config)


def linear(config: ModelConfig) -> nn.Module:
    return LinearModel(config)


def fcnn(config: ModelConfig) -> nn.Module:
    return FCNNModel(config)


def gcmc(config: ModelConfig) -> nn.Module:
    return GCMC(config)


def kernel_ae(config: ModelConfig) -> nn.Module:
    return KernelAutoencoder(config)
