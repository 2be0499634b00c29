"""Power-allocation policies for the wireless kind of input (registered in
:mod:`gnncli.domains.wireless`): builders ``ModelConfig -> nn.Module``.

``leconv``: LEConv layers in both edge directions (the state-augmented paper's choice of layer,
here also seeing the interference each pair causes). ``tag``: TAG-style graph filters with K taps
(``--model-param taps=K``). Both read ``hidden``, ``depth`` and ``in_channels`` from the config.
"""

from __future__ import annotations

from torch import nn

from gnncli.models.config import ModelConfig
from gnncli.domains.wireless.layers import PowerPolicy

_PARAMS = {"leconv": {"directions"}, "filter": {"taps"}}


def _check(c: ModelConfig, layer: str) -> dict:
    unknown = set(c.params) - _PARAMS[layer]
    if unknown:
        raise ValueError(f"model '{c.name}' has no parameter {', '.join(sorted(unknown))} "
                         f"(it takes {', '.join(sorted(_PARAMS[layer]))})")
    params = dict(c.params)
    for key, value in params.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"model parameter {key} must be an integer, got {value!r}")
    return params


def leconv(c: ModelConfig) -> nn.Module:
    return PowerPolicy(layer="leconv", in_channels=c.in_channels, hidden=c.hidden, depth=c.depth, **_check(c, "leconv"))


def graph_filter(c: ModelConfig) -> nn.Module:
    return PowerPolicy(layer="filter", in_channels=c.in_channels, hidden=c.hidden, depth=c.depth, **_check(c, "filter"))
