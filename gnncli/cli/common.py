"""What every subcommand shares: the stderr console, ``--debug`` state and error handling."""

from __future__ import annotations

import functools
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


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
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
            raise fail(_escape(str(exc)), exc.exit_code) from None
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
RunDir = Annotated[str, typer.Argument(help="Run folder written by gnn train.")]
Inputs = Annotated[list[str], typer.Argument(help="Input files of the run's kind (molecules: CSV/TSV/.smi/SDF, optionally .gz), or - for stdin.")]
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
