"""What x86 integer matmul kernels compute for an int8 export: a saturation check and an AVX2 emulation.

Dynamic int8 quantization turns each weight MatMul into ``MatMulInteger(A, B)``: A holds the
activations as uint8 (``DynamicQuantizeLinear``), B the stored weights. ONNX Runtime runs it with its
MLAS kernels, which differ by CPU (onnxruntime's ``core/mlas/lib/x86_64/QgemmU8X8KernelAvx2.S`` and
neighbours):

- **u8 x s8 on AVX2 (and AVX-512 without VNNI)**: ``vpmaddubsw`` multiplies 4 consecutive K bytes of a
  row of A with the same 4 K bytes of a column of B and adds the products in pairs, (k, k+1) for even
  k, into *saturating* int16 lanes; ``vpmaddwd`` by 1 then widens the pairs to int32. A pair of
  ``255 * 127`` products is 64,770 > 32,767, so the sum clips: the kernel adds the raw bytes (the
  zero points are corrected afterwards, exactly), so large activations meeting large weights of the
  same sign clip whatever the zero point of A.
- **u8 x s8 with VNNI or AMX**: ``vpdpbusd`` (or AMX tiles) accumulate the same products in int32:
  exact.
- **u8 x u8 on every x86 kernel**: both operands are zero-extended to int16 and ``vpmaddwd`` adds
  pairs of products into int32 (255 * 255 * 2 < 2^31): exact. s8 x s8 has no x86 SIMD kernel; MLAS
  runs it in plain C++ (exact, slow).

:func:`saturation_risks` reads a graph and lists the MatMulIntegers whose pairs could clip on some
x86 kernel (none for a u8-weight graph). :func:`emulate_avx2` rewrites a graph so that every u8 x s8
MatMulInteger computes what the AVX2 kernel computes, in float ops that are exact on every CPU: it is
an *emulation* (ONNX Runtime has no switch that restricts MLAS to AVX2: it picks kernels from CPUID),
used to measure on any machine the answers an AVX2-only CPU gives. Checked against a real AVX2 CPU
(AMD EPYC, no VNNI): ``tests/test_export_onnx.py``'s tiny model agreed with fp32 on 88.2% of cells
there; the emulation of that graph, run on a VNNI CPU, gives the same 88.2% (95.6% native).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INT16_MAX = 32767
U8_MAX = 255
# an s8 weight w cannot make a saturating pair when 2 * 255 * |w| <= 32767
SAFE_S8_WEIGHT = INT16_MAX // (2 * U8_MAX)  # 64


def _initializers(graph) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def saturation_risks(model) -> list[str]:
    """Each MatMulInteger of ``model`` (an ``onnx.ModelProto``) whose int16 pair sums could clip on an
    x86 CPU without VNNI, as one line naming it; an empty list means no x86 kernel can saturate.

    Safe: uint8 weights (the u8 x u8 kernels widen to int16 first), or int8 weights within
    ``[-64, 64]`` (a pair of products is at most 2 * 255 * 64 = 32,640), or a second operand that
    ``DynamicQuantizeLinear`` makes (uint8). Any other run-time operand cannot be bounded and is
    listed."""
    inits = _initializers(model.graph)
    dynamic_u8 = {n.output[0] for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"}
    risks = []
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or node.input[1] in dynamic_u8:  # u8 x u8: exact
            continue
        w = inits.get(node.input[1])
        if w is None:
            risks.append(f"{node.name}: weight {node.input[1]!r} is computed at run time")
        elif w.dtype == np.int8 and int(np.abs(w.astype(np.int32)).max(initial=0)) > SAFE_S8_WEIGHT:
            peak = int(np.abs(w.astype(np.int32)).max())
            risks.append(f"{node.name}: int8 weights up to |{peak}| > {SAFE_S8_WEIGHT} (u8 x s8 pairs clip)")
    return risks


def _const(name: str, value: np.ndarray):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value), name)


def _emulated_nodes(node, weight: np.ndarray, zero_b: np.ndarray, k: int) -> tuple[list, list]:
    """(nodes, initializers) that compute ``node``'s int32 output as the AVX2 u8 x s8 kernel does."""
    from onnx import TensorProto, helper

    p = f"{node.name or node.output[0]}/avx2"
    a, out = node.input[0], node.output[0]
    zero_a = node.input[2] if len(node.input) > 2 and node.input[2] else None
    pairs = (k + 1) // 2
    # float32 is exact for the pairs (< 2^17) and, below 512 pairs, for their clipped sum (< 2^24)
    acc = np.float32 if pairs < 512 else np.float64
    acc_type = TensorProto.FLOAT if acc is np.float32 else TensorProto.DOUBLE
    b = np.zeros((2 * pairs, weight.shape[1]), acc)
    b[:k] = weight
    zb = zero_b.astype(np.float64).reshape(-1)  # [] or [N]
    inits = [
        _const(f"{p}/B", b.reshape(pairs, 2, -1)),  # [K/2, 2, N]
        _const(f"{p}/pad", np.array([0, 0, 0, 1], np.int64)),  # [R, K] -> [R, K + 1]
        _const(f"{p}/rows", np.array([-1, k], np.int64)),
        _const(f"{p}/pairs", np.array([-1, pairs, 2], np.int64)),
        _const(f"{p}/lo", np.array(-INT16_MAX - 1, acc)),
        _const(f"{p}/hi", np.array(INT16_MAX, acc)),
        _const(f"{p}/colsum", weight.astype(np.float64).sum(axis=0)),  # [N]
        _const(f"{p}/zb", zb),
        _const(f"{p}/kzb", k * zb),
        _const(f"{p}/axis0", np.array([0], np.int64)),
        _const(f"{p}/axis1", np.array([1], np.int64)),
        _const(f"{p}/minus1", np.array([-1], np.int64)),
        _const(f"{p}/start0", np.array([0], np.int64)),
        _const(f"{p}/n", np.array([weight.shape[1]], np.int64)),
    ]
    nodes = [
        helper.make_node("Shape", [a], [f"{p}/a_shape"]),  # [..., M, K]
        helper.make_node("Slice", [f"{p}/a_shape", f"{p}/start0", f"{p}/minus1"], [f"{p}/lead"]),
        helper.make_node("Concat", [f"{p}/lead", f"{p}/n"], [f"{p}/out_shape"], axis=0),
        helper.make_node("Reshape", [a, f"{p}/rows"], [f"{p}/a2"]),  # [R, K] u8
        helper.make_node("Cast", [f"{p}/a2"], [f"{p}/af"], to=acc_type),
    ]
    if 2 * pairs != k:  # odd K: a zero column, as the kernel pads its packed rows with zeros
        nodes.append(helper.make_node("Pad", [f"{p}/af", f"{p}/pad"], [f"{p}/afp"]))
        padded = f"{p}/afp"
    else:
        padded = f"{p}/af"
    nodes += [
        helper.make_node("Reshape", [padded, f"{p}/pairs"], [f"{p}/a3"]),  # [R, K/2, 2]
        helper.make_node("Transpose", [f"{p}/a3"], [f"{p}/a4"], perm=[1, 0, 2]),  # [K/2, R, 2]
        helper.make_node("MatMul", [f"{p}/a4", f"{p}/B"], [f"{p}/pair"]),  # [K/2, R, N] pair sums
        helper.make_node("Clip", [f"{p}/pair", f"{p}/lo", f"{p}/hi"], [f"{p}/sat"]),  # int16 lanes
        helper.make_node("ReduceSum", [f"{p}/sat", f"{p}/axis0"], [f"{p}/sum"], keepdims=0),  # [R, N]
        helper.make_node("Cast", [f"{p}/sum"], [f"{p}/s"], to=TensorProto.DOUBLE),
    ]
    # zero points, corrected exactly: sum (a - za)(b - zb) = sum ab - za sum b - zb sum a + k za zb
    total = f"{p}/s"
    if zero_a is not None:
        nodes += [
            helper.make_node("Cast", [zero_a], [f"{p}/za"], to=TensorProto.DOUBLE),
            helper.make_node("Mul", [f"{p}/za", f"{p}/colsum"], [f"{p}/za_b"]),
            helper.make_node("Sub", [total, f"{p}/za_b"], [f"{p}/s1"]),
        ]
        total = f"{p}/s1"
    if np.any(zb != 0):
        nodes += [
            helper.make_node("Cast", [f"{p}/a2"], [f"{p}/ad"], to=TensorProto.DOUBLE),
            helper.make_node("ReduceSum", [f"{p}/ad", f"{p}/axis1"], [f"{p}/rowsum"], keepdims=1),
            helper.make_node("Mul", [f"{p}/rowsum", f"{p}/zb"], [f"{p}/zb_a"]),
            helper.make_node("Sub", [total, f"{p}/zb_a"], [f"{p}/s2"]),
        ]
        total = f"{p}/s2"
        if zero_a is not None:
            nodes += [
                helper.make_node("Mul", [f"{p}/za", f"{p}/kzb"], [f"{p}/kzz"]),
                helper.make_node("Add", [total, f"{p}/kzz"], [f"{p}/s3"]),
            ]
            total = f"{p}/s3"
    nodes += [
        helper.make_node("Cast", [total], [f"{p}/i32"], to=TensorProto.INT32),
        helper.make_node("Reshape", [f"{p}/i32", f"{p}/out_shape"], [out]),
    ]
    return nodes, inits


