"""Multiply-add work of an ONNX graph, counted from the shapes it really runs with.

Static shape inference cannot follow the Reshape chains of an exported
ViT, so the graph is run once on one input with every matrix product's
operands exposed as outputs; their actual shapes give the count. Matrix
products (MatMul, MatMulInteger, Gemm) and convolutions are counted, 2
FLOPs per multiply-add; element-wise work (LayerNorm, GELU, softmax) is
left out, so the figure is a slight undercount, which is the conservative
side for a GFLOP/s claim.
"""

from __future__ import annotations

import numpy as np

PRODUCTS = ("MatMul", "MatMulInteger", "Gemm", "Conv", "ConvInteger")


def flops_per_item(path: str, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one run of the graph at ``path`` on a batch of one ``input_shape`` item (batch axis first)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    weights = {init.name: tuple(init.dims) for init in model.graph.initializer}
    nodes = [node for node in model.graph.node if node.op_type in PRODUCTS]
    outputs = {output.name for output in model.graph.output}
    names = []
    for node in nodes:
        for name in (node.input[0], node.input[1], node.output[0]):
            if name not in weights and name not in names:
                names.append(name)
    for name in names:
        if name not in outputs:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the nodes as exported
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.zeros((1, *input_shape), dtype=np.float32)}
    shapes = dict(weights)
    shapes.update({name: value.shape for name, value in zip(names, session.run(names, feed))})
    total = 0
    for node in nodes:
        first, second, out = shapes[node.input[0]], shapes[node.input[1]], shapes[node.output[0]]
        per_output = int(np.prod(second[1:])) if node.op_type.startswith("Conv") else first[-1]
        total += 2 * int(np.prod(out)) * per_output
    return total
