"""Ratings: recommendation from (user, item, rating) tables with graph filters, GNNs and GC-MC.

Two graph views of the same ratings (see :mod:`~gnncli.domains.ratings.graph`):

* the item-similarity graph, on which each user's ratings are a graph signal (``graph-filter``,
  ``gnn``, and the baselines ``linear`` and ``fcnn`` on the raw rating vector);
* the bipartite user-item graph of GC-MC (``gcmc``).

Modules: :mod:`~.reader` (files to rows), :mod:`~.graph` (the graphs), :mod:`~.data` (ID maps,
splits, the shared context and batches), :mod:`~.task` (the loss and metrics),
:mod:`~.training` (reading a training file, scoring a run) and :mod:`~.inference` (scores of
pairs, top-N lists with ranking metrics, vectors). Importing this module is cheap (no torch,
pandas or scipy): the CLI imports every kind of input to build its ``--help``.
"""

from __future__ import annotations

from gnncli.domains.base import Domain, DomainOption
from gnncli.errors import UsageError
from gnncli.models import register_model

_RAT = "gnncli.domains.ratings.models"
register_model("gnn", f"{_RAT}:gnn", domains=("ratings",), defaults={"hidden": 64, "depth": 1},
               loop={"epochs": 30, "batch_size": 256, "lr": 3e-3, "patience": 5},
               help="graph-filter layers with ReLU over the item graph")
register_model("graph-filter", f"{_RAT}:graph_filter", domains=("ratings",), defaults={"hidden": 1, "depth": 1},
               loop={"epochs": 30, "batch_size": 256, "lr": 3e-3, "patience": 5}, help="a linear graph filter over the item graph")
# GC-MC trains full-batch by default: one step per epoch over every training rating.
register_model("gcmc", f"{_RAT}:gcmc", domains=("ratings",), defaults={"hidden": 500, "depth": 1, "dropout": 0.7},
               loop={"epochs": 1000, "batch_size": 1_000_000, "lr": 1e-2, "patience": 100, "warmup": 1.0},
               help="graph autoencoder over the user-item graph (GC-MC)")
# The kernelized autoencoder trains full-batch too: the whole rating matrix at every step.
register_model("kernel-ae", f"{_RAT}:kernel_ae", domains=("ratings",), defaults={"hidden": 500, "depth": 2},
               loop={"epochs": 400, "batch_size": 1_000_000, "lr": 2e-2, "patience": 50, "warmup": 1.0, "schedule": "constant"},
               help="item autoencoder with kernelized sparse layers (Sparse FC, GLocal-K's local kernel)")
register_model("linear", f"{_RAT}:linear", domains=("ratings",), defaults={"hidden": 1, "depth": 1},
               loop={"epochs": 30, "batch_size": 256, "lr": 1e-3, "patience": 5}, help="linear regression on the rating vector")
register_model("fcnn", f"{_RAT}:fcnn", domains=("ratings",), defaults={"hidden": 64, "depth": 1},
               loop={"epochs": 30, "batch_size": 256, "lr": 1e-3, "patience": 5}, help="fully connected network on the rating vector")

#: Models that read each pair's whole rating vector (batches carry it), and those that need the
#: item graph (they read the users' signals shifted on it, made once per run).
SIGNAL_MODELS = ("linear", "fcnn")
GRAPH_MODELS = ("graph-filter", "gnn")
#: Hyperparameters each model takes in --model-param (besides those the domain fills in).
MODEL_PARAMS = {"gnn": ("taps",), "graph-filter": ("taps",), "linear": (), "fcnn": (),
                "gcmc": ("embed", "bases", "node_dropout", "ema", "messages", "level_dropout", "activation",
                         "side_hidden"),
                "kernel-ae": ("members", "bag", "ema", "kernel_dim", "lambda_s", "lambda_2")}
DEFAULT_KNN = 40
DEFAULT_MIN_COMMON = 30
_SUFFIXES = ("", ".csv", ".tsv", ".tab", ".txt", ".data", ".dat", ".base", ".test", ".ratings")


