"""The original ``nasbench`` modules, mirrored name for name: change one import and existing
NAS-Bench-101 code runs on the real table or on a surrogate.

=========================================  =========================================
original                                   here
=========================================  =========================================
``from nasbench import api``               ``from nb101.compat import api``
``from nasbench.lib import graph_util``    ``from nb101.compat import graph_util``
``from nasbench.lib import model_spec``    ``from nb101.compat import model_spec``
=========================================  =========================================

See :mod:`nb101.compat.api` for what ``NASBench`` opens and where it differs.
"""

from . import api, graph_util, model_spec

__all__ = ["api", "graph_util", "model_spec"]
