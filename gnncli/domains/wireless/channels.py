"""Reading channel matrices: ``.npy``/``.npz`` arrays, a CSV matrix, or folders of them.

A network is one ``[T, m, m]`` series of channel matrices, **rows transmitters, columns
receivers**: entry ``[t, j, i]`` is the channel from transmitter j to receiver i at step t, and the
diagonal is each pair's direct link. Accepted shapes are ``(m, m)`` (one step), ``(T, m, m)`` and
``(networks, T, m, m)``. Real arrays are power gains ``|h|^2``; complex arrays are coefficients
``h``, of which ``|h|^2`` is taken.

* ``.npy``: one array.
* ``.npz``: the array named ``gains`` (power gains), else ``h`` (coefficients, ``|h|^2`` taken),
  else the only array it holds. Scalars ``p_max_dbm`` and ``noise_dbm`` (total noise power over
  the band), as ``gnn channels`` writes them, override the defaults.
* ``.csv``: one ``m x m`` matrix, comma-separated numbers, no header (complex numbers as ``1+2j``).
* a folder: every ``.npy``, ``.npz`` and ``.csv`` in it (not in subfolders), in name order.

Every problem is a one-line :class:`~gnncli.errors.InputError` naming the file: a matrix that is
not square, a negative gain, NaN or infinity, no numbers, or (where networks must share it) a
different number of pairs m.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gnncli.errors import InputError

SUFFIXES = (".npy", ".npz", ".csv")
FORMATS = ("npy", "npz", "csv")
#: P_max and noise when a file does not say: the generator's defaults (10 dBm; -174 dBm/Hz over 10 MHz).
DEFAULT_P_MAX_DBM = 10.0
DEFAULT_NOISE_DBM = -174.0 + 10 * math.log10(10e6)


@dataclass
class Network:
    """One network's channel over time.

    Attributes:
        name: where it came from (``file.npz``, or ``file.npz[3]`` for the fourth of several).
        gains: ``[T, m, m]`` power gains ``|h_ji|^2`` (float32; rows transmitters, columns receivers).
        p_max_dbm, noise_dbm: the largest transmit power and the noise power over the band.
    """

    name: str
    gains: np.ndarray
    p_max_dbm: float = DEFAULT_P_MAX_DBM
    noise_dbm: float = DEFAULT_NOISE_DBM
    meta: dict = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return int(self.gains.shape[-1])

    @property
    def steps(self) -> int:
        return int(self.gains.shape[0])

    @property
    def snr(self) -> float:
        """``P_max / N``."""
        return 10 ** ((self.p_max_dbm - self.noise_dbm) / 10)

    @property
    def p_max_w(self) -> float:
        return 10 ** ((self.p_max_dbm - 30) / 10)

    def snr_gains(self) -> np.ndarray:
        """``[T, m, m]`` gains over noise at full power, ``P_max |h|^2 / N`` (float32)."""
        return (self.gains * np.float32(self.snr)).astype(np.float32)


def channel_files(path: str) -> list[Path]:
    """The channel files ``path`` names: itself, or the ones in a folder."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: file not found")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(f"{path}: folder holds no channel files (.npy, .npz or .csv)")
        return files
    return [p]


def _where(path: str, index: tuple[int, ...], ndim: int) -> str:
    names = {4: ("network", "step", "transmitter", "receiver"), 3: ("step", "transmitter", "receiver"),
             2: ("transmitter", "receiver")}[ndim]
    return ", ".join(f"{n} {i}" for n, i in zip(names, index))


def check_gains(array: np.ndarray, path: str) -> np.ndarray:
    """``array`` as ``[networks, T, m, m]`` float32 power gains, checked; a one-line InputError
    naming ``path`` and the first bad entry otherwise."""
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{path}: holds {array.dtype} values, expected numbers (channel gains or complex coefficients)")
    if array.ndim not in (2, 3, 4):
        raise InputError(f"{path}: array of shape {tuple(array.shape)}; expected (m, m), (T, m, m) or "
                         f"(networks, T, m, m) (rows transmitters, columns receivers)")
    if array.shape[-1] != array.shape[-2]:
        raise InputError(f"{path}: channel matrix is {array.shape[-2]}x{array.shape[-1]}, not square "
                         f"(expected m x m: rows transmitters, columns receivers)")
    if array.size == 0:
        raise InputError(f"{path}: holds no channel matrices (shape {tuple(array.shape)})")
    ndim = array.ndim
    if np.iscomplexobj(array):
        bad = ~np.isfinite(array.real) | ~np.isfinite(array.imag)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"{path}: {array[idx]} (not a finite number) at {_where(path, idx, ndim)}")
        gains = (array.real.astype(np.float64) ** 2 + array.imag.astype(np.float64) ** 2)
    else:
        gains = array.astype(np.float64)
        bad = ~np.isfinite(gains)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"{path}: {gains[idx]} (not a finite number) at {_where(path, idx, ndim)}")
        neg = gains < 0
        if neg.any():
            idx = tuple(int(i) for i in np.argwhere(neg)[0])
            raise InputError(f"{path}: negative channel gain {gains[idx]:g} at {_where(path, idx, ndim)} "
                             f"(real arrays are power gains |h|^2 >= 0; give complex coefficients h to have |h|^2 taken)")
    if ndim == 2:
        gains = gains[None, None]
    elif ndim == 3:
        gains = gains[None]
    if np.isinf(gains.astype(np.float32)).any():
        raise InputError(f"{path}: channel gain too large for single precision (above 3.4e38)")
    return gains.astype(np.float32)


