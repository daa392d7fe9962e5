"""Instance sets, the benchmark runner and its reports (``pebble-sched bench``)."""

from .instances import InstanceSet as InstanceSet
from .instances import find_instances as find_instances
from .instances import read_index as read_index
from .instances import write_index as write_index
from .report import markdown_report as markdown_report
from .runner import BenchConfig as BenchConfig
from .runner import Result as Result
from .runner import run_bench as run_bench
