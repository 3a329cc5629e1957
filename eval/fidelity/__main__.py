"""``python -m eval.fidelity``: the fidelity study's command line (:mod:`eval.fidelity.cli`)."""

from eval.fidelity.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
