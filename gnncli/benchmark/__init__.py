"""``gnn benchmark``: models side by side on one dataset, over seeds, with a report.

* :mod:`~gnncli.benchmark.grid`: settings (model x grid values) x seeds;
* :mod:`~gnncli.benchmark.runner`: every run through :func:`gnncli.api.train`, rows in
  ``results.csv``, resumable, in parallel processes;
* :mod:`~gnncli.benchmark.summary` and :mod:`~gnncli.benchmark.report`: mean ± SD per setting,
  ``summary.json`` and a self-contained ``report.html``;
* :mod:`~gnncli.benchmark.suites`: the lectures' comparisons by name;
* :mod:`~gnncli.benchmark.speed`: throughput and memory.
"""
