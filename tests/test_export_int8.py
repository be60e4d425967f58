"""The int8 kernels' arithmetic: what can saturate on x86, the AVX2 emulation, and the int8 schemes.

Every test holds on every x86 CPU: the emulation is built from float ops that are exact for these
integers, and the native runs are of u8 x u8 matmuls or of int8 weights within [-64, 64], which no x86
kernel can saturate. (A native u8 x s8 run with full-range weights is NOT compared with exact
arithmetic: it is exact with VNNI or AMX and clips on AVX2.)
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from trm.export.int8_kernels import emulate_avx2, saturation_risks
from trm.export.quantize import SCHEMES, UNSAFE, quantize_int8


def one_matmul(w: np.ndarray, zero_b: np.ndarray, k: int) -> onnx.ModelProto:
    """A graph of one ``MatMulInteger(a [2, 5, k] u8, w [k, N], za, zero_b)`` with trm metadata."""
    a = helper.make_tensor_value_info("a", TensorProto.UINT8, [2, 5, k])
    za = helper.make_tensor_value_info("za", TensorProto.UINT8, [])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, None)
    node = helper.make_node("MatMulInteger", ["a", "w", "za", "zb"], ["y"], name="mm")
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(zero_b, "zb")]
    model = helper.make_model(helper.make_graph([node], "g", [a, za], [y], inits),
                              opset_imports=[helper.make_opsetid("", 18)])  # fmt: skip
    model.metadata_props.add(key="trm.format", value="test")
    return model


def reference(a: np.ndarray, za: int, w: np.ndarray, zero_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(AVX2 u8 x s8 result, exact result) in int64: raw products summed in pairs (k, k+1) that clip to
    int16, then zero-point corrections."""
    k = w.shape[0]
    w2 = np.zeros((k + k % 2, w.shape[1]), np.int64)
    w2[:k] = w
    a2 = np.zeros(a.shape[:-1] + (k + k % 2,), np.int64)
    a2[..., :k] = a
    products = a2[..., :, None] * w2  # [..., K, N]
    pairs = products[..., 0::2, :] + products[..., 1::2, :]
    zb = zero_b.astype(np.int64)
    correction = (
        -za * w.astype(np.int64).sum(0) - zb * a.astype(np.int64).sum(-1, keepdims=True) + k * za * zb
    )
    return np.clip(pairs, -32768, 32767).sum(-2) + correction, pairs.sum(-2) + correction


def run(model: onnx.ModelProto, a: np.ndarray, za: int) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"a": a, "za": np.array(za, np.uint8)})[0]


@pytest.mark.parametrize("k", [7, 64])  # odd K: the kernel's zero padding
@pytest.mark.parametrize("per_column", [False, True])
def test_emulation_clips_pairs_as_the_avx2_kernel(tmp_path, rng, k, per_column):
    """Full-range int8 weights: the emulated graph computes the saturating pair sums exactly (and they
    differ from the exact product); weights within [-64, 64] give the exact product, natively too."""
    zero_b = (rng.integers(-3, 4, 11) if per_column else np.array(0)).astype(np.int8)
    a = rng.integers(0, 256, (2, 5, k)).astype(np.uint8)
    a[0, 0] = 255  # a row at the top of the range: its pairs clip against any large weights
    za = int(rng.integers(0, 256))
    for bound in (127, 64):
        w = rng.integers(-bound, bound + 1, (k, 11)).astype(np.int8)
        w[:2, 0] = bound  # one pair of +bound weights
        path = tmp_path / f"w{bound}.onnx"
        onnx.save(one_matmul(w, zero_b, k), path)
        emulated = onnx.load(str(emulate_avx2(path, tmp_path / f"w{bound}.avx2.onnx")))
        clipped, exact = reference(a, za, w, zero_b)
        assert (run(emulated, a, za) == clipped).all()
        assert not any(n.op_type == "MatMulInteger" for n in emulated.graph.node)
        if bound == 127:
            assert (clipped != exact).any() and saturation_risks(one_matmul(w, zero_b, k))
        else:
            assert (clipped == exact).all() and saturation_risks(one_matmul(w, zero_b, k)) == []
            assert (run(one_matmul(w, zero_b, k), a, za) == exact).all()


def test_u8_weights_are_exact_natively(rng):
    """u8 x u8 at the extremes (255 x 255 everywhere) equals exact arithmetic on this CPU, whatever its
    kernel; the emulation leaves such a matmul as it is."""
    k = 64
    w = np.full((k, 11), 255, np.uint8)
    w[:, 1:] = rng.integers(0, 256, (k, 10))
    a = np.full((2, 5, k), 255, np.uint8)
    zero_b = np.array(3, np.uint8)
    model = one_matmul(w, zero_b, k)
    assert saturation_risks(model) == []
    _, exact = reference(a, 7, w, zero_b)
    assert (run(model, a, 7) == exact).all()


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    from trm.config import load_recipe
    from trm.data.format import DatasetMetadata
    from trm.export import export_model
    from trm.models import build_model

    meta = DatasetMetadata(
        task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1
    )
    config = load_recipe("quickstart", overrides=["model.hidden_size=16", "model.width_multiple=16",
                                                   "model.halt_max_steps=2"])  # fmt: skip
    return export_model(
        build_model(config, meta).eval(), config, meta, tmp_path_factory.mktemp("q") / "m.onnx"
    )


def test_every_scheme_but_s8_is_saturation_free(tiny_export, tmp_path):
    """The schemes' graphs, read back: only onnxruntime's default (full-range int8 weights) can clip."""
    for scheme in SCHEMES:
        model = onnx.load(str(quantize_int8(tiny_export, tmp_path / f"{scheme}.onnx", scheme=scheme)))
        assert any(n.op_type == "MatMulInteger" for n in model.graph.node)
        assert bool(saturation_risks(model)) == (scheme in UNSAFE), scheme
    with pytest.raises(ValueError, match="unknown int8 scheme 'u4'"):
        quantize_int8(tiny_export, tmp_path / "x.onnx", scheme="u4")
