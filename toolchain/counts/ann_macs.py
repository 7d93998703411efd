"""Dense and effective MACs per layer of an ANN, counted from its exported ONNX graph.

Per sample (one classification):
- Gemm / MatMul with a weight initializer: dense = rows x n_in x n_out, where rows is the number of
  input vectors the layer sees per sample (1 for an MLP layer).
- Conv: dense = output elements x (C_in / groups x kernel size).
- Effective (NeuroBench SynapticOperations on an ANN): with inputs given, each layer's input is
  read back from onnxruntime and every nonzero input element times its nonzero weights is counted
  (for Conv: the convolution of the binarised input with the binarised kernel, summed).
- activations: output elements of Relu nodes (one comparison each); `relu_outputs` lists them per Relu
  node in graph order (the i-th Relu activates the i-th MAC layer's output in the models exported here).
- inputs / outputs: elements per sample of each MAC layer's input and output tensors.
Biases are not counted as MACs (as in NeuroBench). Pooling, reshapes and the like are not counted.
Difference from NeuroBench's Dense for Conv: NeuroBench convolves an all-ones input inside the
layer's zero padding, so padded positions drop out; ours counts the full kernel at every output
position (what dense hardware computes). Gemm/MatMul agree exactly.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

MAC_OPS = ("Gemm", "MatMul", "Conv")


def _attrs(node) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _shapes(model) -> dict[str, list]:
    """Inferred shapes: name -> list of dims (int, or None where symbolic such as the batch)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    out = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    return out


def _per_sample(dims: list) -> int:
    """Elements per sample of a tensor whose first dim is the batch."""
    rest = dims[1:]
    if any(d is None for d in rest):
        raise ValueError(f"non-batch dimension is not static: {dims}")
    return int(np.prod(rest, dtype=np.int64)) if rest else 1


def _layers(model) -> tuple[list[dict[str, Any]], int]:
    """MAC layers (with their [n_out, n_in...] weight) in graph order, and Relu outputs per sample."""
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    shapes = _shapes(model)
    found = []
    for idx, node in enumerate(model.graph.node):
        if node.op_type not in MAC_OPS or len(node.input) < 2 or node.input[1] not in inits:
            continue
        a = _attrs(node)
        w = inits[node.input[1]]
        name = node.name or f"{node.op_type}_{idx}"
        if node.op_type == "Gemm":
            if a.get("transA", 0):
                raise ValueError(f"{name}: Gemm with transA=1 is not supported")
            wmat = w if a.get("transB", 0) else w.T  # [n_out, n_in]
            dense = wmat.size  # one input vector per sample
        elif node.op_type == "MatMul":
            wmat = w.T
            dense = _per_sample(shapes[node.input[0]]) // wmat.shape[1] * wmat.size  # input vectors x weights
        else:
            wmat = w  # [C_out, C_in / groups, *kernel]
            dense = _per_sample(shapes[node.output[0]]) * int(np.prod(w.shape[1:]))
        found.append({"name": name, "op": node.op_type, "input": node.input[0], "weight": wmat,
                      "attrs": a, "weights": int(w.size), "nonzero_weights": int(np.count_nonzero(w)),
                      "dense_macs": int(dense), "inputs": _elements(shapes, node.input[0]),
                      "outputs": _elements(shapes, node.output[0])})
    relu = [_per_sample(shapes[n.output[0]]) for n in model.graph.node if n.op_type == "Relu"]
    return found, relu


def _elements(shapes: dict[str, list], name: str) -> int | None:
    """Elements per sample of tensor `name`, or None where its shape is not inferred."""
    try:
        return _per_sample(shapes[name])
    except (KeyError, ValueError):
        return None


def _effective(layer: dict[str, Any], x: np.ndarray) -> float:
    """Effective MACs per sample of one layer for its input batch x."""
    B = x.shape[0]
    w = layer["weight"]
    if layer["op"] in ("Gemm", "MatMul"):
        ev = (x.reshape(-1, w.shape[1]) != 0).astype(np.float64)
        return float((ev @ (w != 0).sum(axis=0).astype(np.float64)).sum()) / B
    import torch
    import torch.nn.functional as F

    a = layer["attrs"]
    nd = w.ndim - 2
    pads = list(a.get("pads", [0] * (2 * nd)))
    xb = torch.from_numpy((x != 0).astype(np.float64))
    # ONNX pads are [x1_begin, x2_begin, ..., x1_end, x2_end]; F.pad wants the last dim first
    torch_pad = []
    for d in reversed(range(nd)):
        torch_pad += [pads[d], pads[d + nd]]
    xb = F.pad(xb, torch_pad)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    out = conv(xb, torch.from_numpy((w != 0).astype(np.float64)), stride=a.get("strides", 1),
               dilation=a.get("dilations", 1), groups=a.get("group", 1))
    return float(out.sum()) / B


