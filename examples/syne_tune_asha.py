"""Syne Tune's ASHA in simulated time on the table and on the bundled surrogate.

    python examples/syne_tune_asha.py                        # both backends, 1 day simulated
    python examples/syne_tune_asha.py --backend surrogate --hours 72
    python examples/syne_tune_asha.py --smoke                # 1 simulated hour

ASHA (grace period 4 epochs, reduction factor 3: rungs at 4, 12, 36, 108 epochs) with 4
workers; every budget a trial reaches is a separate training charged in full, as the original
API charges it. Both backends answer the same cells (those the table covers at every budget:
a config's cell is mapped onto them). Prints, per backend, the trials run, the best
validation error found and the table's test accuracy of that cell.
"""

from __future__ import annotations

import _common


def run(blackbox, *, hours: float, seed: int):
    """The results of one ASHA simulation (a data frame, one row per reported result)."""
    from syne_tune.optimizer.baselines import ASHA

    from hpo.syne_tune_adapter import simulate

    scheduler = ASHA(
        blackbox.configuration_space,
        metric="validation_error",
        do_minimize=True,
        time_attr="epochs",
        max_t=108,
        grace_period=4,
        reduction_factor=3,
        random_seed=seed,
    )
    return simulate(blackbox, scheduler, max_wallclock_time=hours * 3600, n_workers=4, seed=seed)


def best_cell(blackbox, frame) -> tuple[int, float]:
    """The cell of the lowest validation error reported at 108 epochs, and that error."""
    full = frame[frame["epochs"] == 108]
    row = full.loc[full["validation_error"].idxmin()]
    config = {k[len("config_") :]: row[k] for k in frame.columns if k.startswith("config_")}
    return blackbox.cell(config), float(row["validation_error"])


def main(argv=None) -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("table", "surrogate", "both"), default="both")
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours per run")
    args = p.parse_args(argv)
    from hpo.syne_tune_adapter import SurrogateBlackbox, TableBlackbox

    hours = 1.0 if args.smoke else args.hours
    table, cell_map, table_name = _common.table(args.seed)
    blackboxes = {}
    if args.backend in ("table", "both"):
        blackboxes[table_name] = TableBlackbox(table, cell_map=cell_map)
    if args.backend in ("surrogate", "both"):
        blackboxes["bundled surrogate"] = SurrogateBlackbox(cell_map=cell_map)
    for name, blackbox in blackboxes.items():
        frame = run(blackbox, hours=hours, seed=args.seed)
        cell, error = best_cell(blackbox, frame)
        print(
            f"ASHA on the {name}, {hours:g} simulated hours, seed {args.seed}: "
            f"{frame['trial_id'].nunique()} trials, {len(frame)} results; best validation "
            f"error {error:.4f} at cell {cell}, whose {table_name} test accuracy is "
            f"{_common.table_test_accuracy(table, cell):.4f}"
        )


if __name__ == "__main__":
    main()
