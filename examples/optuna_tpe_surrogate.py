"""Optuna's TPE on the bundled surrogate, at full budget or multi-fidelity with a pruner.

    python examples/optuna_tpe_surrogate.py                     # 200 trials at 108 epochs
    python examples/optuna_tpe_surrogate.py --pruner hyperband  # 4/12/36/108 epochs, pruned
    python examples/optuna_tpe_surrogate.py --smoke             # 20 trials

Prints the best config's cell, its validation accuracy (the objective) and the surrogate's
predicted test accuracy, and the training time the study charged.
"""

from __future__ import annotations

import _common


def main(argv=None) -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--pruner", choices=("median", "sha", "hyperband"), default=None)
    p.add_argument("--encoding", choices=("A", "C"), default="A")
    args = p.parse_args(argv)
    import optuna

    from hpo.optuna_adapter import run_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bench = _common.surrogate(args.seed)
    trials = 20 if args.smoke else args.trials
    study = run_study(
        bench,
        n_trials=trials,
        sampler="tpe",
        pruner=args.pruner,
        seed=args.seed,
        encoding=args.encoding,
    )
    best = study.best_trial
    cell = best.user_attrs["cell"]
    spent, epochs = bench.get_budget_counters()
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    invalid = sum(t.user_attrs.get("valid") is False for t in study.trials)
    predicted = float(bench.predict("test_accuracy@108", [cell])[0])
    print(
        f"Optuna TPE on the bundled surrogate, encoding {args.encoding}, "
        f"pruner {args.pruner}, seed {args.seed}: {trials} trials ({pruned} pruned, "
        f"{invalid} invalid configs)"
    )
    print(
        f"best cell {bench.space.hash(cell)} (index {cell}): validation accuracy "
        f"{best.value:.4f}, predicted test accuracy {predicted:.4f}"
    )
    print(
        f"charged: {spent:,.0f} s of training, {epochs:,} epochs "
        f"({epochs / 108:.1f} full trainings)"
    )


if __name__ == "__main__":
    main()
