"""A kind of input defined only here, to show that a domain is one module and a registration.

Graphs are generated on the fly (no training file): each node has a "gain", and the model
gives each node a level p in (0, 1). There are no labels: the loss is a Lagrangian of the
outputs alone, reward sum_i log(1 + p_i g_i / (1 + sum_{j~i} p_j)) minus a dual variable times
the budget slack (mean p - budget), and the dual variable is the task's state, updated by
dual ascent after every batch. Input files for predict/embed (``.toy``) hold one graph per
line: ``nodes seed``.

Nothing in ``gnncli`` knows this module: :func:`register` adds it to the registries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch_geometric.utils import scatter

from gnncli.domains import DOMAINS, Dataset, Domain, DomainOption, register_domain
from gnncli.domains.pack import GraphPack, PackLoader
from gnncli.errors import InputError
from gnncli.inference import results_stream
from gnncli.models import MODELS, register_model
from gnncli.train.evaluate import member_groups

BUDGET = 0.3
DUAL_STEP = 0.5


def toy_graphs(sizes: list[int], seeds: list[int]) -> GraphPack:
    """Rings with one chord each; node features ``[gain, 1]``."""
    xs, edges, n_edges = [], [], []
    for n, seed in zip(sizes, seeds):
        rng = np.random.default_rng(seed)
        ring = np.stack([np.arange(n), (np.arange(n) + 1) % n])
        chord = np.array([[0], [n // 2]])
        e = np.concatenate([ring, chord], axis=1)
        e = np.concatenate([e, e[::-1]], axis=1)  # both directions
        xs.append(np.stack([rng.uniform(0.1, 2.0, n), np.ones(n)], axis=1))
        edges.append(e)
        n_edges.append(e.shape[1])
    return GraphPack.from_arrays(np.concatenate(xs), np.concatenate(edges, axis=1), None,
                                 np.asarray(sizes), np.asarray(n_edges))


class ToyModel(nn.Module):
    """One output per node from a node MLP and one round of neighbour averaging."""

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config
        self.lin = nn.Linear(config.in_channels, config.hidden)
        self.mix = nn.Linear(2 * config.hidden, config.hidden)
        self.head = nn.Linear(config.hidden, config.out_channels)

    def embed(self, batch) -> torch.Tensor:
        h = torch.relu(self.lin(batch.x))
        agg = scatter(h[batch.edge_index[0]], batch.edge_index[1], dim=0, dim_size=h.size(0), reduce="mean")
        return torch.relu(self.mix(torch.cat([h, agg], dim=1)))

    def forward(self, batch) -> torch.Tensor:
        return self.head(self.embed(batch))


class ToyTask:
    """Label-free: a Lagrangian of the outputs, with a dual variable as its state."""

    monitor = "reward"
    higher_is_better = True
    targets = ["level"]  # what the core's prediction table calls the graph-level output

    def __init__(self, budget: float = BUDGET, dual: float = 0.0) -> None:
        self.budget = budget
        self.dual = torch.tensor(dual)

    def metrics(self) -> dict[str, bool]:
        return {"reward": True, "slack": False}

    def objective(self, output, batch):
        p = torch.sigmoid(output[:, 0])
        interference = scatter(p[batch.edge_index[0]], batch.edge_index[1], dim=0, dim_size=p.size(0), reduce="sum")
        reward = torch.log1p(p * batch.x[:, 0] / (1 + interference)).mean()
        return reward, p.mean() - self.budget

    def loss(self, output, batch):
        reward, slack = self.objective(output, batch)
        loss = -reward + self.dual.to(output.device) * slack
        with torch.no_grad():  # dual ascent: the state the loop must save and restore
            self.dual = torch.clamp(self.dual + DUAL_STEP * slack.detach().cpu(), min=0.0)
        return loss

    @torch.no_grad()
    def evaluate(self, model, loader, device) -> dict:
        model.eval()
        rewards, slacks = [], []
        for batch in loader:
            batch = batch.to(device)
            reward, slack = self.objective(model(batch).float(), batch)
            rewards.append(float(reward))
            slacks.append(float(slack))
        reward, slack = float(np.mean(rewards)), float(np.mean(slacks))
        return {"reward": reward, "slack": slack, "loss": -reward + float(self.dual) * slack}

    def state_dict(self) -> dict:
        return {"dual": self.dual.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.dual = state["dual"].clone()

    def to_config(self) -> dict:
        return {"budget": self.budget}


class ToyDataset(Dataset):
    """Fixed validation and test graphs; training graphs generated anew for every batch."""

    def train_loader(self, indices, *, batch_size: int, seed: int, epoch: int):
        step = 0
        nodes = self.extra["nodes"]
        while True:  # no end: the loop takes steps_per_epoch batches
            seeds = [seed * 1_000_003 + epoch * 10_007 + step * 101 + i for i in range(batch_size)]
            yield toy_graphs([nodes] * batch_size, seeds).batch(range(batch_size))
            step += 1


def read_toy(path: str) -> pd.DataFrame:
    lines = Path(path).read_text().splitlines()
    rows = []
    for line in lines:
        parts = line.split()
        rows.append({"nodes": parts[0] if parts else "", "seed": parts[1] if len(parts) > 1 else ""})
    return pd.DataFrame(rows, dtype=object)


class ToyDomain(Domain):
    name = "toy"
    title = "Toy graphs (a test's)"
    extensions = (".toy",)
    tasks = ("lagrangian",)
    splits = ("generated",)
    default_model = "toy-mlp"
    options = (DomainOption("toy_nodes", int, "Nodes per generated graph (train).", commands=("train",)),
               DomainOption("graph_rows", bool, "Predict: one row per graph instead of per node.", commands=("predict",)))

    def check_split(self, split: str) -> None:  # generated data: the core's "random" default is fine too
        pass

    def prepare(self, opts, reporter, *, featurizer=None) -> ToyDataset:
        nodes = opts.options.get("toy_nodes") or 6
        if nodes < 3:
            raise InputError(f"--toy-nodes {nodes}: a toy graph needs at least 3 nodes")
        pack = toy_graphs([nodes] * 16, list(range(10**6, 10**6 + 16)))  # 8 validation, 8 test graphs
        return ToyDataset("generated", pack, [], "lagrangian", unit="graphs", counts={"generated": 16},
                          extra={"nodes": nodes}, steps_per_epoch=4)

    def split(self, opts, data):
        return [(np.zeros(0, np.int64), np.arange(8), np.arange(8, 16))] * opts.ensemble

    def make_task(self, data, opts, train_rows) -> ToyTask:
        return ToyTask()

    def load_task(self, config: dict) -> ToyTask:
        return ToyTask(config["task"]["budget"])

    def model_config(self, data, model):
        from gnncli.models import ModelConfig

        return ModelConfig.from_dict({**model.to_dict(), "in_channels": 2, "out_channels": 1, "level": "node"})

    def evaluate(self, ctx) -> dict:
        from gnncli.runs import load_run

        trained = load_run(ctx.run)
        tests = []
        for (_, _, test_idx), members in member_groups(ctx.opts, ctx.splits):
            for m in members:
                task = ToyTask()
                task.load_state_dict(trained.task_states[m])
                tests.append(task.evaluate(trained.models[m], PackLoader(ctx.data.pack, indices=test_idx), torch.device("cpu")))
        test = {k: float(np.mean([t[k] for t in tests])) for k in tests[0]}
        return {"run": str(ctx.run), "kind": self.name, "task": "lagrangian", "model": ctx.opts.model.name,
                "members": len(ctx.splits), "split": "generated", "unit": "graphs",
                "graphs": {"train": 0, "val": 8, "test": 8}, "val": {}, "test": test,
                "dual": [float(s["dual"]) for s in trained.task_states]}

    def _graphs(self, inputs):
        for path in inputs:
            frame = read_toy(path)
            valid, errors, sizes, seeds = [], {}, [], []
            for i, (n, s) in enumerate(zip(frame["nodes"], frame["seed"])):
                if not str(n).isdigit() or not str(s).isdigit() or int(n) < 3:
                    errors[i] = f"{path}: line {i + 1}: expected 'nodes seed' with nodes >= 3"
                    continue
                valid.append(i)
                sizes.append(int(n))
                seeds.append(int(s))
            yield path, frame, np.asarray(valid, np.int64), errors, toy_graphs(sizes, seeds) if sizes else None

    def infer(self, run, inputs, *, options, settings, embed=False):
        """Graph-level outputs for the core's table writers: each graph's mean node output."""
        for _, frame, valid, errors, pack in self._graphs(inputs):
            if pack is None:
                yield frame, None, valid, errors
                continue
            batch = pack.batch(range(len(pack)))
            with torch.no_grad():
                if embed:
                    out = scatter(run.models[settings.member].embed(batch), batch.batch, dim=0, reduce="mean").numpy()
                else:
                    out = np.stack([scatter(torch.sigmoid(m(batch)), batch.batch, dim=0, reduce="mean").numpy()
                                    for m in run.models])
            yield frame, out, valid, errors

    def predict(self, run, inputs, out, *, options, settings, reporter):
        """One row per node (``file,line,node,level``), unless ``--graph-rows`` asks for the core's table."""
        if options.get("graph_rows"):
            return super().predict(run, inputs, out, options=options, settings=settings, reporter=reporter)
        counts = {"rows": 0, "predicted": 0, "invalid": 0}
        rows = []
        for path, frame, valid, errors, pack in self._graphs(inputs):
            counts["rows"] += len(frame)
            counts["invalid"] += len(errors)
            counts["predicted"] += len(valid)
            for i, reason in errors.items():
                rows.append({"file": path, "line": i + 1, "node": "", "level": "", "error": reason})
            if pack is None:
                continue
            with torch.no_grad():
                levels = torch.stack([torch.sigmoid(m(pack.batch(range(len(pack)))))[:, 0] for m in run.models]).mean(0)
            ptr = pack.node_ptr.tolist()
            for g, line in enumerate(valid):
                for node in range(ptr[g + 1] - ptr[g]):
                    rows.append({"file": path, "line": int(line) + 1, "node": node,
                                 "level": round(float(levels[ptr[g] + node]), 6), "error": ""})
        with results_stream(out) as stream:  # a path, a stream, or stdout
            pd.DataFrame(rows).sort_values(["file", "line"], kind="mergesort").to_csv(stream, index=False)
        return counts


def register() -> None:
    register_domain("toy", ToyDomain)
    register_model("toy-mlp", ToyModel, domains=("toy",), defaults={"hidden": 16}, help="a test's node MLP")


def unregister() -> None:
    DOMAINS.unregister("toy")
    MODELS.unregister("toy-mlp")


__all__ = ["ToyDomain", "ToyTask", "register", "unregister"]
