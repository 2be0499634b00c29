"""What every subcommand shares: the stderr console, ``--debug`` state, error handling and help text."""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console

from gnncli.errors import GnnError

#: People's messages and progress go to stderr; results go to stdout.
console = Console(stderr=True, highlight=False)

_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def set_debug(value: bool) -> None:
    _state["debug"] = value


def is_debug() -> bool:
    return _state["debug"]


def fail(message: str, code: int = 1, *, every_rank: bool = True) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise.

    Under ``torchrun`` a process other than rank 0 prefixes its rank; with ``every_rank`` False
    (an error in the input or the command line, which every process meets alike) it prints
    nothing and rank 0 says it once. Every process still exits with ``code``."""
    import os

    rank = os.environ.get("RANK", "0") if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 else "0"
    if rank != "0":
        if not every_rank:
            return typer.Exit(code)
        message = f"rank {rank}: {message}"
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn project errors into one red line and an exit code; tracebacks only with ``--debug``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except GnnError as exc:
            if is_debug():
                raise
            raise fail(_escape(str(exc)), exc.exit_code, every_rank=False) from None
        except KeyboardInterrupt:
            if is_debug():
                raise
            raise fail("interrupted", 130) from None
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `gnn predict ... | head`): not an error.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except (OSError, MemoryError) as exc:
            if is_debug():
                raise
            raise fail(_escape(f"{type(exc).__name__}: {exc}"), 1) from None
        except Exception as exc:  # a bug: say so, keep the traceback behind --debug
            if is_debug():
                raise
            raise fail(
                _escape(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"),
                1,
            ) from None

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text.replace("\n", " "))


_EXAMPLE_LINE = re.compile(r"\s|gnn(\s|$)")


def help_text(text: str) -> str:
    """Help text laid out for the terminal: each prose paragraph on one line, for Rich to wrap.

    Typer's help keeps every line break of a help string and Rich then wraps each line to the
    terminal, so a paragraph written across several source lines breaks mid-sentence in an
    80-column terminal or a pipe. This joins the lines of each paragraph and keeps:

    - blank lines between paragraphs (several count as one);
    - example lines on their own line: lines that are indented or start with ``gnn``.

    Use it for a command's ``help=``::

        HELP = help_text(\"\"\"Predict with a trained run: CSV of the input rows plus one column per target.

        Streams over inputs of any size in chunks, rows in input order. An invalid SMILES keeps
        its row with empty predictions and an 'error' column saying why.

        Examples:

          gnn predict runs/esol library.smi > predictions.csv
        \"\"\")
    """
    paragraphs = []
    for paragraph in re.split(r"\n[ \t]*\n", inspect.cleandoc(text)):
        lines: list[str] = []
        prose = False  # whether lines[-1] is prose a next prose line joins
        for line in paragraph.splitlines():
            if not line.strip():
                continue
            if _EXAMPLE_LINE.match(line):
                lines.append(line.rstrip())
                prose = False
            elif prose:
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.strip())
                prose = True
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def make_progress():
    """A rich progress display on stderr: description, bar, counts, a free-text ``info`` field."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class _Progress(Progress):
        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None:  # a job that fails before any progress leaves no empty bar above its error
                for task in self.tasks:
                    if not task.completed:
                        self.update(task.id, visible=False)
            return super().__exit__(exc_type, exc, tb)

        def stop(self) -> None:
            if any(task.visible for task in self.tasks):
                return super().stop()
            self.live.transient = True  # nothing to show: no empty line where no bar was drawn
            if not self.disable:
                self.live.stop()

    return _Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console, transient=False,
    )


def print_json(obj: Any) -> None:
    """One JSON object on stdout (for scripts)."""
    import json

    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# Options shared by several subcommands (one definition, one help text).
RunDir = Annotated[str, typer.Argument(metavar="RUN", help="Run folder written by gnn train.")]
Inputs = Annotated[Optional[list[str]], typer.Argument(metavar="INPUT", show_default=False, help="Input files of the run's kind (molecules: CSV/TSV/.smi/SDF, optionally .gz), or - for stdin.")]
TrainInputs = Annotated[Optional[list[str]], typer.Argument(metavar="INPUT", show_default=False, help="Input files or folders, several read as one dataset in order (all of one kind, molecule tables with the same columns); a quoted glob such as 'data/*.pdb' is expanded by gnn; - for stdin. Default: the bundled molecule set.")]
def format_help() -> str:
    """``--format`` help listing what each kind of input reads (one vocabulary: gnncli.formats)."""
    from gnncli.domains.base import all_domains
    from gnncli.formats import describe

    kinds = "; ".join(f"{d.name}: {describe(d.formats)}" for d in all_domains() if d.formats)
    return f"Input format ({kinds}). Default: from the extension."


InputFormat = Annotated[Optional[str], typer.Option("--format", help=format_help())]
InferenceBatch = Annotated[int, typer.Option(help="Items per model batch (small batches stay in cache).")]
ChunkSize = Annotated[int, typer.Option(help="Rows read and featurized at a time.")]
Workers = Annotated[int, typer.Option(help="Worker processes (0: one per CPU).")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