def emulate_avx2(src: str | Path, out: str | Path) -> Path:
    """Write a copy of the int8 export ``src`` in which every u8 x s8 MatMulInteger computes what
    onnxruntime's AVX2 kernel (no VNNI) computes: int16-saturating sums of (k, k+1) product pairs, then
    exact int32 sums and zero-point corrections. u8 x u8 MatMulIntegers are kept (exact on every
    x86 kernel). The copy gives the same answers on every CPU; it is for measurement, not deployment."""
    import onnx

    from trm.export.onnx_step import write_with_metadata

    src, out = Path(src), Path(out)
    model = onnx.load(str(src))
    graph = model.graph
    inits = _initializers(graph)
    new_nodes, new_inits = [], []
    for node in graph.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMulInteger" else None
        if w is None or w.dtype != np.int8:
            new_nodes.append(node)
            continue
        if w.ndim != 2:
            raise ValueError(f"{src}: {node.name} has a {w.ndim}-d weight (expected [K, N])")
        zb_name = node.input[3] if len(node.input) > 3 and node.input[3] else None
        zero_b = inits[zb_name] if zb_name else np.zeros((), np.int8)
        nodes, extra = _emulated_nodes(node, w, zero_b, w.shape[0])
        new_nodes += nodes
        new_inits += extra
    used = {name for node in new_nodes for name in node.input}
    kept = [i for i in [*graph.initializer, *new_inits] if i.name in used]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(new_nodes)
    graph.initializer.extend(kept)
    props = {p.key: p.value for p in model.metadata_props if p.key.startswith("trm.")}
    write_with_metadata(model, out, props)
    return out
