"""rewire_bridge: export PyTorch graphs to rewire's protobuf IR and run them
through rewire (train/eval switch, executor). See python/README in the
package docstrings: exporter.py, runner.py, proto.py."""
from .exporter import (UnsupportedError, export_module, export_program,
                       load_state, trace_training)
from .runner import Report, RewireError, run, switch, time_switch

__all__ = ["UnsupportedError", "export_module", "export_program", "load_state",
           "trace_training", "Report", "RewireError", "run", "switch", "time_switch"]
