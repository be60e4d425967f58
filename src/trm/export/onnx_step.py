"""Export ONE supervision step of a TRM/HRM model to ONNX; the runtime loops it N times.

The graph (names are the ONNX input/output names; B = batch, L = cells, S = prefix + L, D = width):

    inputs [B, L] int64, puzzle_identifiers [B] int64, y [B, S, D] f32, z [B, S, D] f32, reset [B] bool
        -> y_out [B, S, D], z_out [B, S, D], logits [B, L, V] f32, halt_signal [B] f32

It is the model's own ``forward(carry, batch)`` in eval mode: slots with ``reset`` start from the
model's y0, z0 (stored in the graph), the others continue from (y, z); the step runs T(n+1) network
calls; ``halt_signal`` is :func:`trm.rollout.halt_signal` (q_halt, or q_halt - q_continue with
Q-learning halting), whose sign is the halting head's decision. The traced step is the rollout
engine's torch step (:class:`trm.rollout.torch_step.TorchStepper`), with ``reset`` as its input.

Design choices:

- **One step, looped by the runtime, not N steps unrolled.** The graph of one step is 1/N_sup the
  size to build, load and optimise (an unrolled Sudoku graph would hold 16 x 21 = 336 network calls),
  the runtime can run any number of steps (more than N_sup too, as the torch solver can), and it
  sees every step's answer, so it gives the same step trace as :class:`trm.inference.solver.Solver`.
  The cost is that y and z cross the graph boundary once per step ([B, 916, 512] f32 = 1.9 MB per
  ARC puzzle): a copy, small next to 15 network calls. The same graph serves Sudoku (97 positions)
  and ARC (916 positions) sizes, MLP-T and attention (rotary) mixers, TRM and HRM, and the
  direct-prediction baseline (its one step ignores y and z; unused inputs may be pruned by the
  exporter, and the runtime feeds only the inputs a graph declares).
- **Plain ops.** Exported in eval mode under ``torch.no_grad()``: ``models/kernels.py`` then picks no
  custom autograd function (those run only when a gradient is needed), so the exporter sees
  ordinary matmuls, elementwise ops and ``scaled_dot_product_attention``; weights are fp32 and so is
  the graph (no autocast).
- **Exporter.** The TorchScript-based exporter (``dynamo=False``) by default: it exported the tiny test
  models in ~4 s against ~45 s for the dynamo exporter on a shared 2-core machine, with the same
  outputs to 1e-5; ``exporter="dynamo"`` selects the other. The batch axis is dynamic unless a fixed
  batch is asked for.
- The file is written atomically (exported into a temporary folder, then the metadata is added and
  the bytes are renamed into place). The 2 GB protobuf limit applies: an ARC model with ~1M puzzle
  identifiers (a 2 GB embedding table) is refused with a clear error.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from trm.data.format import atomic_file
from trm.models.carry import Carry
from trm.rollout.torch_step import TorchStepper
from trm.runtime.metadata import INPUTS, OUTPUTS

OPSET = 18
_PROTOBUF_LIMIT = 2**31 - 1


class SupervisionStep(nn.Module):
    """A model's ``forward(carry, batch)`` as a function of plain tensors (the exported graph)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, inputs: Tensor, puzzle_identifiers: Tensor, y: Tensor, z: Tensor, reset: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        batch = {"inputs": inputs, "puzzle_identifiers": puzzle_identifiers}
        steps = torch.zeros(inputs.shape[0], dtype=torch.int32, device=inputs.device)
        carry = Carry(y=y, z=z, steps=steps, halted=reset, data=batch)
        new, logits, signal = TorchStepper(self.model, inputs.device).step(carry, batch, reset)
        return new.y, new.z, logits, signal


def example_args(model: nn.Module, batch: int, seed: int = 0) -> tuple[Tensor, ...]:
    """Example graph inputs for ``batch`` rows: random tokens, identifier 0, zero states, all reset."""
    config = model.config
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, int(config.vocab_size), (batch, int(config.seq_len)), generator=g)
    ids = torch.zeros(batch, dtype=torch.long)
    state = model.initial_carry({"inputs": inputs, "puzzle_identifiers": ids}).y  # [B, S, D]
    zeros = torch.zeros(state.shape, dtype=torch.float32)
    return inputs, ids, zeros, zeros.clone(), torch.ones(batch, dtype=torch.bool)


