"""Writers for large outputs, streamed chunk by chunk and moved into place atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.errors import UsageError
from gnncli.io import atomic_path, is_stream_output

EMBEDDING_FORMATS = (".npy", ".csv", ".parquet")


class EmbeddingWriter:
    """Streams embedding rows to ``.npy``, ``.csv`` or ``.parquet``; the file appears only when complete.

    ``.npy`` holds just the vectors ([rows, dim] float32; NaN rows for invalid inputs) and the
    invalid rows go to ``<out>.errors.csv`` (``row,error``). ``.csv``/``.parquet`` hold the input
    columns, ``error``, and ``emb_0 .. emb_{dim-1}``.

    ``path`` may also be ``-``, a device (``/dev/null``) or a FIFO: the output is built in a
    temporary file and copied there when complete (see :func:`gnncli.io.atomic_path`). Without
    a known extension such a path gets ``.npy``; no ``.errors.csv`` is written beside it.
    """

    def __init__(self, path: str, dim: int) -> None:
        self.path = Path(path)
        self.stream = is_stream_output(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in EMBEDDING_FORMATS:
            if not self.stream:
                raise UsageError(f"{path}: unknown output type (use {', '.join(EMBEDDING_FORMATS)})")
            self.suffix = ".npy"
        if self.suffix == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise UsageError(f"{path}: writing parquet needs pyarrow (pip install 'gnncli[parquet]')") from None
        self.dim = dim
        self.rows = 0
        self.errors: list[tuple[int, str]] = []

    def __enter__(self) -> EmbeddingWriter:
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        self._raw = None
        self._parquet = None
        self._csv = None
        try:
            if self.suffix == ".npy":
                self._raw_path = self._tmp.with_suffix(".raw")
                self._raw = open(self._raw_path, "wb")
            elif self.suffix == ".csv":
                self._csv = open(self._tmp, "w", encoding="utf-8", newline="")
        except BaseException as exc:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def write(self, frame: pd.DataFrame, vectors: np.ndarray, errors: np.ndarray, start: int) -> None:
        for i in np.flatnonzero(errors != ""):
            self.errors.append((start + int(i), str(errors[i])))
        if self._raw is not None:
            self._raw.write(np.ascontiguousarray(vectors, np.float32).tobytes())
        else:
            table = frame.reset_index(drop=True).copy()
            error_col = "error" if "error" not in table.columns else "gnn_error"
            table[error_col] = errors
            emb = pd.DataFrame(vectors, columns=[f"emb_{j}" for j in range(self.dim)])
            table = pd.concat([table, emb], axis=1)
            if self._csv is not None:
                table.to_csv(self._csv, header=self.rows == 0, index=False)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                arrow = pa.Table.from_pandas(table.astype({c: "string" for c in frame.columns}), preserve_index=False)
                if self._parquet is None:
                    self._parquet = pq.ParquetWriter(self._tmp, arrow.schema)
                self._parquet.write_table(arrow)
        self.rows += len(vectors)

    def __exit__(self, exc_type, exc, tb) -> bool:
        failed = None
        try:
            if exc_type is None:
                self._finish()
        except BaseException as error:  # finishing failed: the old file must stay, as for any failure
            failed = error
        finally:
            for handle in (self._raw, self._csv):
                if handle is not None and not handle.closed:
                    handle.close()
            if self._raw is not None and self._raw_path.exists():
                self._raw_path.unlink()
        if failed is not None:
            self._ctx.__exit__(type(failed), failed, failed.__traceback__)  # raises if it names the path
            raise failed
        return bool(self._ctx.__exit__(exc_type, exc, tb))

    def _finish(self) -> None:
        if self._raw is not None:
            self._raw.close()
            out = np.lib.format.open_memmap(self._tmp, mode="w+", dtype=np.float32, shape=(self.rows, self.dim))
            raw = np.memmap(self._raw_path, dtype=np.float32, mode="r", shape=(self.rows, self.dim)) if self.rows else None
            step = 65_536
            for i in range(0, self.rows, step):
                out[i : i + step] = raw[i : i + step]
            out.flush()
            del out, raw
            if not self.stream:  # no sidecar beside /dev/null or a FIFO
                self._write_errors(Path(f"{self.path}.errors.csv"))
        elif self._csv is not None:
            self._csv.close()
        elif self._parquet is not None:
            self._parquet.close()
        else:  # parquet with no rows at all
            pd.DataFrame(columns=["error"] + [f"emb_{j}" for j in range(self.dim)]).to_parquet(self._tmp)

    def _write_errors(self, errors_path: Path) -> None:
        """``<out>.errors.csv`` with the invalid rows, or no such file when there are none."""
        if self.errors:
            with atomic_path(errors_path) as tmp:
                pd.DataFrame(self.errors, columns=["row", "error"]).to_csv(tmp, index=False)
        elif errors_path.exists():
            os.unlink(errors_path)
