"""Back ends that read the IR (or the float network) and write/run something else.

    lava_graph.py     the IR as Lava process parameters; run on Loihi2SimCfg, or export a standalone folder
    lava_runtime.py   builds/runs the Lava graph from those parameters (numpy + lava only; copied into exports)
    lava_models/      custom Lava processes: the subtractive-reset LIF
    netx.py           lava-dl netx HDF5 (.net), loadable by lava.lib.dl.netx.hdf5.Network
    nir_export.py     NIR graph of the float model (nir.write / nir.read)
    onnx_export.py    the ANN baseline as ONNX, run with onnxruntime
"""