def export_step(
    model: nn.Module,
    out: str | Path,
    *,
    props: dict[str, str],
    batch: int | None = None,
    exporter: Literal["torchscript", "dynamo"] = "torchscript",
) -> Path:
    """Write one supervision step of ``model`` (on CPU, eval mode) to ``out`` with metadata ``props``.

    ``batch=None`` makes the batch axis dynamic; an int fixes it.
    """
    import onnx

    if batch is not None and batch <= 0:
        raise ValueError(f"batch must be positive or None (dynamic), got {batch}")
    nbytes = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    if nbytes >= _PROTOBUF_LIMIT:
        raise ValueError(
            f"the model holds {nbytes / 2**30:.2f} GiB of weights; one ONNX file holds at most 2 GiB "
            "(an ARC puzzle-identifier table this large is not supported by trm export yet)"
        )
    out = Path(out)
    step = SupervisionStep(model.to("cpu").eval()).eval()
    args = example_args(model, batch or 2)
    with tempfile.TemporaryDirectory(prefix="trm-export-") as tmp:
        raw = Path(tmp) / "step.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            # The models' shape checks read static sizes (L, D are fixed by the config): constants are right.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings(
                "ignore", message=".*legacy TorchScript-based ONNX", category=DeprecationWarning
            )
            warnings.filterwarnings(
                "ignore", message="The feature will be removed", category=DeprecationWarning
            )
            if exporter == "torchscript":
                axes = None if batch else {name: {0: "batch"} for name in (*INPUTS, *OUTPUTS)}
                torch.onnx.export(
                    step, args, str(raw), input_names=list(INPUTS), output_names=list(OUTPUTS),
                    dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                )  # fmt: skip
            elif exporter == "dynamo":
                dim = torch.export.Dim("batch")
                shapes = None if batch else tuple({0: dim} for _ in INPUTS)
                program = torch.onnx.export(
                    step, args, input_names=list(INPUTS), output_names=list(OUTPUTS),
                    dynamic_shapes=shapes, opset_version=OPSET, dynamo=True,
                )  # fmt: skip
                program.save(str(raw))
            else:
                raise ValueError(f"unknown exporter {exporter!r} (torchscript or dynamo)")
        proto = onnx.load(str(raw))
    share_initializers(proto)
    write_with_metadata(proto, out, props)
    return out


def share_initializers(proto) -> int:
    """Let every node read each weight from one initializer (returns how many nodes were rewired).

    The trace unrolls the T(n+1) network calls of a step; the exporter feeds the later calls' copies of
    a weight through ``Identity`` nodes, folding a weight view twice can give two equal copies, and each
    call gets its own ``Constant`` nodes of the rotary tables (4 MB at the paper's attention size).
    Consumers are pointed at one initializer per distinct content and the bypassed ``Identity`` nodes
    dropped, so each weight is stored once and the int8 quantizer (which quantizes a MatMul only when
    its weight *is* an initializer) sees every weight.
    """
    graph = proto.graph
    lifted = []  # large Constant nodes (e.g. rotary cos/sin, one per call) become initializers too
    for node in graph.node:
        value = node.attribute[0].t if node.op_type == "Constant" and node.attribute else None
        if value is not None and node.attribute[0].name == "value" and len(value.raw_data) >= 1024:
            tensor = type(value)()
            tensor.CopyFrom(value)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
            lifted.append(node)
    for node in lifted:
        graph.node.remove(node)
    first: dict[tuple, str] = {}
    rename: dict[str, str] = {}
    kept = []
    for init in graph.initializer:
        key = (init.data_type, tuple(init.dims), init.raw_data)
        if init.raw_data and key in first:
            rename[init.name] = first[key]
            continue
        first.setdefault(key, init.name)
        kept.append(init)
    graph_outputs = {o.name for o in graph.output}
    nodes = []
    for node in graph.node:
        source = rename.get(node.input[0], node.input[0]) if node.input else None
        if node.op_type == "Identity" and source in first.values() and node.output[0] not in graph_outputs:
            rename[node.output[0]] = source
            continue
        nodes.append(node)
    rewired = 0
    for node in nodes:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
                rewired += 1
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return rewired


def write_with_metadata(proto, out: str | Path, props: dict[str, str]) -> None:
    """Replace the ``trm.*`` metadata of an ONNX ``ModelProto`` with ``props`` and write it atomically."""
    kept = [(p.key, p.value) for p in proto.metadata_props if not p.key.startswith("trm.")]
    del proto.metadata_props[:]
    for key, value in [*kept, *sorted(props.items())]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_file(out, "wb") as f:
        f.write(proto.SerializeToString())
