"""Pure functions on graphs: Weisfeiler-Lehman tests (:mod:`.wl`) and coarsening (:mod:`.coarsen`)."""
