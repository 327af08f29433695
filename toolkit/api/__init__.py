"""The library API: the only functions the CLI calls. Heavy imports happen inside them.

Every function takes a model as a reference name, a .keras path or an already loaded
LoadedModel (loaded once, then reused), and lists rather than comma-separated strings
("all" is a list item like any other). Nothing here prints: long work reports through
the `on_*` callbacks.
"""

from toolkit.api.benchmarking import RUN_BATCHES, RUN_SETTINGS, RUN_TIME_BUDGET_S, RunResult, benchmark, run
from toolkit.api.checking import check_parity, parity_row_count
from toolkit.api.common import DEFAULT_OUT, InputRange, ModelRef, OnStart, list_models, load
from toolkit.api.explaining import explain, explain_variant
from toolkit.api.exporting import export
from toolkit.api.scaling import auto_jobs, check_parity_models, export_models, models_in
from toolkit.api.serving import demo_server, start_demo
from toolkit.scale.run import LOCAL_RAY, Scale

__all__ = ["DEFAULT_OUT", "LOCAL_RAY", "RUN_BATCHES", "RUN_SETTINGS", "RUN_TIME_BUDGET_S", "InputRange", "ModelRef",
           "OnStart", "RunResult", "Scale", "auto_jobs", "benchmark", "check_parity", "check_parity_models",
           "demo_server", "explain", "explain_variant", "export", "export_models", "list_models", "load", "models_in",
           "parity_row_count", "run", "start_demo"]
