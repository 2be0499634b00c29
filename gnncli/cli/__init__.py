"""The ``gnn`` command line: one thin module per subcommand."""
