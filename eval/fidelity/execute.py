"""The executor: the jobs of :func:`eval.fidelity.collect` on joblib or on a Dask cluster."""

from __future__ import annotations

from .config import FidelityConfig
from .runs import run_job

__all__ = ["execute"]


def execute(jobs: list[dict], config: FidelityConfig) -> list[dict]:
    """Run every job (:func:`eval.fidelity.runs.run_job`), on ``config.scheduler`` if given,
    else on joblib; returns what the jobs return, in no particular order."""
    # grouped by backend, so a worker loads each backend once; longest jobs first within a
    # group for better packing
    order = {
        "bananas": 0,
        "syne-bore": 0,
        "optuna-tpe": 0,
        "syne-tpe": 0,
        "syne-bohb": 0,
        "bohb": 1,
        "reinforce": 2,
        "local": 3,
        "evolution": 4,
    }
    jobs = sorted(
        jobs,
        key=lambda j: (
            j["track"],
            j["kind"] != "table",
            j["label"],
            j["path"],
            order.get(j["optimizer"], 9),
            j["seed"],
        ),
    )
    from tqdm.auto import tqdm

    done = []
    with tqdm(
        total=len(jobs), desc="fidelity runs", unit="run", disable=not config.progress
    ) as bar:
        if config.scheduler:
            from dask.distributed import Client, as_completed

            with Client(config.scheduler) as client:
                futures = client.map(run_job, jobs, pure=False)
                for future in as_completed(futures):
                    done.append(future.result())  # re-raise a broken run here
                    bar.update(1)
            return done
        from joblib import Parallel, delayed

        parallel = Parallel(
            n_jobs=config.n_jobs, backend=config.joblib_backend, return_as="generator_unordered"
        )
        for out in parallel(delayed(run_job)(j) for j in jobs):
            done.append(out)
            bar.update(1)
    return done
