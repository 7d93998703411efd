"""lava-dl netx HDF5 (.net): write the IR for stock netx, run it there, and import netx networks.

    layers.py  one writer and one reader per layer kind (input, conv, flatten, dense, dense_rec)
    files.py   write_netx / netx_problems / check_netx_file (digest over the datasets)
    run.py     load_netx / run_netx: the file through stock lava.lib.dl.netx.hdf5.Network on Lava
    read.py    read_netx: a .net file (e.g. lava-dl's PilotNet) as a neurodeploy IR
"""

from export.netx.files import check_netx_file, netx_problems, write_netx
from export.netx.layers import NetxExportError, NetxImportError
from export.netx.read import read_netx
from export.netx.run import load_netx, run_netx

__all__ = ["NetxExportError", "NetxImportError", "check_netx_file", "load_netx", "netx_problems", "read_netx",
           "run_netx", "write_netx"]
