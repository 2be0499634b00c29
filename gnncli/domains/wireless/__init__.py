"""Wireless: power allocation in interference networks from channel matrices, with state-augmented
primal-dual GNN policies (NaderiAlizadeh, Eisen and Ribeiro, IEEE TSP 2022).

* :mod:`~gnncli.domains.wireless.channels`: reading ``.npy``/``.npz``/CSV channel matrices and folders;
* :mod:`~gnncli.domains.wireless.generator`: random networks (path loss, shadowing, fading over time);
* :mod:`~gnncli.domains.wireless.rates`: rates, the dual update, full/random power and WMMSE;
* :mod:`~gnncli.domains.wireless.policy`: batches, the Lagrangian task, running a policy with dual dynamics;
* :mod:`~gnncli.domains.wireless.dataset`: generated or read training data;
* :mod:`~gnncli.domains.wireless.inference`: test evaluation, ``gnn predict`` and ``gnn embed`` outputs;
* this module: the :class:`WirelessDomain` the commands dispatch to, and its models' registrations.

Channel matrices: rows are transmitters, columns receivers (``H[t, j, i]``: transmitter j to
receiver i at step t; the diagonal is each pair's direct link). Importing this module is cheap.
"""

from __future__ import annotations

from typing import Any

from gnncli.domains.base import Domain, DomainOption, inputs_label
from gnncli.errors import InputError, UsageError
from gnncli.models import register_model

MODELS = ("leconv", "tag")
#: Training of a power policy unless the command line says otherwise: 80 epochs of 50 batches
#: (STEPS_PER_EPOCH) of 16 networks, every epoch run to the end (the best validation epoch is kept).
#: 80 rather than 40: on gnn's own held-out generators (benchmarks/README.md, "Other channel
#: statistics") validation was still rising at epoch 40, and 80 met f_min for 1.1-2.7 points more
#: users at twice the training time; width 128 did as well at 2.4 times the time, wider ranges of
#: physics did worse.
TRAIN_LOOP = {"epochs": 80, "batch_size": 16, "patience": 0}
register_model("leconv", "gnncli.domains.wireless.models:leconv", domains=("wireless",), defaults={"hidden": 64, "depth": 5},
               loop=TRAIN_LOOP, help="power policy: LEConv layers over the interference graph, both directions (wireless)")
register_model("tag", "gnncli.domains.wireless.models:graph_filter", domains=("wireless",), defaults={"hidden": 64},
               loop=TRAIN_LOOP, help="power policy: TAG-style graph filters with K taps, --model-param taps=K (wireless)")

#: Defaults of the dual dynamics and of training, after the state-augmented paper's code, but for
#: the dual step: 4 where the paper's code has 2, as a user short of f_min is then served sooner,
#: which over 100 steps met f_min for 1.7-3.6 points more of the users of gnn's own generators
#: (benchmarks/README.md, "Other channel statistics").
F_MIN, DUAL_STEP, DUAL_WINDOW, DUAL_MAX = 0.75, 4.0, 5, 50.0
EPISODE, VAL_NETWORKS, STEPS_PER_EPOCH = 10, 16, 50

_TRAIN, _ALL = ("train",), ("train", "predict", "embed")


