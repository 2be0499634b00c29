"""The run folder: layout, saving members, loading a trained run back without unpickling code.

    RUN/
      config.json            what rebuilds the run: its kind of input, featurizer, model, task, options
      models/model_<i>.pt    the weights of each member (ensemble member or fold), and its task state
      state/member_<i>.pt    resumable state of a member still training (removed when done)
      splits.json            the item indices of each member's train/val/test sets
      metrics.csv            one row per member and epoch
      metrics.json           final validation and test metrics
      test_predictions.csv   the test rows with true and predicted values
      learning_curve.png, and the domain's test plots (parity.png or roc.png for properties)

``config.json`` names the run's kind of input (``kind``); :func:`load_run` rebuilds the featurizer
and task through that domain. Format 2 (this release) added ``kind``-specific entries under
``domain``; runs of format 1 (molecules only) are read as they are.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gnncli.errors import CheckpointError, UsageError
from gnncli.io import load_tensors, read_json, save_tensors

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)


def model_path(run: Path, member: int) -> Path:
    return run / "models" / f"model_{member}.pt"


def state_path(run: Path, member: int) -> Path:
    return run / "state" / f"member_{member}.pt"


def save_member(run: Path, member: int, state_dict: dict, task_state: dict | None = None) -> None:
    saved = {"format": FORMAT_VERSION, "state_dict": state_dict}
    if task_state is not None:
        saved["task_state"] = task_state
    save_tensors(model_path(run, member), saved)


def upgrade_config(config: dict) -> dict:
    """A run's ``config.json`` in this release's layout: format 1 named the model ``encoder`` and
    had no ``domain`` entry; what else its kind of input kept elsewhere, that domain moves
    (:meth:`Domain.upgrade_config <gnncli.domains.base.Domain.upgrade_config>`)."""
    from gnncli.kinds import KINDS, get_domain

    found = config.get("format")
    if found == FORMAT_VERSION:
        return config
    config = dict(config)
    config["format"] = FORMAT_VERSION
    config.setdefault("domain", {})
    if isinstance(config.get("model"), dict) and "encoder" in config["model"]:
        model = dict(config["model"])
        model["name"] = model.pop("encoder")
        config["model"] = model
    if config.get("kind") in KINDS:
        config = get_domain(config["kind"]).upgrade_config(config, found)
    return config


@dataclass
class TrainedRun:
    """A trained run loaded back: config, its kind of input, featurizer, task and member models
    (on CPU, eval mode), with each member's task state where the task has one."""

    path: Path
    config: dict
    featurizer: Any
    task: Any
    models: list[nn.Module]
    domain: Any = None
    task_states: list[dict | None] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def targets(self) -> list[str]:
        return list(getattr(self.task, "targets", []))

    def for_inference(self, device: torch.device | str = "cpu") -> TrainedRun:
        """This run with inference copies of its models on ``device`` (a model's ``for_inference``,
        where it has one, may swap in a faster equivalent); this run keeps its own, trainable ones."""
        copies = []
        for model in self.models:
            twin = copy.deepcopy(model).to(device)
            copies.append(twin.for_inference() if hasattr(twin, "for_inference") else twin.eval())
        return replace(self, models=copies)


def load_run(path: str | Path) -> TrainedRun:
    """Load a run folder written by ``gnn train``; raises CheckpointError naming the bad file."""
    from gnncli.kinds import get_domain
    from gnncli.models import ModelConfig, build_model

    run = Path(path)
    if not run.is_dir():
        raise CheckpointError(f"{run}: not a run folder (expected the --out folder of gnn train)")
    config_file = run / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{run}: not a run folder (no config.json; expected the --out folder of gnn train)")
    config = read_json(config_file)
    if not isinstance(config, dict) or config.get("format") not in READABLE_FORMATS:
        found = config.get("format") if isinstance(config, dict) else None
        raise CheckpointError(f"{config_file}: run format {found} is not supported (expected {FORMAT_VERSION})")
    config = upgrade_config(config)
    try:
        domain = get_domain(config["kind"])
    except (KeyError, UsageError):
        raise CheckpointError(f"{config_file}: unknown kind of input '{config.get('kind')}'") from None
    try:
        featurizer = domain.load_featurizer(config)
    except ValueError as exc:
        raise CheckpointError(f"{config_file}: made with another featurizer: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{config_file}: incomplete or invalid featurizer entry ({exc!r})") from None
    try:
        task = domain.load_task(config)
        model_config = ModelConfig.from_dict(config["model"])
        members = int(config["members"])
    except KeyError as exc:
        raise CheckpointError(f"{config_file}: incomplete config (no {exc})") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{config_file}: invalid config ({exc})") from None
    models, task_states = [], []
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
        task_states.append(saved.get("task_state"))
    return TrainedRun(run, config, featurizer, task, models, domain, task_states)
