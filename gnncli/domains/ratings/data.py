"""Ratings as training data: ID maps, splits, the shared context every batch points to, and batches.

A :class:`RatingContext` holds what every model conditions on, built once from the training ratings:
the users x items matrix of training ratings and the item-similarity shift operator. Batches
are (user, item) pairs that *point to* the context, never copy it: the item-signal models build
each pair's signal (the user's training ratings, with the pair's own rating left out) as one dense
row per pair and multiply the whole batch by the one shared sparse shift operator; GC-MC removes the
batch's pairs from its message graph, so that supervision edges never carry messages.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
import torch

from gnncli.domains.ratings.graph import rated_matrix, rating_matrix, similarity_graph, to_torch_sparse


def _float32(method):
    """Run ``method`` outside any autocast (CUDA or CPU): the shift powers are computed once, cached and
    reused, so they are kept in float32 even when the first call comes from a mixed-precision
    training step (where sparse products would otherwise come back in bf16)."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with torch.autocast("cuda", enabled=False), torch.autocast("cpu", enabled=False):
            return method(*args, **kwargs)

    return wrapper


#: Shrinkage of the user and item means towards the global mean, in ratings: a user's mean is
#: (sum + USER_PRIOR * global mean) / (count + USER_PRIOR), and likewise for items.
USER_PRIOR = 5.0
ITEM_PRIOR = 10.0


