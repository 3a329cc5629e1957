"""The same optimizers on the table and on the surrogate: do both rank them alike?

    python examples/compare_table_surrogate.py              # TPE and random, 10 seeds
    python examples/compare_table_surrogate.py --smoke      # 2 seeds, 15 trials

Each optimizer (Optuna's TPE and random sampler, 108-epoch validation accuracy, encoding A)
runs with the same seeds on the table and on the bundled surrogate, both answering the same
cells (those the table covers at every budget: a config's cell is mapped onto them). Every
run's incumbent is scored by the table's 108-epoch test accuracy. Prints the mean score per
optimizer and backend, and whether the surrogate orders the optimizers as the table does.
"""

from __future__ import annotations

import _common
import numpy as np


def main(argv=None) -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=100)
    args = p.parse_args(argv)
    import optuna

    from hpo.optuna_adapter import run_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seeds = range(args.seed, args.seed + (2 if args.smoke else args.seeds))
    trials = 15 if args.smoke else args.trials
    table, cell_map, table_name = _common.table(args.seed)
    backends = {table_name: table, "bundled surrogate": _common.surrogate(args.seed)}
    scores: dict[tuple[str, str], list[float]] = {}
    for optimizer in ("tpe", "random"):
        for name, bench in backends.items():
            for seed in seeds:
                study = run_study(
                    bench, n_trials=trials, sampler=optimizer, seed=seed, cell_map=cell_map
                )
                cell = study.best_trial.user_attrs["cell"]
                scores.setdefault((optimizer, name), []).append(
                    _common.table_test_accuracy(table, cell)
                )
    print(
        f"{trials} trials per run, seeds {list(seeds)}; incumbent's {table_name} test "
        f"accuracy, mean over seeds:"
    )
    print(f"{'optimizer':<10}" + "".join(f"{name:>22}" for name in backends))
    means = {}
    for optimizer in ("tpe", "random"):
        row = [float(np.mean(scores[(optimizer, name)])) for name in backends]
        means[optimizer] = row
        print(f"{optimizer:<10}" + "".join(f"{v:>22.4f}" for v in row))
    orders = [means["tpe"][i] > means["random"][i] for i in range(len(backends))]
    print("same order of the optimizers on both backends:", orders[0] == orders[1])


if __name__ == "__main__":
    main()
