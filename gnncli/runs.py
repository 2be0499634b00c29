"""The run folder: layout, saving members, loading a trained run back without unpickling code.

    RUN/
      config.json            everything needed to rebuild featurizer, model, task and data
      models/model_<i>.pt    the weights of each member (ensemble member or fold)
      state/member_<i>.pt    resumable state of a member still training (removed when done)
      splits.json            the row indices of each member's train/val/test sets
      metrics.csv            one row per member and epoch
      metrics.json           final validation and test metrics
      test_predictions.csv   the test rows with true and predicted values
      learning_curve.png, parity.png or roc.png
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from gnncli.errors import CheckpointError
from gnncli.featurizers.molecule import MoleculeFeaturizer
from gnncli.io import load_tensors, read_json, save_tensors
from gnncli.models import GraphModel, ModelConfig, build_model
from gnncli.tasks import GraphPropertyTask
from gnncli.train.scaler import TargetScaler

FORMAT_VERSION = 1


def model_path(run: Path, member: int) -> Path:
    return run / "models" / f"model_{member}.pt"


def state_path(run: Path, member: int) -> Path:
    return run / "state" / f"member_{member}.pt"


def save_member(run: Path, member: int, state_dict: dict) -> None:
    save_tensors(model_path(run, member), {"format": FORMAT_VERSION, "state_dict": state_dict})


@dataclass
class TrainedRun:
    """A trained run loaded back: config, featurizer, task and member models (on CPU, eval mode)."""

    path: Path
    config: dict
    featurizer: MoleculeFeaturizer
    task: GraphPropertyTask
    models: list[GraphModel]

    @property
    def targets(self) -> list[str]:
        return self.task.targets

    def for_inference(self, device: torch.device | str = "cpu") -> TrainedRun:
        """This run with inference copies of its models on ``device`` (see
        :meth:`GraphModel.for_inference`); this run keeps its own, trainable ones."""
        return replace(self, models=[copy.deepcopy(m).to(device).for_inference() for m in self.models])


def load_run(path: str | Path) -> TrainedRun:
    """Load a run folder written by ``gnn train``; raises CheckpointError naming the bad file."""
    run = Path(path)
    if not run.is_dir():
        raise CheckpointError(f"{run}: not a run folder (expected the --out folder of gnn train)")
    config_file = run / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{run}: not a run folder (no config.json; expected the --out folder of gnn train)")
    config = read_json(config_file)
    try:
        if config.get("format") != FORMAT_VERSION:
            raise CheckpointError(f"{config_file}: run format {config.get('format')} is not supported (expected {FORMAT_VERSION})")
        try:
            featurizer = MoleculeFeaturizer.from_spec(config["featurizer"])
        except ValueError as exc:
            raise CheckpointError(f"{config_file}: made with another featurizer: {exc}") from None
        task = GraphPropertyTask(
            config["task"]["type"], list(config["task"]["targets"]),
            TargetScaler.from_dict(config["task"]["scaler"]), config["task"].get("monitor", ""),
        )
        model_config = ModelConfig.from_dict(config["model"])
        members = int(config["members"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{config_file}: incomplete or invalid config ({exc!r})") from None
    models = []
    for i in range(members):
        file = model_path(run, i)
        if not file.is_file():
            raise CheckpointError(f"{file}: missing (the run did not finish; continue it with gnn train --resume {run})")
        saved = load_tensors(file)
        model = build_model(model_config)
        try:
            model.load_state_dict(saved["state_dict"])
        except (KeyError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"{file}: weights do not fit the model in config.json ({first})") from None
        model.eval()
        models.append(model)
    return TrainedRun(run, config, featurizer, task, models)
