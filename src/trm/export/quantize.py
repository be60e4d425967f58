"""Dynamic int8 quantization of an exported model with onnxruntime's quantizer.

Design choices:

- **Dynamic, weights only ahead of time.** ``onnxruntime.quantization.quantize_dynamic`` stores the
  weight matrices of MatMul/Gemm nodes as 8-bit integers and quantizes activations on the fly
  (``DynamicQuantizeLinear``: uint8, one scale and zero point per tensor per call), so no calibration
  data is needed and the file shrinks ~4x in its matmul weights. The recursion's elementwise ops, rms
  norms, embeddings and state stay fp32.
- **uint8 weights, so that no x86 CPU computes a different integer matmul** (scheme ``"u8"``).
  onnxruntime's default, int8 weights, runs as a u8 x s8 ``MatMulInteger``; its AVX2 kernel (CPUs
  without VNNI: most AMD EPYC and Ryzen before Zen 4, Intel before Ice Lake) adds products in pairs
  into saturating int16 lanes (``vpmaddubsw``), and ``2 * 255 * 127 = 64,770`` does not fit: large
  activations meeting large weights clip. With VNNI or AMX the same graph is exact. Measured on a
  6x6 test model: int8 and fp32 argmax agreed on 95.6% of cells on a VNNI CPU and 88.2% on an AMD
  EPYC with AVX2 only (``trm.export.int8_kernels`` emulates that kernel and reproduces the 88.2%).
  With uint8 weights the graph runs on u8 x u8 kernels, which widen both operands to int16 before
  multiplying (``vpmaddwd``, int32 sums): exact on every x86 CPU, with the full 8 bits of weight
  resolution (asymmetric: min..max of each matrix). Its cost is speed: u8 x u8 kernels widen to 16
  bits, and a trained quick-start step took ~1.4x as long as with int8 weights on a VNNI CPU (0.68 s
  against 0.50 s, batch 64, timed alternately); its accuracy tied with them (93.4% exact both; fp32
  94.0%). ``benchmarks/export.py --int8-schemes`` measures every scheme natively and under the AVX2
  emulation (README, Deploy).
- **Rejected**: 7-bit int8 weights (``reduce_range``; safe, since 2 * 255 * 64 < 32,768, and as fast
  as int8, but one bit coarser: tied with uint8 on the trained quick-start, 0.5-6 points fewer cells
  agreeing with fp32 on the untrained test models); per-channel scales (gained nothing there); s8 x s8
  (no x86 SIMD kernel: MLAS runs it in plain C++); the QDQ format (static: needs calibration data,
  and its QLinearMatMul uses the same u8 x s8 kernels); onnxruntime's ``session.x64quantprecision``
  session option (it converts int8 weights to uint8 when a session loads, but only in the sessions
  that set it; the file should be right in any onnxruntime).
- Activations get ONE scale per tensor per call, computed over the whole batch: an int8 model's answer
  for a puzzle can depend slightly on the other puzzles of its batch (fp32 answers do not), and the
  recursion runs 36+ int8 matmuls per step, so a weakly trained model with small logit margins
  changes cells.
- Other schemes are kept for measurement (``SCHEMES``): ``"u8-per-channel"`` (one scale and zero
  point per output column), ``"s8-7bit"`` and ``"s8"`` (onnxruntime's default, which saturates on
  AVX2). Every scheme but ``"s8"`` is checked after quantizing: no MatMulInteger may be able to
  saturate (:func:`trm.export.int8_kernels.saturation_risks`).
- The ``trm.*`` metadata is copied from the fp32 file with ``trm.quantization = "int8"``, and the result
  is written atomically (the quantizer writes into a temporary folder first).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from trm.export.int8_kernels import saturation_risks
from trm.export.onnx_step import write_with_metadata
from trm.runtime.metadata import PREFIX

# scheme -> (weights uint8?, per output column?, 7-bit weights?)
SCHEMES: dict[str, tuple[bool, bool, bool]] = {
    "u8": (True, False, False),
    "u8-per-channel": (True, True, False),
    "s8-7bit": (False, False, True),
    "s8": (False, False, False),  # onnxruntime's default: clips on AVX2 without VNNI
}
UNSAFE = {"s8"}


def quantize_int8(src: str | Path, out: str | Path, *, scheme: str = "u8") -> Path:
    """Write a dynamically int8-quantized copy of the exported model ``src`` to ``out``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if scheme not in SCHEMES:
        raise ValueError(f"unknown int8 scheme {scheme!r} (one of {', '.join(SCHEMES)})")
    unsigned, per_channel, reduce_range = SCHEMES[scheme]
    src, out = Path(src), Path(out)
    props = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    if props.get(PREFIX + "format") is None:
        raise ValueError(f"{src}: not a trm export (no '{PREFIX}format' metadata key)")
    props = {k: v for k, v in props.items() if k.startswith(PREFIX)}
    props[PREFIX + "quantization"] = "int8"
    with tempfile.TemporaryDirectory(prefix="trm-quantize-") as tmp:
        raw = Path(tmp) / "int8.onnx"
        quantize_dynamic(
            src,
            raw,
            weight_type=QuantType.QUInt8 if unsigned else QuantType.QInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
        )
        proto = onnx.load(str(raw))
    risks = [] if scheme in UNSAFE else saturation_risks(proto)
    if risks:
        raise RuntimeError(f"{src}: int8 scheme {scheme!r} left matmuls that can saturate: {risks[:3]}")
    write_with_metadata(proto, out, props)
    return out