class WirelessDomain(Domain):
    """Channel matrices of interference networks; the unit of prediction is each pair's power."""

    name = "wireless"
    title = "Wireless channels (rows transmitters, columns receivers)"
    extensions = (".npy", ".npz")
    folders = "channel files (.npy, .npz, .csv)"
    formats = ("npy", "npz", "csv")
    tasks = ("state-augmented", "primal-dual")
    splits = ("random",)
    default_model = "leconv"
    graph_encoders = False  # its policies read channel gains and duals, not molecule-style node features
    options = (
        DomainOption("pairs", int, "Generated networks: transmitter-receiver pairs m (default 6).", commands=_TRAIN, metavar="M"),
        DomainOption("physics", str, "Generated networks: 'varied' (default: every network draws its density, path loss, shadowing, Nakagami fading and distances from ranges, for policies that meet other channel statistics) or 'paper' (the paper code's generator; implied by --layout).", commands=_TRAIN, metavar="varied|paper"),
        DomainOption("layout", str, "Generated networks of --physics paper: 'area' (a 500 m square whatever m, default) or 'density' (side 1000 sqrt(m/20) m: 20 pairs per km^2).", commands=_TRAIN, metavar="area|density"),
        DomainOption("networks", int, f"Generated validation and test networks, each (default {VAL_NETWORKS}).", commands=_TRAIN, metavar="N"),
        DomainOption("time_steps", int, "Time steps of each generated validation/test network (default 100).", commands=_TRAIN, metavar="T"),
        DomainOption("episode", int, f"Time steps per training network in a batch (default {EPISODE}).", commands=_TRAIN, metavar="T"),
        DomainOption("dual_max", float, f"State-augmented training draws each dual variable as 0 (a random fraction of each network's users) or log-uniformly up to DUAL_MAX (default {DUAL_MAX:g}).", commands=_TRAIN),
        DomainOption("f_min", float, f"Minimum long-run mean rate per user, bps/Hz (default {F_MIN}; predict: the run's).", commands=_ALL),
        DomainOption("dual_step", float, f"Dual step size eta_mu (default {DUAL_STEP:g}; predict: the run's).", commands=_ALL),
        DomainOption("dual_window", int, f"Time steps T0 between dual updates, averaged in each (default {DUAL_WINDOW}; predict: the run's).", commands=_ALL),
        DomainOption("p_max", float, "P_max in dBm for files that do not say (default 10, or the run's).", commands=_ALL, metavar="DBM"),
        DomainOption("noise", float, "Noise power over the band in dBm for files that do not say (default -104: -174 dBm/Hz over 10 MHz).", commands=_ALL, metavar="DBM"),
        DomainOption("precision", str, "Predict: the policy's arithmetic: auto (bf16 where the CPU or GPU multiplies it natively, e.g. AVX512-BF16 or AMX; float32 elsewhere), fp32 or bf16. Rates and duals are float32.", commands=("predict",), metavar="auto|fp32|bf16"),
        DomainOption("baselines", bool, "Predict: also run full power, random power and WMMSE on the same channels.", commands=("predict",)),
        DomainOption("plot", bool, "Predict: draw rates, constraint slack and duals over time and the CDF of users' mean rates against the baselines (implies --baselines).", commands=("predict",)),
    )

    # -- recognising input ---------------------------------------------------------------------
    def sniff(self, path: str) -> float:
        from gnncli.domains.wireless.channels import looks_like_channels

        return 3.0 if looks_like_channels(path) else 0.0  # a square numeric matrix: stricter than a ratings table

    def check_split(self, split: str) -> None:
        if split != "random":
            raise UsageError(f"--split {split}: wireless networks are split at random (generated ones have their own seeds)")

    # -- training ------------------------------------------------------------------------------
    def prepare(self, opts, reporter, *, featurizer=None):
        from gnncli.domains.wireless.dataset import file_dataset, generated_dataset

        o = opts.options
        if opts.model.name not in MODELS:
            raise UsageError(f"--model {opts.model.name}: not a power-allocation policy (choose from {', '.join(MODELS)})")
        augmented = _mode(opts.task) == "state-augmented"
        episode = _positive(o, "episode", EPISODE)
        dual_max = _positive(o, "dual_max", DUAL_MAX, number=float)
        _dynamics(o)  # fail early on bad values
        steps = opts.loop.steps_per_epoch or STEPS_PER_EPOCH
        paths = opts.input_paths()
        if not paths:
            config = _channel_config(o)
            count = _positive(o, "networks", VAL_NETWORKS)
            bar = reporter.start("generating validation and test networks", 2 * count)
            data = generated_dataset(config, val=count, test=count, episode=episode, augmented=augmented,
                                     dual_max=dual_max, steps_per_epoch=steps, progress=lambda n: reporter.advance(bar, n))
            reporter.finish(bar)
            return data
        for name in ("pairs", "physics", "layout", "networks", "time_steps"):
            if o.get(name) is not None:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} is for generated networks; {inputs_label(paths)} gives its own")
        from gnncli.domains.wireless.channels import read_channels

        fmt = _format(opts.fmt)
        networks = read_channels(paths, fmt, same_pairs=True, p_max_dbm=o.get("p_max"), noise_dbm=o.get("noise"))
        if len(networks) < 3:
            raise InputError(f"{inputs_label(paths)}: {len(networks)} network(s); training needs at least 3 (train, validation, test)")
        return file_dataset(inputs_label(paths), networks, episode=episode, augmented=augmented, dual_max=dual_max,
                            steps_per_epoch=steps)

    def split(self, opts, data):
        import numpy as np

        if data.generated:
            n_val = data.extra["val_count"]
            val, test = np.arange(n_val), np.arange(n_val, len(data))
            return [(np.zeros(0, np.int64), val, test)] * max(1, opts.ensemble)
        return super().split(opts, data)

    def make_task(self, data, opts, train_rows):
        from gnncli.domains.wireless.policy import PowerTask

        try:
            return PowerTask(_mode(opts.task), _dynamics(opts.options), dual_max=data.extra["dual_max"], monitor=opts.monitor)
        except ValueError as exc:
            raise UsageError(f"--metric {exc}") from None

    def load_task(self, config: dict):
        from gnncli.domains.wireless.policy import PowerTask

        return PowerTask.from_config(config["task"])

    def model_config(self, data, model):
        from gnncli.domains.wireless.policy import IN_CHANNELS
        from gnncli.models import ModelConfig

        return ModelConfig.from_dict({**model.to_dict(), "in_channels": IN_CHANNELS, "edge_dim": 1, "out_channels": 1, "level": "node"})

    def run_config(self, data) -> dict:
        entry: dict[str, Any] = {"scales": data.extra["scales"].to_dict(), "pairs": int(data.extra["networks"][0].shape[-1]),
                                 "episode": data.extra["episode"]}
        if data.generated:
            config = data.extra["config"]
            entry.update({"generated": config.to_dict(), "p_max_dbm": config.p_max_dbm, "noise_dbm": config.noise_dbm})
        else:
            entry.update({"p_max_dbm": data.extra["p_max_dbm"], "noise_dbm": data.extra["noise_dbm"]})
        return entry

    def evaluate(self, ctx) -> dict:
        from gnncli.domains.wireless.inference import evaluate_run

        return evaluate_run(self, ctx)

    # -- inference -----------------------------------------------------------------------------
    def predict(self, run, inputs, out, *, options, settings, reporter) -> dict:
        from gnncli.domains.wireless.inference import predict

        return predict(run, inputs, out, options=options, settings=settings, reporter=reporter)

    def embed(self, run, inputs, out_path, *, options, settings, reporter) -> dict:
        from gnncli.domains.wireless.inference import embed

        return embed(run, inputs, out_path, options=options, settings=settings, reporter=reporter)


