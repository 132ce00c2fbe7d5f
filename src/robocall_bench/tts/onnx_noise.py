"""Make a VITS ONNX graph deterministic per call by feeding its random noise from numpy.

Piper voices contain ``RandomNormalLike`` nodes (stochastic duration predictor and the prior
sample). onnxruntime seeds those kernels once, when the session is created, and advances their
state on every run, so ``onnxruntime.set_seed`` before a call does not reproduce an utterance:
the output depends on how many utterances the process rendered before. We therefore rewrite each

    y = RandomNormalLike(x)

into ``y = Reshape(Gather(noise_k, Range(0, Size(x)) mod Size(noise_k)), Shape(x))`` where
``noise_k`` is a new 1-D graph input filled from a seeded numpy Generator, and expose
``Size(x)`` as an extra output so the caller can re-run with a longer buffer when it was short
(the modulo only keeps that first, discarded run valid). No ``onnx`` package is needed: a
minimal protobuf schema with the ONNX field numbers parses the model, and protobuf keeps all
fields it does not know (weights, opsets, ...) verbatim when the model is serialized again.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..errors import RcbError

NOISE_PREFIX = "rcb_noise_"
NEED_PREFIX = "rcb_need_"
_RANDOM_OPS = {"RandomNormal", "RandomUniform", "RandomUniformLike", "Bernoulli", "Multinomial"}
_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_TENSOR = 4  # AttributeProto.AttributeType.TENSOR


@cache
def _model_class() -> Any:
    """Build (once) protobuf classes for the subset of onnx.proto the rewrite touches."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="rcb_onnx_subset.proto", package="rcbonnx", syntax="proto2")
    rep, opt = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    schema = {  # message -> [(field, number, type, label, message type)] as in onnx.proto
        "Model": [("graph", 7, F.TYPE_MESSAGE, opt, "Graph")],
        "Graph": [
            ("node", 1, F.TYPE_MESSAGE, rep, "Node"),
            ("input", 11, F.TYPE_MESSAGE, rep, "ValueInfo"),
            ("output", 12, F.TYPE_MESSAGE, rep, "ValueInfo"),
        ],
        "Node": [
            ("input", 1, F.TYPE_STRING, rep, ""),
            ("output", 2, F.TYPE_STRING, rep, ""),
            ("name", 3, F.TYPE_STRING, opt, ""),
            ("op_type", 4, F.TYPE_STRING, opt, ""),
            ("attribute", 5, F.TYPE_MESSAGE, rep, "Attr"),
        ],
        "Attr": [
            ("name", 1, F.TYPE_STRING, opt, ""),
            ("f", 2, F.TYPE_FLOAT, opt, ""),
            ("i", 3, F.TYPE_INT64, opt, ""),
            ("t", 5, F.TYPE_MESSAGE, opt, "Tensor"),
            ("type", 20, F.TYPE_INT32, opt, ""),
        ],
        "Tensor": [("data_type", 2, F.TYPE_INT32, opt, ""), ("int64_data", 7, F.TYPE_INT64, rep, "")],
        "ValueInfo": [("name", 1, F.TYPE_STRING, opt, ""), ("type", 2, F.TYPE_MESSAGE, opt, "Type")],
        "Type": [("tensor_type", 1, F.TYPE_MESSAGE, opt, "TensorType")],
        "TensorType": [("elem_type", 1, F.TYPE_INT32, opt, ""), ("shape", 2, F.TYPE_MESSAGE, opt, "Shape")],
        "Shape": [("dim", 1, F.TYPE_MESSAGE, rep, "Dim")],
        "Dim": [("dim_value", 1, F.TYPE_INT64, opt, ""), ("dim_param", 2, F.TYPE_STRING, opt, "")],
    }
    for name, fields in schema.items():
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, label, tname in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if tname:
                f.type_name = f".rcbonnx.{tname}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("rcbonnx.Model"))


def _value_info(vi: Any, name: str, elem_type: int, dims: list[str]) -> None:
    vi.name = name
    tt = vi.type.tensor_type
    tt.elem_type = elem_type
    tt.shape.SetInParent()  # rank 0 (scalar) when dims is empty
    for d in dims:
        tt.shape.dim.add().dim_param = d


def patch_random_normal(model_bytes: bytes, source: str = "model") -> tuple[bytes, int]:
    """Rewrite every RandomNormalLike node of ``model_bytes`` as described in the module docstring.

    Returns (patched model bytes, number of noise inputs). Inputs are named ``rcb_noise_<k>``
    (float32, 1-D), the matching size outputs ``rcb_need_<k>`` (int64 scalars).
    """
    model = _model_class()()
    model.ParseFromString(model_bytes)
    graph = model.graph
    old = list(graph.node)
    if bad := sorted({n.op_type for n in old} & _RANDOM_OPS):
        raise RcbError(f"{source}: random op(s) {bad} cannot be made deterministic; use a Piper VITS voice")
    del graph.node[:]
    count = 0

    def add(op: str, inputs: list[str], output: str) -> Any:
        node = graph.node.add(op_type=op, name=output)
        node.input.extend(inputs)
        node.output.append(output)
        return node

    for name, value in (("zero", 0), ("one", 1)):  # int64 scalar constants for Range
        attr = add("Constant", [], f"{NOISE_PREFIX}{name}").attribute.add(name="value", type=_ATTR_TENSOR)
        attr.t.data_type = _INT64
        attr.t.int64_data.append(value)
    for node in old:
        if node.op_type != "RandomNormalLike":
            graph.node.add().CopyFrom(node)
            continue
        attrs = {a.name: a for a in node.attribute}
        if ("dtype" in attrs and attrs["dtype"].i != _FLOAT) or (
            ("mean" in attrs and attrs["mean"].f != 0.0) or ("scale" in attrs and attrs["scale"].f != 1.0)
        ):
            raise RcbError(f"{source}: unsupported RandomNormalLike attributes in node {node.name!r}")
        x, y, k = node.input[0], node.output[0], count
        p = f"{NOISE_PREFIX}{k}"
        add("Size", [x], f"{NEED_PREFIX}{k}")
        add("Size", [p], f"{p}/len")
        add("Range", [f"{NOISE_PREFIX}zero", f"{NEED_PREFIX}{k}", f"{NOISE_PREFIX}one"], f"{p}/range")
        add("Mod", [f"{p}/range", f"{p}/len"], f"{p}/idx")
        add("Gather", [p, f"{p}/idx"], f"{p}/flat")
        add("Shape", [x], f"{p}/shape")
        add("Reshape", [f"{p}/flat", f"{p}/shape"], y)
        _value_info(graph.input.add(), p, _FLOAT, [f"{p}_len"])
        _value_info(graph.output.add(), f"{NEED_PREFIX}{k}", _INT64, [])
        count += 1
    return model.SerializeToString(), count
