"""``gnn channels``: generate random interference networks as channel files."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gnncli.cli.common import console, handle_errors, help_text, make_progress, print_json

HELP = help_text("""Generate channel matrices of random interference networks (seeded), as an .npz file that gnn train and gnn predict read.

m transmitter-receiver pairs are dropped in a square: of side 500 m whatever m (--layout area, constant area) or 1000 sqrt(m/20) m (--layout density, 20 pairs per km^2). Each receiver is 10-50 m from its transmitter; path loss is 39 dB + 20 log10(d) up to 100 m and 40 log10(d) beyond, with 7 dB log-normal shadowing and Rayleigh fading that varies over time (receivers at 1 m/s, one step per ms, 2.4 GHz). Defaults follow the state-augmented paper's code: 6 pairs, 100 steps, P_max 10 dBm, noise -174 dBm/Hz over 10 MHz.

--physics varied writes networks of the generator gnn train --kind wireless trains on by default: each network draws its density (10-100 pairs per km^2), path loss, shadowing, Nakagami fading and distances from ranges (--layout, --side and --shadowing are then drawn, not given).

The file holds 'gains' (networks, T, m, m): power gains |h_ji|^2, rows transmitters, columns receivers (the diagonal is each pair's direct link); 'p_max_dbm' and 'noise_dbm' (total over the band); the positions 'tx' and 'rx' (metres); and 'config', the settings as JSON.

Examples:

  gnn channels --pairs 50 --layout density --networks 100 --seed 1 --out test50.npz

  gnn channels --pairs 20 --steps 200 --out small.npz --json

  gnn channels --physics varied --pairs 50 --networks 100 --seed 1 --out varied50.npz
""")


def register(app: typer.Typer) -> None:
    @app.command("channels", help=HELP)
    @handle_errors
    def channels(
        out: Annotated[str, typer.Option("--out", "-o", help="Output .npz file.")],
        pairs: Annotated[int, typer.Option(help="Transmitter-receiver pairs m.")] = 6,
        networks: Annotated[int, typer.Option(help="Networks to generate.")] = 1,
        steps: Annotated[int, typer.Option(help="Time steps T per network.")] = 100,
        physics: Annotated[str, typer.Option(help="paper (the fixed physics above) or varied (gnn train's default generator: every network draws its own).", metavar="paper|varied")] = "paper",
        layout: Annotated[Optional[str], typer.Option(help="area (500 m square) or density (side 1000 sqrt(m/20) m). [default: area]")] = None,
        side: Annotated[Optional[float], typer.Option(help="Side of the square in metres (overrides --layout's).")] = None,
        seed: Annotated[int, typer.Option(help="Seed; network k is the same whatever --networks is.")] = 0,
        p_max: Annotated[float, typer.Option("--p-max", help="Largest transmit power, dBm.")] = 10.0,
        noise_psd: Annotated[float, typer.Option(help="Noise power spectral density, dBm/Hz.")] = -174.0,
        bandwidth: Annotated[float, typer.Option(help="Bandwidth, Hz.")] = 10e6,
        shadowing: Annotated[Optional[float], typer.Option(help="Log-normal shadowing standard deviation, dB. [default: 7.0]")] = None,
        speed: Annotated[float, typer.Option(help="Receiver speed, m/s (sets the Doppler of the fading).")] = 1.0,
        json_out: Annotated[bool, typer.Option("--json", help="Print what was written as JSON on stdout.")] = False,
    ) -> None:
        from gnncli.domains.wireless.files import write_generated
        from gnncli.domains.wireless.generator import PHYSICS, Variation
        from gnncli.errors import UsageError
        from gnncli.progress import Reporter

        if physics not in PHYSICS:
            raise UsageError(f"--physics {physics}: choose from {', '.join(PHYSICS)}")
        # The fixed physics given here; what is not given keeps ChannelConfig's defaults.
        given = {key: value for key, value in (("layout", layout), ("side", side), ("shadowing_db", shadowing))
                 if value is not None}
        if physics == "varied":
            if given:
                flags = {"layout": "--layout", "side": "--side", "shadowing_db": "--shadowing"}
                raise UsageError(f"{', '.join(flags[k] for k in given)}: not with --physics varied (each network draws its own)")
            given = {"variation": Variation()}
        progress = make_progress()
        with progress:
            summary = write_generated(
                out, pairs=pairs, networks=networks, steps=steps, seed=seed, p_max_dbm=p_max, noise_dbm_hz=noise_psd,
                bandwidth_hz=bandwidth, speed_mps=speed, reporter=Reporter(progress), **given,
            )
        console.print(f"wrote {summary['networks']} network(s) of {summary['pairs']} pairs over {summary['steps']} steps to {out}",
                      highlight=False)
        if json_out:
            print_json(summary)