@dataclass
class RatingContext:
    """The training ratings and item graph a run's models condition on.

    Attributes:
        n_users, n_items: sizes of the ID maps.
        users, items, ratings: the training ratings, as index arrays (the message edges of GC-MC).
        shift: the item-similarity shift operator (scipy CSR [n_items, n_items]), or None.
        levels: the distinct rating values, ascending (GC-MC's rating levels).
        folds: for training only, the item graphs built without the ratings of each fold of users
            (user index % len(folds)): a training pair of a user in fold g is scored on graph g,
            which holds nothing of that user's ratings, as a test rating is absent from the graph.
        user_side, item_side: side features [n_users, F] and [n_items, F'] (float32), or None
            (:mod:`~gnncli.domains.ratings.features`).
    """

    n_users: int
    n_items: int
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    shift: sp.csr_matrix | None = None
    levels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    folds: list = field(default_factory=list)
    user_side: np.ndarray | None = None
    item_side: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.R = rating_matrix(self.users, self.items, self.ratings, self.n_users, self.n_items).astype(np.float32)
        self.M = rated_matrix(self.users, self.items, self.n_users, self.n_items).astype(np.float32)

    @classmethod
    def build(cls, users, items, ratings, n_users: int, n_items: int, *, knn: int | None = 40, levels=None,
              min_common: int = 1, folds: int = 0) -> RatingContext:
        """The context of these training ratings; ``knn=None`` skips the item graph; ``folds`` > 1
        also builds the training graphs of that many folds of users."""
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        ratings = np.asarray(ratings, np.float64)
        shift, fold_graphs = None, []
        if knn is not None:
            shift = similarity_graph(users, items, ratings, n_users, n_items, knn=knn, min_common=min_common)
            for g in range(folds if folds > 1 else 0):
                other = users % folds != g
                fold_graphs.append(similarity_graph(users[other], items[other], ratings[other], n_users, n_items,
                                                    knn=knn, min_common=min_common))
        if levels is None:
            levels = np.unique(ratings)
        return cls(n_users, n_items, users, items, ratings.astype(np.float32), shift, np.asarray(levels, np.float32),
                   fold_graphs)

    def graph(self, graph: int | None) -> sp.csr_matrix:
        """The full graph (None) or fold ``graph``'s."""
        if graph is None:
            if self.shift is None:
                raise ValueError("this run has no item graph")
            return self.shift
        return self.folds[graph]

    def with_shift(self, shift: sp.csr_matrix) -> RatingContext:
        """The same ratings on another item graph (transference)."""
        return replace(self, shift=shift, folds=[], _cache={})

    # -- what the models read, on their device -----------------------------------------------------
    def shift_operator(self, device, graph: int | None = None) -> torch.Tensor:
        """S (or fold ``graph``'s) as a torch sparse tensor on ``device`` (made once per device)."""
        key = ("shift", graph, str(device))
        if key not in self._cache:
            self._cache[key] = to_torch_sparse(self.graph(graph)).to(device)
        return self._cache[key]

    @_float32
    def user_shifts(self, taps: int, device, graph: int | None = None) -> torch.Tensor:
        """Every user's whole training signal shifted 0 .. taps-1 times: [taps, n_users, n_items, 2]
        (channel 0: ratings, 1: rated indicator). Made once per context, in one sparse product per
        power for all users at once; a pair's own signal is this less a rank-one term
        (:meth:`diag_powers`), so no signal is ever shifted per pair."""
        key = ("user_shifts", taps, graph, str(device))
        if key not in self._cache:
            S = self.shift_operator(device, graph)
            X = torch.stack([torch.as_tensor(self.R.toarray()), torch.as_tensor(self.M.toarray())], dim=-1)
            X = X.to(device).transpose(0, 1).reshape(self.n_items, -1)  # [N, U * 2]
            out = [X]
            for _ in range(1, taps):
                out.append(torch.sparse.mm(S, out[-1]))
            self._cache[key] = torch.stack([z.view(self.n_items, self.n_users, 2).transpose(0, 1) for z in out]).contiguous()
        return self._cache[key]

    @_float32
    def diag_powers(self, taps: int, device, graph: int | None = None) -> torch.Tensor:
        """diag(S^k) for k < taps: [taps, n_items]."""
        key = ("diag_powers", taps, graph, str(device))
        if key not in self._cache:
            S = self.shift_operator(device, graph)
            n = self.n_items
            out = torch.zeros(taps, n, device=device)
            out[0] = 1.0
            block = 1024
            for start in range(0, n, block):
                cols = torch.arange(start, min(start + block, n), device=device)
                Z = torch.zeros(n, len(cols), device=device)
                Z[cols, torch.arange(len(cols), device=device)] = 1.0
                for k in range(1, taps):
                    Z = torch.sparse.mm(S, Z)
                    out[k, cols] = Z[cols, torch.arange(len(cols), device=device)]
            self._cache[key] = out
        return self._cache[key]

    @_float32
    def stats(self, taps: int, device, graph: int | None = None) -> dict[str, torch.Tensor]:
        """Rating sums and counts per user and per item, the global mean, each item's bias
        (its mean's shrunk deviation from the global mean, :data:`ITEM_PRIOR`), and that bias
        signal shifted: ``bias_shifts`` [taps, n_items]."""
        key = ("stats", taps, graph, str(device))
        if key not in self._cache:
            mean = float(self.ratings.mean()) if len(self.ratings) else 0.0
            t = lambda a: torch.as_tensor(np.asarray(a, np.float32).ravel(), device=device)  # noqa: E731
            out = {"user_sum": t(self.R.sum(1)), "user_cnt": t(self.M.sum(1)), "item_sum": t(self.R.sum(0)),
                   "item_cnt": t(self.M.sum(0)), "mean": torch.tensor(mean, device=device)}
            out["bias"] = (out["item_sum"] - out["item_cnt"] * mean) / (out["item_cnt"] + ITEM_PRIOR)
            shifted = [out["bias"]]
            if self.shift is not None:
                S = self.shift_operator(device, graph)
                for _ in range(1, taps):
                    shifted.append(torch.sparse.mm(S, shifted[-1].unsqueeze(1)).squeeze(1))
            out["bias_shifts"] = torch.stack(shifted)
            self._cache[key] = out
        return self._cache[key]

    def own(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[B, 2]: each pair's own training rating and indicator (0, 0 when it is not a training rating)."""
        if not len(users):
            return np.zeros((0, 2), np.float32)
        x = np.asarray(self.R[users, items]).ravel()
        m = np.asarray(self.M[users, items]).ravel()
        return np.stack([x, m], axis=1).astype(np.float32)

    def cold_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """What a pair of a user or an item with no training rating (index -1) is scored: the
        known user's shrunk mean rating (:data:`USER_PRIOR`), else the known item's
        (:data:`ITEM_PRIOR`), else the global mean of the training ratings. [B] float64."""
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        mean = float(self.ratings.mean()) if len(self.ratings) else 0.0
        out = np.full(len(users), mean)
        for idx, matrix, axis, prior in ((items, self.R, 0, ITEM_PRIOR), (users, self.R, 1, USER_PRIOR)):
            known = idx >= 0
            if known.any():
                sums = np.asarray(matrix.sum(axis)).ravel()[idx[known]]
                counts = np.asarray(self.M.sum(axis)).ravel()[idx[known]]
                out[known] = (sums + prior * mean) / (counts + prior)
        return out

    def edges(self, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The training ratings as (user, item, level index) tensors on ``device``."""
        key = ("edges", str(device))
        if key not in self._cache:
            level = np.searchsorted(self.levels, self.ratings)
            self._cache[key] = tuple(torch.as_tensor(a, dtype=torch.long).to(device)
                                     for a in (self.users, self.items, level))
        return self._cache[key]

    def item_columns(self, device) -> torch.Tensor:
        """Each item's training ratings over the users, dense [n_items, n_users] (0 where unrated):
        the item-based autoencoder's input."""
        key = ("item_columns", str(device))
        if key not in self._cache:
            self._cache[key] = torch.as_tensor(self.R.T.toarray(), dtype=torch.float32).to(device)
        return self._cache[key]

    def side(self, device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The users' and items' side features on ``device`` (None where there are none)."""
        key = ("side", str(device))
        if key not in self._cache:
            self._cache[key] = tuple(None if a is None else torch.as_tensor(a, dtype=torch.float32).to(device)
                                     for a in (self.user_side, self.item_side))
        return self._cache[key]

    def signals(self, users: np.ndarray, items: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's signal over the items: the user's training ratings [B, n_items] (0 where
        unrated) and which items are rated [B, n_items], with the pair's own item left out.
        ``items=None`` leaves nothing out (a user's whole signal)."""
        x = self.R[users].toarray()
        m = self.M[users].toarray()
        if items is not None and len(users):
            rows = np.arange(len(users))
            x[rows, items] = 0.0
            m[rows, items] = 0.0
        return x, m

    def state(self) -> dict:
        """Tensors to save in the run folder (loaded back with :meth:`from_state`)."""
        out = {"n_users": self.n_users, "n_items": self.n_items, "users": torch.as_tensor(self.users),
               "items": torch.as_tensor(self.items), "ratings": torch.as_tensor(self.ratings),
               "levels": torch.as_tensor(self.levels)}
        if self.shift is not None:
            coo = self.shift.tocoo()
            out.update(shift_row=torch.as_tensor(coo.row.astype(np.int64)), shift_col=torch.as_tensor(coo.col.astype(np.int64)),
                       shift_val=torch.as_tensor(coo.data.astype(np.float32)))
        for name in ("user_side", "item_side"):
            if getattr(self, name) is not None:
                out[name] = torch.as_tensor(getattr(self, name))
        return out

    @classmethod
    def from_state(cls, state: dict) -> RatingContext:
        n_items = int(state["n_items"])
        shift = None
        if "shift_row" in state:
            shift = sp.csr_matrix((state["shift_val"].numpy(), (state["shift_row"].numpy(), state["shift_col"].numpy())),
                                  shape=(n_items, n_items))
        side = {name: state[name].numpy() for name in ("user_side", "item_side") if name in state}
        return cls(int(state["n_users"]), n_items, state["users"].numpy(), state["items"].numpy(),
                   state["ratings"].numpy(), shift, state["levels"].numpy(), **side)


@dataclass
class RatingBatch:
    """(user, item) pairs, and the context they are scored in.

    Attributes:
        users, items: [B] indices into the context's ID maps.
        y: [B] ratings (NaN where unknown, in prediction).
        part: [B] which part of the data each pair is from (0 train, 1 validation, 2 test).
        edge: [B] each pair's position among the context's training ratings (-1 if not one).
        own: [B, 2] each pair's own training rating and indicator (0, 0 if not a training rating):
            what leaving the pair out of its user's signal takes away.
        x, m: [B, n_items] the pairs' signals and rated indicators, the pair's own item left out
            (the baselines on the raw rating vector only).
        graph: the item graph the pairs are scored on: None for the full graph; while training
            with folds, :meth:`by_graph` splits a batch into one per fold graph.
        penalty: a term a model's forward sets while training, which the loss adds (the kernelized
            autoencoder's penalty on its weights, and what makes the loss its members' own errors;
            None for the other models).
    """

    users: torch.Tensor
    items: torch.Tensor
    y: torch.Tensor
    context: RatingContext
    part: torch.Tensor | None = None
    edge: torch.Tensor | None = None
    own: torch.Tensor | None = None
    x: torch.Tensor | None = None
    m: torch.Tensor | None = None
    graph: int | None = None
    folds: bool = False
    penalty: torch.Tensor | None = None

    @property
    def num_items(self) -> int:
        return int(self.users.numel())

    def __len__(self) -> int:
        return self.num_items

    def to(self, device) -> RatingBatch:
        move = {k: (getattr(self, k).to(device) if getattr(self, k) is not None else None)
                for k in ("users", "items", "y", "part", "edge", "own", "x", "m")}
        return RatingBatch(context=self.context, graph=self.graph, folds=self.folds, **move)

    def by_graph(self) -> list[tuple[torch.Tensor | None, RatingBatch]]:
        """``(positions, sub-batch)`` per item graph the pairs are scored on: the whole batch on the
        full graph, or, for a training batch with folds, each fold's users on their fold's graph."""
        n = len(self.context.folds)
        if not self.folds or n < 2:
            return [(None, self)]
        out = []
        for g in range(n):
            pos = torch.nonzero(self.users % n == g).squeeze(1)
            if pos.numel():
                part = {k: (getattr(self, k)[pos] if getattr(self, k) is not None else None)
                        for k in ("users", "items", "y", "part", "edge", "own", "x", "m")}
                out.append((pos, RatingBatch(context=self.context, graph=g, **part)))
        return out


class RatingLoader:
    """Batches of pairs ``users[indices]``/``items[indices]`` in the context, in order or shuffled.

    ``signals`` builds each pair's whole signal (the baselines); ``edge`` maps a pair to its
    position among the training ratings (for GC-MC's supervision edges)."""

    def __init__(self, context: RatingContext, users, items, ratings, *, batch_size: int = 256,
                 shuffle: bool = False, generator: torch.Generator | None = None, signals: bool = True,
                 part=None, edge=None, folds: bool = False) -> None:
        self.context = context
        self.users, self.items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        self.ratings = np.asarray(ratings, np.float32)
        self.part = None if part is None else np.asarray(part, np.int64)
        self.edge = None if edge is None else np.asarray(edge, np.int64)
        self.batch_size = max(1, int(batch_size))
        self.shuffle, self.generator, self.signals, self.folds = shuffle, generator, signals, folds

    def __len__(self) -> int:
        return math.ceil(len(self.users) / self.batch_size)

    def __iter__(self):
        n = len(self.users)
        order = torch.randperm(n, generator=self.generator).numpy() if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.batch(idx)

    def batch(self, idx: np.ndarray) -> RatingBatch:
        users, items = self.users[idx], self.items[idx]
        x = m = None
        if self.signals:
            xs, ms = self.context.signals(users, items)
            x, m = torch.from_numpy(xs), torch.from_numpy(ms)
        return RatingBatch(
            torch.from_numpy(users), torch.from_numpy(items), torch.from_numpy(self.ratings[idx]), self.context,
            part=None if self.part is None else torch.from_numpy(self.part[idx]),
            edge=None if self.edge is None else torch.from_numpy(self.edge[idx]),
            own=torch.from_numpy(self.context.own(users, items)), x=x, m=m, folds=self.folds,
        )


# ------------------------------------------------------------------------------------- splits


def split_ratings(kind: str, n: int, sizes, seed: int, *, users=None, timestamps=None, given_test: int = 0,
                  source: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) row indices of ``n`` ratings.

    ``random``: ratings shuffled and cut by ``sizes``. ``user``: each user's ratings are split by
    ``sizes`` (per-user holdout; a user keeps at least one training rating). ``time``: ratings in
    time order, the oldest for training and the newest for test. ``given_test`` > 0: the last
    ``given_test`` rows are a given test file, and the rest splits into train and validation in the
    proportion of ``sizes[0]:sizes[1]``.
    """
    from gnncli.errors import InputError
    from gnncli.train.splits import random_split

    rng = np.random.default_rng(seed)
    if given_test:
        m = n - given_test
        frac = sizes[1] / max(sizes[0] + sizes[1], 1e-12)
        order = rng.permutation(m)
        n_val = int(round(frac * m))
        return np.sort(order[n_val:]), np.sort(order[:n_val]), np.arange(m, n)
    if kind == "random":
        train, val, test = random_split(n, sizes, seed)
        return np.sort(train), np.sort(val), np.sort(test)
    if kind == "user":
        users = np.asarray(users)
        order = rng.permutation(n)
        by_user = order[np.argsort(users[order], kind="stable")]
        bounds = np.flatnonzero(np.diff(users[by_user])) + 1
        train, val, test = [], [], []
        for group in np.split(by_user, bounds):
            k = len(group)
            n_test = min(int(round(sizes[2] * k)), k - 1)  # a user keeps one rating to train on
            n_val = min(int(round(sizes[1] * k)), k - 1 - n_test)
            test.append(group[:n_test])
            val.append(group[n_test:n_test + n_val])
            train.append(group[n_test + n_val:])
        return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in (train, val, test))  # type: ignore[return-value]
    if kind == "time":
        if timestamps is None:
            raise InputError(f"{source}: --split time needs a timestamp column (name it with --time-col)")
        order = np.argsort(np.asarray(timestamps), kind="stable")
        n_train = int(round(sizes[0] * n))
        n_val = min(int(round(sizes[1] * n)), n - n_train)
        return np.sort(order[:n_train]), np.sort(order[n_train:n_train + n_val]), np.sort(order[n_train + n_val:])
    raise ValueError(kind)