def ann_macs_from_onnx(path: str | os.PathLike, inputs: np.ndarray | None = None) -> dict[str, Any]:
    """Per-layer dense (and, with `inputs`, effective) MACs per sample of the ONNX model at `path`."""
    import onnx

    model = onnx.load(str(path))
    layers, relu = _layers(model)
    if not layers:
        raise ValueError(f"{path}: no Gemm/MatMul/Conv layer with a weight initializer was found")
    effective = None
    if inputs is not None:
        import onnxruntime as ort

        names = [la["input"] for la in layers]
        graph_inputs = {i.name for i in model.graph.input}
        extra = [n for n in dict.fromkeys(names) if n not in graph_inputs
                 and n not in {o.name for o in model.graph.output}]
        probe = onnx.shape_inference.infer_shapes(model)
        known = {vi.name: vi for vi in probe.graph.value_info}
        for n in extra:
            probe.graph.output.append(known[n] if n in known else onnx.helper.make_empty_tensor_value_info(n))
        sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
        feed_name = sess.get_inputs()[0].name
        fetched = dict(zip([o.name for o in sess.get_outputs()],
                           sess.run(None, {feed_name: np.asarray(inputs, dtype=np.float32)})))
        fetched[feed_name] = np.asarray(inputs, dtype=np.float32)
        effective = []
        for la in layers:
            la["effective_macs"] = _effective(la, fetched[la["input"]])
            effective.append(la["effective_macs"])
    out_layers = [{k: la[k] for k in ("name", "op", "weights", "nonzero_weights", "dense_macs", "inputs", "outputs")}
                  | {"effective_macs": la.get("effective_macs")} for la in layers]
    return {"source": str(path), "layers": out_layers,
            "dense_macs": int(sum(la["dense_macs"] for la in layers)),
            "effective_macs": float(sum(effective)) if effective is not None else None,
            "activations": int(sum(relu)), "relu_outputs": relu,
            "parameters": int(sum(la["weights"] for la in layers)),
            "samples": int(inputs.shape[0]) if inputs is not None else 0}


def ann_macs_from_sizes(sizes: list[int]) -> dict[str, Any]:
    """Dense MACs of a ReLU MLP with these layer sizes (input first): the same-topology ANN baseline
    used when no trained ANN is given. Effective MACs need activations and are left unknown."""
    layers = [{"name": f"fc{i + 1}", "op": "Gemm", "weights": sizes[i] * sizes[i + 1],
               "nonzero_weights": sizes[i] * sizes[i + 1], "dense_macs": sizes[i] * sizes[i + 1],
               "inputs": sizes[i], "outputs": sizes[i + 1], "effective_macs": None}
              for i in range(len(sizes) - 1)]
    return {"source": f"same-topology ReLU MLP {'-'.join(map(str, sizes))} (dense MACs from layer sizes)",
            "layers": layers, "dense_macs": int(sum(la["dense_macs"] for la in layers)),
            "effective_macs": None, "activations": int(sum(sizes[1:-1])), "relu_outputs": list(sizes[1:-1]),
            "parameters": int(sum(la["weights"] for la in layers)), "samples": 0}


def ann_macs_from_topology(topo) -> dict[str, Any]:
    """Dense MACs of the same-topology ReLU network of a Topology with conv or recurrent layers (an
    input population has no ANN counterpart: the ANN takes the input values themselves). Per layer:
    dense n_in x n_out; conv output elements x C_in/groups x kernel size (as `ann_macs_from_onnx` counts
    Conv, padding included); dense_rec (n_in + n_out) x n_out per sample (an Elman layer evaluated once).
    Effective MACs need activations and are left unknown."""
    layers = []
    conns = [c for c in topo.connections if c.kind != "input"]
    for conn in conns:
        if conn.kind == "conv":
            dense = conn.n_out * int(np.prod(conn.mask.shape[1:]))
            op = "Conv"
        else:
            dense = conn.n_in * conn.n_out + (conn.n_out * conn.n_out if conn.recurrent else 0)
            op = "Gemm"
        layers.append({"name": conn.name, "op": op, "weights": int(conn.stored_weights),
                       "nonzero_weights": int(conn.stored_weights), "dense_macs": int(dense),
                       "inputs": int(conn.n_in), "outputs": int(conn.n_out), "effective_macs": None})
    kinds = "-".join(c.kind for c in conns)
    relu = [c.n_out for c in conns[:-1]]
    return {"source": f"same-topology ReLU network ({kinds}; dense MACs from the layer geometry)",
            "layers": layers, "dense_macs": int(sum(la["dense_macs"] for la in layers)),
            "effective_macs": None, "activations": int(sum(relu)), "relu_outputs": relu,
            "parameters": int(sum(la["weights"] for la in layers)), "samples": 0}
