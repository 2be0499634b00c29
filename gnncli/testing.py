"""Tiny data factories and property checks reused by the tests (and handy in notebooks)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from gnncli.domains.pack import GraphPack
from gnncli.featurizers.molecule import MoleculeFeaturizer, featurize_batch
from gnncli.progress import Reporter

#: Small, varied, valid molecules (rings, charges, stereo, halogens, a lone atom).
SMILES = [
    "CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "CN1CCC[C@H]1c1cccnc1", "F/C=C/F", "C[N+](C)(C)C",
    "O=C([O-])CC", "C1CCC2CCCCC2C1", "Clc1ccc(Br)cc1", "CC(C)(C)OC(=O)N", "C#N", "[Na+]",
    "c1ccc2[nH]ccc2c1", "OCC(O)CO", "CC(=O)N[C@@H](C)C(=O)O", "C1CC1C(F)(F)F",
]


def molecule_pack(smiles: list[str] | None = None) -> GraphPack:
    """Featurize ``smiles`` (default :data:`SMILES`) into a pack."""
    x, ei, ea, na, ne, errors = featurize_batch(MoleculeFeaturizer(), smiles or SMILES)
    if errors:
        raise ValueError(f"invalid test SMILES: {errors}")
    return GraphPack.from_arrays(x, ei, ea, na, ne)


def permute_graph(data: Data, perm: torch.Tensor) -> Data:
    """Relabel nodes: new node ``i`` is old node ``perm[i]``. Keeps edge pairs (e, e^1) together."""
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel())
    return Data(x=data.x[perm], edge_index=inverse[data.edge_index], edge_attr=data.edge_attr, num_nodes=data.num_nodes)


def assert_permutation_invariant(model: torch.nn.Module, data: Data, *, seed: int = 0, atol: float = 1e-5) -> None:
    """Raise AssertionError unless ``model`` gives the same output for ``data`` under a node relabelling."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(data.num_nodes, generator=gen)
    model.eval()
    with torch.no_grad():
        a = model(Batch.from_data_list([data]))
        b = model(Batch.from_data_list([permute_graph(data, perm)]))
    if not torch.allclose(a, b, atol=atol):
        raise AssertionError(f"output changed under node permutation: max diff {float((a - b).abs().max()):.3g}")


def write_molecule_csv(path: str | Path, n: int = 60, *, seed: int = 0, classification: bool = False,
                       extra_rows: list[list[str]] | None = None) -> Path:
    """A CSV of ``n`` molecules with a computed target (``logp``, or ``active`` = logP > 1.5)."""
    from rdkit import Chem
    from rdkit.Chem import Crippen

    from gnncli.domains.molecules import BUNDLED_DATA

    rng = np.random.default_rng(seed)
    with open(BUNDLED_DATA) as handle:
        pool = [row["smiles"] for row in csv.DictReader(handle)]
    chosen = [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]
    path = Path(path)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "smiles", "active" if classification else "logp"])
        for i, smi in enumerate(chosen):
            logp = Crippen.MolLogP(Chem.MolFromSmiles(smi))
            writer.writerow([f"m{i}", smi, int(logp > 1.5) if classification else round(logp, 4)])
        for row in extra_rows or []:
            writer.writerow(row)
    return path


class InterruptAfterEpochs(Reporter):
    """A silent reporter that simulates Ctrl-C once training has finished ``n`` epochs (to test
    that an interrupted run resumes exactly where it stopped)."""

    def __init__(self, n: int) -> None:
        super().__init__(None)
        self.n, self.seen = n, 0

    def advance(self, task, amount: float = 1, **fields) -> None:
        if "info" in fields and "val" in fields["info"]:  # the training bar's per-epoch update
            self.seen += 1
            if self.seen == self.n:
                raise KeyboardInterrupt
