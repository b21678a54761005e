"""Run the pipeline in-process with a fixed QA timestamp, so two code versions can be compared.

Usage (from the checkout whose code is to run; PYTHONPATH=<checkout> for another worktree):
    python benchmarks/fixed_time_run.py blinded|unblinded LANDING WAREHOUSE RESTRICTED
It sets the environment the code location reads and gives qa_queries / qa_export_status a fixed
``as_of``; see CONTRIBUTING.md (outputs stay byte-identical) and benchmarks/compare_outputs.py.
"""

import os
import sys

if __name__ == "__main__":
    mode, landing, warehouse, restricted = sys.argv[1:5]
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    os.environ["TRIALPIPE_LANDING"] = landing
    os.environ["TRIALPIPE_WAREHOUSE"] = warehouse
    os.environ["TRIALPIPE_MODE"] = mode
    if mode == "unblinded":
        os.environ["TRIALPIPE_RESTRICTED"] = restricted
    else:
        os.environ.pop("TRIALPIPE_RESTRICTED", None)
    import pipelines

    print("code from", pipelines.__file__, file=sys.stderr)
    import pipelines.run as r

    AS_OF = "2026-12-01T02:00:00Z"
    orig = r._quiet_console
    r._quiet_console = lambda: {
        **orig(),
        "ops": {k: {"config": {"as_of": AS_OF}} for k in ("qa_queries", "qa_export_status")},
    }
    out = r.run_pipeline()
    print(out.success, out.message)
    sys.exit(0 if out.success else 1)
