"""Dynamic int8 quantization of an exported model with onnxruntime's quantizer.

Design choices:

- **Dynamic, weights only ahead of time.** ``onnxruntime.quantization.quantize_dynamic`` stores the
  weight matrices of MatMul/Gemm nodes as int8 (signed, per tensor) and quantizes activations on the
  fly at run time, so no calibration data is needed and the file shrinks ~4x in its matmul weights.
  The recursion's elementwise ops, rms norms, embeddings and state stay fp32.
- Activations get ONE scale per tensor per call, computed over the whole batch: an int8 model's answer
  for a puzzle can depend slightly on the other puzzles of its batch (fp32 answers do not). Each int8
  matmul was measured at ~1% relative error on quick-start activations (emulated), but the recursion
  runs 36+ of them per step, so a weakly trained model with small logit margins changes cells.
- ``per_channel`` (one scale per output column) is an option: it costs little and often keeps more
  accuracy on tiny models whose weight columns differ in range.
- The ``trm.*`` metadata is copied from the fp32 file with ``trm.quantization = "int8"``, and the result
  is written atomically (the quantizer writes into a temporary folder first).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from trm.export.onnx_step import write_with_metadata
from trm.runtime.metadata import PREFIX


def quantize_int8(src: str | Path, out: str | Path, *, per_channel: bool = False) -> Path:
    """Write a dynamically int8-quantized copy of the exported model ``src`` to ``out``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, out = Path(src), Path(out)
    props = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    if props.get(PREFIX + "format") is None:
        raise ValueError(f"{src}: not a trm export (no '{PREFIX}format' metadata key)")
    props = {k: v for k, v in props.items() if k.startswith(PREFIX)}
    props[PREFIX + "quantization"] = "int8"
    with tempfile.TemporaryDirectory(prefix="trm-quantize-") as tmp:
        raw = Path(tmp) / "int8.onnx"
        quantize_dynamic(src, raw, weight_type=QuantType.QInt8, per_channel=per_channel)
        proto = onnx.load(str(raw))
    write_with_metadata(proto, out, props)
    return out
