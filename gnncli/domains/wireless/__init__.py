"""Wireless: power allocation in interference networks from channel matrices.

* :mod:`~gnncli.domains.wireless.channels`: reading ``.npy``/``.npz``/CSV channel matrices and folders;
* :mod:`~gnncli.domains.wireless.generator`: random networks (path loss, shadowing, fading over time);
* :mod:`~gnncli.domains.wireless.files`: writing generated networks as channel files;
* :mod:`~gnncli.domains.wireless.rates`: rates, the dual update, full/random power and WMMSE.

Channel matrices: rows are transmitters, columns receivers (``H[t, j, i]``: transmitter j to
receiver i at step t; the diagonal is each pair's direct link).
"""