class RatingsDomain(Domain):
    """Rating tables (user, item, rating[, timestamp]): rating prediction and top-N recommendation."""

    name = "ratings"
    title = "Ratings (user, item, rating tables)"
    extensions = (".data", ".dat", ".base", ".test", ".ratings")
    formats = ("csv", "tsv")
    tasks = ("rating",)
    splits = ("random", "user", "time")
    default_model = "kernel-ae"
    graph_encoders = False  # rating pairs, not graphs with node features: only its own models
    data_parallel = False  # GC-MC encodes the whole rating graph at every step: nothing to share out
    options = (
        DomainOption("user_col", str, "User column (default: found by name, e.g. user, userId; or the first column of a file without header).", metavar="COLUMN", commands=("train", "predict")),
        DomainOption("item_col", str, "Item column (default: found by name, e.g. item, movieId; or the second column).", metavar="COLUMN", commands=("train", "predict")),
        DomainOption("rating_col", str, "Rating column (default: rating; or the third column).", metavar="COLUMN", commands=("train", "predict")),
        DomainOption("time_col", str, "Timestamp column, for --split time (default: timestamp; or the fourth column).", metavar="COLUMN", commands=("train",)),
        DomainOption("test_file", str, "A file of held-out test ratings (e.g. MovieLens u1.test); the training file then splits into train and validation.", flags=("--test",), metavar="FILE", commands=("train",)),
        DomainOption("user_features", str, "GC-MC: a table of user attributes, ID first (e.g. MovieLens u.user); numbers are standardized, text with few values one-hot encoded.", metavar="FILE", commands=("train",)),
        DomainOption("item_features", str, "GC-MC: a table of item attributes, ID first (e.g. MovieLens u.item, whose genre flags are used and titles, dates and URLs left out).", metavar="FILE", commands=("train",)),
        DomainOption("refit", bool, "Once early stopping has picked the epoch count, train each member again from scratch on the training and validation ratings together for that many epochs (default: on for kernel-ae, off for the others).", flags=("--refit/--no-refit",), commands=("train",)),
        DomainOption("knn", int, f"Neighbours each item keeps in the item-similarity graph (default {DEFAULT_KNN}).", metavar="K", commands=("train",)),
        DomainOption("min_common", int, f"Item pairs rated by fewer common users get no edge in the item graph (default {DEFAULT_MIN_COMMON}).", metavar="N", commands=("train",)),
        DomainOption("recommend", int, "Write the top-N unseen items per user instead of scoring pairs; with INPUT files of held-out ratings, also precision@N, recall@N and NDCG@N.", metavar="N", commands=("predict",)),
        DomainOption("users", str, "With --recommend: a file of user IDs (one per line, or a table with a user column); default every user.", metavar="FILE", commands=("predict",)),
        DomainOption("relevant", float, "With --recommend and held-out ratings: the lowest rating that counts as relevant (default 4).", metavar="RATING", commands=("predict",)),
    )

    def sniff(self, path: str) -> bool:
        """A file whose first lines read as ratings: user, item and rating columns by name, or (no
        header) rows of at least three fields whose third is a number."""
        import os

        from gnncli.domains.base import _suffix

        if not os.path.isfile(path) or _suffix(path) not in _SUFFIXES:
            return False
        from gnncli.domains.ratings.reader import looks_like_ratings

        return looks_like_ratings(path)

    def check_split(self, split: str) -> None:
        if split not in self.splits:
            raise UsageError(f"--split {split}: not a split for ratings (choose from {', '.join(self.splits)}, "
                             "or give a test file with --test)")

    # -- training ------------------------------------------------------------------------------
    def prepare(self, opts, reporter, *, featurizer=None):
        from gnncli.domains.ratings.training import prepare

        return prepare(self, opts, reporter)

    def split(self, opts, data):
        return [data.extra["split"]] * max(1, opts.ensemble)

    def refit_data(self, data, opts):
        from gnncli.domains.ratings.training import refit_data

        return refit_data(data, opts)

    def make_task(self, data, opts, train_rows):
        from gnncli.domains.ratings.training import make_task

        return make_task(data, opts)

    def load_task(self, config: dict):
        from gnncli.domains.ratings.task import RatingTask

        return RatingTask.from_config(config["task"])

    def model_config(self, data, model):
        from gnncli.domains.ratings.training import model_config

        return model_config(data, model)

    def run_config(self, data) -> dict:
        return data.extra["run_config"]

    def evaluate(self, ctx) -> dict:
        from gnncli.domains.ratings.training import evaluate

        return evaluate(self, ctx)

    # -- inference -----------------------------------------------------------------------------
    def infer(self, run, inputs, *, options, settings, embed=False):
        from gnncli.domains.ratings.inference import infer_pairs

        return infer_pairs(run, inputs, options=options, settings=settings)

    def predict(self, run, inputs, out, *, options, settings, reporter) -> dict:
        if options.get("recommend") is None:
            for name in ("users", "relevant"):
                if options.get(name) is not None:
                    raise UsageError(f"--{name} goes with --recommend N")
            return super().predict(run, inputs, out, options=options, settings=settings, reporter=reporter)
        from gnncli.domains.ratings.inference import recommend

        return recommend(run, inputs, out, options=options, settings=settings, reporter=reporter)

    def embed(self, run, inputs, out_path, *, options, settings, reporter) -> dict:
        from gnncli.domains.ratings.inference import embed

        return embed(run, inputs, out_path, options=options, settings=settings, reporter=reporter)


__all__ = ["RatingsDomain"]