def _read_csv(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (expected a CSV matrix of channel gains)") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"{path}: file is empty")
    values: list[list[complex]] = []
    is_complex = False
    for line, row in enumerate(rows, start=1):
        parsed = []
        for col, cell in enumerate(row, start=1):
            cell = cell.strip()
            try:
                parsed.append(float(cell))
            except ValueError:
                try:
                    parsed.append(complex(cell.replace(" ", "").replace("i", "j")))
                    is_complex = True
                except ValueError:
                    raise InputError(f"{path}: line {line}, column {col}: '{cell}' is not a number "
                                     f"(expected an m x m matrix of gains, no header)") from None
        values.append(parsed)
    widths = {len(r) for r in values}
    if len(widths) != 1:
        line = next(i for i, r in enumerate(values, start=1) if len(r) != len(values[0]))
        raise InputError(f"{path}: line {line} has {len(values[line - 1])} values, line 1 has {len(values[0])}")
    return np.asarray(values, dtype=complex if is_complex else np.float64)


def _read_npz(path: Path) -> tuple[np.ndarray, dict]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz archive ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    with archive:
        names = list(archive.files)
        meta = {}
        for key in ("p_max_dbm", "noise_dbm"):
            if key in names:
                value = archive[key]
                if value.size != 1 or not np.isfinite(value).all():
                    raise InputError(f"{path}: '{key}' must be one finite number")
                meta[key] = float(value)
        if "gains" in names:
            array = archive["gains"]
            if np.iscomplexobj(array):
                raise InputError(f"{path}: 'gains' holds complex numbers; name coefficients 'h' (|h|^2 is taken)")
        elif "h" in names:
            array = archive["h"]
            array = array if np.iscomplexobj(array) else array.astype(np.float64) ** 2  # real coefficients: |h|^2
        else:
            arrays = [n for n in names if n not in ("p_max_dbm", "noise_dbm") and archive[n].ndim >= 2]
            if len(arrays) != 1:
                found = ", ".join(names) or "nothing"
                raise InputError(f"{path}: holds {found}; name the channel array 'gains' (power gains) or 'h' (coefficients)")
            array = archive[arrays[0]]
    return array, meta


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def read_file(path: str | Path, fmt: str | None = None, *, p_max_dbm: float | None = None,
              noise_dbm: float | None = None) -> list[Network]:
    """The networks of one channel file (one, or several for a ``(networks, T, m, m)`` array).

    ``p_max_dbm`` and ``noise_dbm`` apply where the file does not say (default 10 dBm and
    -104 dBm, i.e. -174 dBm/Hz over 10 MHz).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    kind = fmt or path.suffix.lower().lstrip(".")
    meta: dict = {}
    if kind == "npy":
        array = _read_npy(path)
    elif kind == "npz":
        array, meta = _read_npz(path)
    elif kind == "csv":
        array = _read_csv(path)
        if array.ndim != 2:
            raise InputError(f"{path}: expected one m x m matrix")
    else:
        raise InputError(f"{path}: unknown channel file type '{path.suffix}' (expected .npy, .npz or .csv)")
    gains = check_gains(array, str(path))
    p = meta.get("p_max_dbm", DEFAULT_P_MAX_DBM if p_max_dbm is None else p_max_dbm)
    n = meta.get("noise_dbm", DEFAULT_NOISE_DBM if noise_dbm is None else noise_dbm)
    name = str(path)
    if len(gains) == 1:
        return [Network(name, gains[0], p, n)]
    return [Network(f"{name}[{k}]", gains[k], p, n) for k in range(len(gains))]


def read_channels(paths: list[str] | str, fmt: str | None = None, *, same_pairs: bool = False,
                  p_max_dbm: float | None = None, noise_dbm: float | None = None) -> list[Network]:
    """Every network in ``paths`` (files or folders), in order.

    With ``same_pairs``, every network must have the same number of pairs m (a training set's
    batches are stacked); a file that differs is a one-line InputError naming it and the first.
    """
    paths = [paths] if isinstance(paths, str) else list(paths)
    networks: list[Network] = []
    for path in paths:
        for file in channel_files(path):
            found = read_file(file, fmt, p_max_dbm=p_max_dbm, noise_dbm=noise_dbm)
            if same_pairs and networks and found[0].pairs != networks[0].pairs:
                raise InputError(f"{file}: {found[0].pairs} pairs, but {networks[0].name} has {networks[0].pairs} "
                                 f"(every network of a training set needs the same number of pairs m)")
            networks.extend(found)
    return networks


def looks_like_channels(path: str) -> bool:
    """Whether ``path`` (a file or folder) holds channel matrices by its content: an array file
    with a square last pair of dimensions, a CSV of numbers only with as many columns as rows,
    or a folder with such files."""
    p = Path(path)
    try:
        if p.is_dir():
            return any(looks_like_channels(str(f)) for f in sorted(p.iterdir())[:20] if f.is_file() and f.suffix.lower() in SUFFIXES)
        suffix = p.suffix.lower()
        if suffix == ".npy":
            array = np.load(p, mmap_mode="r", allow_pickle=False)
            return array.ndim in (2, 3, 4) and array.shape[-1] == array.shape[-2]
        if suffix == ".npz":
            with np.load(p, allow_pickle=False) as archive:
                return any(n in archive.files for n in ("gains", "h")) or any(
                    archive[n].ndim in (2, 3, 4) and archive[n].shape[-1] == archive[n].shape[-2] for n in archive.files)
        if suffix == ".csv":
            if p.stat().st_size > 50_000_000:
                return False
            rows = [r for r in csv.reader(io.StringIO(p.read_text(encoding="utf-8"))) if any(c.strip() for c in r)]
            if not rows or any(len(r) != len(rows) for r in rows):
                return False
            for row in rows:
                for cell in row:
                    complex(cell.strip().replace(" ", "").replace("i", "j"))
            return True
    except Exception:  # unreadable, or not what we read: not ours by content
        return False
    return False