def _mode(task: str) -> str:
    return "state-augmented" if task in ("auto", None) else task


def _positive(options: dict, name: str, default, *, number=int):
    value = options.get(name)
    if value is None:
        return default
    if value <= 0:
        raise UsageError(f"--{name.replace('_', '-')} {value}: must be positive")
    return number(value)


def _dynamics(options: dict, defaults: dict | None = None):
    """The dual dynamics from the options (each falling back on ``defaults``, then the paper's)."""
    from gnncli.domains.wireless.policy import DualDynamics

    d = defaults or {}
    f_min = options.get("f_min")
    f_min = d.get("f_min", F_MIN) if f_min is None else f_min
    if f_min < 0:
        raise UsageError(f"--f-min {f_min}: must be at least 0")
    step = options.get("dual_step")
    step = d.get("dual_step", DUAL_STEP) if step is None else step
    if step < 0:
        raise UsageError(f"--dual-step {step}: must be at least 0")
    window = options.get("dual_window")
    window = d.get("dual_window", DUAL_WINDOW) if window is None else window
    if window < 1:
        raise UsageError(f"--dual-window {window}: must be at least 1")
    return DualDynamics(float(f_min), float(step), int(window))


def _channel_config(options: dict):
    """The generator of ``gnn train --kind wireless`` without input: varied physics, unless
    ``--physics paper`` or a ``--layout`` (which only the paper's generator has) says otherwise."""
    from gnncli.domains.wireless.generator import LAYOUTS, PHYSICS, ChannelConfig, Variation

    layout = options.get("layout")
    physics = options.get("physics") or ("paper" if layout else "varied")
    if physics not in PHYSICS:
        raise UsageError(f"--physics {physics}: choose from {', '.join(PHYSICS)}")
    if physics == "varied" and layout:
        raise UsageError(f"--layout {layout} is for --physics paper (varied physics draws each network's density)")
    layout = layout or "area"
    if layout not in LAYOUTS:
        raise UsageError(f"--layout {layout}: choose from {', '.join(LAYOUTS)}")
    pairs = _positive(options, "pairs", 6)
    steps = _positive(options, "time_steps", 100)
    extra = {}
    if options.get("p_max") is not None:
        extra["p_max_dbm"] = float(options["p_max"])
    if options.get("noise") is not None:  # total noise over the band: keep the bandwidth, set the PSD
        import math

        extra["noise_dbm_hz"] = float(options["noise"]) - 10 * math.log10(ChannelConfig().bandwidth_hz)
    if physics == "varied":
        extra["variation"] = Variation()
    try:
        return ChannelConfig(pairs=pairs, layout=layout, steps=steps, **extra)
    except ValueError as exc:
        raise UsageError(f"--pairs {pairs} --layout {layout}: {exc}") from None


def _format(fmt: str | None) -> str | None:
    from gnncli.formats import check_format

    return check_format(fmt, WirelessDomain.formats)


__all__ = ["WirelessDomain"]
