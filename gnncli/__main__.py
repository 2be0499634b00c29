"""``python -m gnncli``: the ``gnn`` command, for launchers that start a module rather than a
script (``torchrun --nproc-per-node 2 -m gnncli train data.csv ...``)."""

from gnncli.cli.main import main

if __name__ == "__main__":
    main()
