"""Mean-variance estimation: a mean and a variance per target, trained with the Gaussian
negative log-likelihood (Nix & Weigend 1994; Chemprop's ``regression-mve``).

The model gives ``2 T`` outputs per graph: the standardized mean of each target, then the log
of its variance in standardized units. A log-variance (rather than Chemprop's softplus) keeps the
output linear in the target's scale, so members trained with different target scalings (k-fold)
can be re-expressed in one by folding a scale and shift into the last layer, as for regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from gnncli.tasks.property import GraphPropertyTask
from gnncli.train.metrics import HIGHER_IS_BETTER, REGRESSION, SCALABLE, UNCERTAINTY, score, uncertainty_scores

#: Log-variance (standardized units) is clamped to this range, so one wild output cannot overflow.
LOG_VAR_RANGE = (-15.0, 15.0)


@dataclass
class MeanVarianceTask(GraphPropertyTask):
    """Regression with a predicted variance per graph and target.

    ``monitor`` is ``nll`` by default (the Gaussian negative log-likelihood in the targets' units,
    which judges the mean and the variance together); ``rmse``, ``mae``, ``r2``,
    ``miscalibration_area`` and ``spearman`` are the others.

    Shapes:
        model output: [N, 2 T]; :meth:`transform_output`: [N, 2 T], the means then the variances,
        in the targets' units.
    """

    types = ("regression-mve",)

    @property
    def out_channels(self) -> int:
        return 2 * len(self.targets)

    def columns(self) -> list[str]:
        return [*self.targets, *(f"{t}_var" for t in self.targets)]

    def default_monitor(self) -> str:
        return "nll"

    def metrics(self) -> dict[str, bool]:
        names = (*REGRESSION, *(f"scaled_{m}" for m in SCALABLE), *UNCERTAINTY)
        return {name: HIGHER_IS_BETTER[name] for name in names}

    def _split(self, output: Tensor) -> tuple[Tensor, Tensor]:
        t = len(self.targets)
        return output[:, :t], output[:, t:].clamp(*LOG_VAR_RANGE)

    def loss(self, output: Tensor, batch) -> Tensor:
        mask = batch.y_mask
        y = torch.where(mask, batch.y, torch.zeros_like(batch.y))
        y = (y - self._mean.to(y.device)) / self._std.to(y.device)
        mean, log_var = self._split(output)
        per = 0.5 * (log_var + (y - mean).square() * torch.exp(-log_var))  # Gaussian NLL less its constant
        return self.reduce(per, mask, batch)

    def transform_output(self, output: Tensor) -> Tensor:
        mean, log_var = self._split(output)
        std = self._std.to(output.device)
        return torch.cat([mean * std + self._mean.to(output.device), torch.exp(log_var) * std.square()], dim=1)

    def align(self, model: nn.Module, reference: GraphPropertyTask) -> None:
        if self.scaler is reference.scaler:
            return
        ref = reference.scaler
        ratio = self.scaler.std / ref.std
        scale = np.concatenate([ratio, np.ones_like(ratio)])
        shift = np.concatenate([(self.scaler.mean - ref.mean) / ref.std, 2 * np.log(ratio)])
        model.rescale_output(torch.as_tensor(scale, dtype=torch.float32), torch.as_tensor(shift, dtype=torch.float32))

    def score(self, y: np.ndarray, preds: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        t = len(self.targets)
        mean, var = preds[:, :t], preds[:, t:]
        return {**score(REGRESSION, y, mean, mask, self.targets, self.scaler.std),
                **uncertainty_scores(y, mean, var, mask, self.targets)}

    def score_spread(self, y, preds, stds, mask) -> dict[str, float]:
        t = len(self.targets)
        scores = uncertainty_scores(y, preds[:, :t], np.maximum(stds[:, :t], 1e-12) ** 2, mask, self.targets)
        return {f"ensemble_{k}": v for k, v in scores.items()}

    def test_columns(self, y, preds, stds, mask, several: bool) -> dict[str, np.ndarray]:
        t_count = len(self.targets)
        columns = {}
        for t, name in enumerate(self.targets):
            columns[f"{name}_true"] = np.where(mask[:, t], y[:, t], np.nan)
            columns[f"{name}_pred"] = preds[:, t]
            columns[f"{name}_var"] = preds[:, t_count + t]
            if several:
                columns[f"{name}_std"] = stds[:, t]
        return columns

    def test_plots(self, y, preds, mask, folder) -> None:
        from gnncli.tasks.plots import calibration
        from gnncli.train import plots

        t = len(self.targets)
        plots.parity(y, preds[:, :t], mask, self.targets, folder / "parity.png")
        calibration(y, preds[:, :t], preds[:, t:], mask, self.targets, folder / "calibration.png")
