"""Reference-format checkpoints (TRM MLP-T, TRM attention, HRM) converted to our models.

Two kinds of evidence: the outputs the reference code itself computed (``golden.npz`` beside the
checkpoints in the shared data, made by running it), and state dicts built here from the key table,
checked key by key and by a forward pass against an independent float64 computation written below.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import shared_data_dir
from trm.checkpoints import CheckpointError, load_any, load_official
from trm.checkpoints.reference import resolve_reference
from trm.config import ModelConfig, RunConfig
from trm.data.errors import InputError

REFERENCE = shared_data_dir() / "reference_checkpoints"
KINDS = ["trm_mlpt", "trm_att", "hrm"]


def _steps(model, inputs, ids, n):
    batch = {"inputs": torch.as_tensor(inputs).long(), "puzzle_identifiers": torch.as_tensor(ids).long()}
    carry, outs = model.initial_carry(batch), []
    with torch.no_grad():
        for _ in range(n):
            carry, out = model(carry, batch)
            outs.append(out)
    return outs


@pytest.mark.parametrize("kind", KINDS)
def test_reproduces_the_reference_code_outputs(kind):
    folder = REFERENCE / kind
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    golden = np.load(folder / "golden.npz")
    model, config, metadata = load_official(folder)
    assert metadata.task == "sudoku" and metadata.seq_len == 81 and metadata.num_puzzle_identifiers == 3
    assert config.model.arch == ("hrm" if kind == "hrm" else "trm")
    outs = _steps(model, golden["inputs"], golden["puzzle_identifiers"], 3)
    for s, out in enumerate(outs):
        logits = torch.from_numpy(golden["logits"][s])
        # Step 1 agrees to ~1e-5; fp32 rounding is amplified by the recursion (the MLP-T model's step 3
        # differs by 2.7e-4 from the reference, as much as our own fp32 run differs from our float64 run).
        torch.testing.assert_close(out.logits, logits, atol=1e-4 if s == 0 else 1e-3, rtol=0)
        assert torch.equal(out.logits.argmax(-1), logits.argmax(-1))
        torch.testing.assert_close(out.q_halt, torch.from_numpy(golden["q_halt"][s]), atol=2e-4, rtol=0)
        if kind == "hrm":  # Q-learning halting: the continue logit too
            torch.testing.assert_close(
                out.q_continue, torch.from_numpy(golden["q_continue"][s]), atol=2e-4, rtol=0
            )
    # The file itself and the folder give the same model; load_any takes both.
    same, _, _ = load_any(folder / "step_1", device="cpu")
    for (name, p), q in zip(model.state_dict().items(), same.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


# -- reference state dicts built from the key table ------------------------------------------------------


def _trunc(*shape, g, scale=0.3):
    return torch.randn(*shape, generator=g).clamp_(-2, 2).mul_(scale)


def _swiglu_width(n: int) -> int:
    """The reference SwiGLU width for expansion 4: round(4 * n * 2/3) rounded up to a multiple of 256."""
    return -(-round(4 * n * 2 / 3) // 256) * 256


def _reference_files(
    tmp_path, kind, *, compiled=True, ndim=32, d=32, seq=16, vocab=11, ids=5, prefix=4, layers=2, heads=2
):
    """A reference checkpoint folder: step_7 with the reference key names, all_config.yaml, dataset.json."""
    g = torch.Generator().manual_seed(KINDS.index(kind))
    hrm, mlp_t = kind == "hrm", kind == "trm_mlpt"
    p = -(-ndim // d) if hrm else prefix
    width = seq + p
    inter, inter_t = _swiglu_width(d), _swiglu_width(width)
    state = {
        "H_init": _trunc(d, g=g, scale=1.0).bfloat16(),
        "L_init": _trunc(d, g=g, scale=1.0).bfloat16(),
        "embed_tokens.embedding_weight": _trunc(vocab, d, g=g),
        "lm_head.weight": _trunc(vocab, d, g=g),
        "q_head.weight": _trunc(2, d, g=g),
        "q_head.bias": _trunc(2, g=g),
        "puzzle_emb.weights": _trunc(ids, ndim, g=g, scale=0.5),
    }
    levels = {"H_level": layers, "L_level": layers} if hrm else {"L_level": layers}
    for level, n in levels.items():
        for i in range(n):
            pre = f"{level}.layers.{i}."
            if mlp_t:
                state[pre + "mlp_t.gate_up_proj.weight"] = _trunc(
                    2 * inter_t, width, g=g, scale=1 / math.sqrt(width)
                )
                state[pre + "mlp_t.down_proj.weight"] = _trunc(
                    width, inter_t, g=g, scale=1 / math.sqrt(inter_t)
                )
            else:
                state[pre + "self_attn.qkv_proj.weight"] = _trunc(3 * d, d, g=g, scale=1 / math.sqrt(d))
                state[pre + "self_attn.o_proj.weight"] = _trunc(d, d, g=g, scale=1 / math.sqrt(d))
            state[pre + "mlp.gate_up_proj.weight"] = _trunc(2 * inter, d, g=g, scale=1 / math.sqrt(d))
            state[pre + "mlp.down_proj.weight"] = _trunc(d, inter, g=g, scale=1 / math.sqrt(inter))
    arch = {
        "name": "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"
        if hrm
        else "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1",
        "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
        "puzzle_emb_ndim": ndim, "H_cycles": 2, "L_cycles": 2, "hidden_size": d, "expansion": 4,
        "num_heads": heads, "halt_max_steps": 4, "halt_exploration_prob": 0.1, "forward_dtype": "bfloat16",
        "pos_encodings": "none" if mlp_t else "rope", "L_layers": layers, "H_layers": layers if hrm else 0,
    }  # fmt: skip
    if not hrm:
        arch.update(mlp_t=mlp_t, puzzle_emb_len=prefix, no_ACT_continue=True, causal=False)
    folder = tmp_path / kind
    folder.mkdir()
    head = ("_orig_mod." if compiled else "") + "model.inner."
    torch.save({head + k: v for k, v in state.items()}, folder / "step_7")
    (folder / "all_config.yaml").write_text(yaml.safe_dump({"arch": arch, "lr": 1e-4, "run_name": kind}))
    dataset = {"pad_id": 0, "ignore_label_id": 0, "vocab_size": vocab, "seq_len": seq,
               "num_puzzle_identifiers": ids, "sets": ["all"]}  # fmt: skip
    (folder / "dataset.json").write_text(json.dumps(dataset))
    return folder, state, arch


# Our names, written out independently of trm.checkpoints.reference's table.
_EXPECTED = {
    "H_init": "y0", "L_init": "z0", "embed_tokens.embedding_weight": "embed.tokens.weight",
    "lm_head.weight": "lm_head.weight", "q_head.weight": "q_head.weight", "q_head.bias": "q_head.bias",
    "puzzle_emb.weights": "embed.puzzle.weight",
}  # fmt: skip


def _expected_name(key: str) -> str:
    if key in _EXPECTED:
        return _EXPECTED[key]
    level, _, i, rest = key.split(".", 3)
    module = {"L_level": "net", "H_level": "net_y"}[level]
    part = {
        "mlp_t.gate_up_proj.weight": "mix.mlp.gate_up.weight",
        "mlp_t.down_proj.weight": "mix.mlp.down.weight",
        "self_attn.qkv_proj.weight": "mix.qkv.weight", "self_attn.o_proj.weight": "mix.out.weight",
        "mlp.gate_up_proj.weight": "mlp.gate_up.weight", "mlp.down_proj.weight": "mlp.down.weight",
    }[rest]  # fmt: skip
    return f"{module}.blocks.{i}.{part}"


def _rms(x, dim=-1):
    return x * torch.rsqrt(x.square().mean(dim, keepdim=True) + 1e-5)


def _swiglu(x, gate_up, down):
    gate, up = (x @ gate_up.t()).chunk(2, dim=-1)
    return (F.silu(gate) * up) @ down.t()


def _rope(x, theta=10000.0):  # x [B, L, H, hd], rotate-half
    hd, length = x.shape[-1], x.shape[1]
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = torch.outer(torch.arange(length, dtype=torch.float64), inv)
    ang = torch.cat((ang, ang), dim=-1)[None, :, None, :]
    rotated = torch.cat((-x[..., hd // 2 :], x[..., : hd // 2]), dim=-1)
    return x * ang.cos() + rotated * ang.sin()


def _attention(h, qkv_w, o_w, heads):
    b, length, d = h.shape
    q, k, v = (h @ qkv_w.t()).view(b, length, 3 * heads, d // heads).split(heads, dim=2)
    q, k = _rope(q), _rope(k)
    p = torch.softmax(torch.einsum("blhd,bmhd->bhlm", q, k) / math.sqrt(d // heads), dim=-1)
    return torch.einsum("bhlm,bmhd->blhd", p, v).reshape(b, length, d) @ o_w.t()


def _level(w, name, h, injection, heads):
    h = h + injection
    i = 0
    while f"{name}.layers.{i}.mlp.down_proj.weight" in w:
        pre = f"{name}.layers.{i}."
        if pre + "mlp_t.gate_up_proj.weight" in w:
            t = h.transpose(1, 2)
            h = _rms(t + _swiglu(t, w[pre + "mlp_t.gate_up_proj.weight"], w[pre + "mlp_t.down_proj.weight"]))
            h = h.transpose(1, 2)
        else:
            attn = _attention(
                h, w[pre + "self_attn.qkv_proj.weight"], w[pre + "self_attn.o_proj.weight"], heads
            )
            h = _rms(h + attn)
        h = _rms(h + _swiglu(h, w[pre + "mlp.gate_up_proj.weight"], w[pre + "mlp.down_proj.weight"]))
        i += 1
    return h


def _independent_steps(state, arch, inputs, ids, n):
    """The reference recursion from its own weight names, in float64: logits and q per step."""
    w = {k: v.double() for k, v in state.items()}
    hrm = "hrm" in arch["name"]
    d = arch["hidden_size"]
    p = -(-arch["puzzle_emb_ndim"] // d) if hrm else arch["puzzle_emb_len"]
    b = inputs.shape[0]
    emb = F.pad(w["puzzle_emb.weights"][ids], (0, p * d - arch["puzzle_emb_ndim"])).view(b, p, d)
    x = math.sqrt(d) * torch.cat((emb, w["embed_tokens.embedding_weight"][inputs]), dim=1)
    z_h = w["H_init"].expand(b, x.shape[1], d)
    z_l = w["L_init"].expand(b, x.shape[1], d)
    out = []
    for _ in range(n):
        for _ in range(arch["H_cycles"]):
            for _ in range(arch["L_cycles"]):
                z_l = _level(w, "L_level", z_l, z_h + x, arch["num_heads"])
            z_h = _level(w, "H_level" if hrm else "L_level", z_h, z_l, arch["num_heads"])
        q = z_h[:, 0] @ w["q_head.weight"].t() + w["q_head.bias"]
        out.append(((z_h @ w["lm_head.weight"].t())[:, p:], q))
    return out


@pytest.mark.parametrize("compiled", [True, False], ids=["orig_mod", "plain"])
@pytest.mark.parametrize("kind", KINDS)
def test_key_table_converts_key_by_key_and_computes_the_same(tmp_path, kind, compiled):
    ndim = 20 if kind == "hrm" else 32  # HRM: a puzzle embedding narrower than hidden is zero-padded
    folder, state, arch = _reference_files(tmp_path, kind, compiled=compiled, ndim=ndim)
    _, config, metadata, ours = resolve_reference(folder, RunConfig.model_validate({"task": "toy"}))
    assert set(ours) == {_expected_name(k) for k in state}
    for key, value in state.items():
        assert ours[_expected_name(key)].dtype == torch.float32
        assert torch.equal(ours[_expected_name(key)], value.float()), key  # bf16 y0/z0 keep their values
    m = config.model
    assert (m.vocab_size, m.seq_len, m.num_puzzle_identifiers, metadata.grid_shape) == (11, 16, 5, (4, 4))
    assert m.puzzle_emb_len == (1 if kind == "hrm" else 4) and config.train.lr == 1e-4

    model, _, _ = load_official(folder, RunConfig.model_validate({"task": "toy"}))
    model = model.double()
    g = torch.Generator().manual_seed(1)
    inputs, ids = torch.randint(0, 11, (3, 16), generator=g), torch.tensor([0, 4, 2])
    ours, theirs = _steps(model, inputs, ids, 2), _independent_steps(state, arch, inputs, ids, 2)
    for out, (logits, q) in zip(ours, theirs, strict=True):
        # float64 throughout; our model returns logits and q in float32, hence 1e-6 and not 1e-12.
        torch.testing.assert_close(out.logits.double(), logits, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(out.q_halt.double(), q[:, 0], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "kind, layers, count",
    [
        ("trm_mlpt", 2, 5_028_866),
        ("trm_att", 2, 6_828_034),
        pytest.param("hrm", 4, 27_275_266, marks=pytest.mark.slow),
    ],
)
def test_paper_sized_reference_checkpoints_convert_to_the_papers_parameter_counts(
    tmp_path, kind, layers, count
):
    """d=512, 8 heads, Sudoku (vocab 11, seq 81), a 16-position prefix (HRM: 1): the reference counts."""
    from trm.models import count_parameters

    folder, _, _ = _reference_files(
        tmp_path, kind, d=512, ndim=512, heads=8, seq=81, ids=1, prefix=16, layers=layers
    )
    model, config, _ = load_official(folder)
    assert count_parameters(model) == count and config.task == "sudoku"


def test_missing_facts_are_inferred_or_named(tmp_path):
    """Attention weights do not show seq_len; without dataset.json it comes from the task or an option."""
    (tmp_path / "a").mkdir()
    folder, _, _ = _reference_files(tmp_path / "a", "trm_att", vocab=7, seq=16)
    (folder / "dataset.json").unlink()
    with pytest.raises(CheckpointError, match="pass --task"):
        load_official(folder)
    with pytest.raises(CheckpointError, match="pass --seq-len"):
        load_official(folder, RunConfig.model_validate({"task": "toy"}))
    _, config, metadata, _ = resolve_reference(
        folder, RunConfig.model_validate({"task": "toy", "model": {"seq_len": 16}})
    )
    assert config.model.seq_len == 16 and metadata.grid_shape == (4, 4)
    # vocab 6 is the maze vocabulary: the task and seq_len 900 follow, unless seq_len says otherwise.
    folder, _, _ = _reference_files(tmp_path, "trm_att", vocab=6, seq=16)
    (folder / "dataset.json").unlink()
    _, config, metadata, _ = resolve_reference(folder)
    assert (config.task, config.model.seq_len, metadata.grid_shape) == ("maze", 900, (30, 30))
    with pytest.raises(CheckpointError, match="pass --task"):
        resolve_reference(folder, ModelConfig(seq_len=16))  # a partial ModelConfig: only seq_len is set
    # vocab 12 is ARC's: 30x30 grids of 900 cells, one identifier per puzzle-embedding row.
    (tmp_path / "b").mkdir()
    folder, _, _ = _reference_files(tmp_path / "b", "trm_att", vocab=12, ids=9)
    (folder / "dataset.json").unlink()
    _, config, metadata, _ = resolve_reference(folder)
    assert (metadata.task, metadata.seq_len, metadata.grid_shape, metadata.num_puzzle_identifiers) == (
        "arc", 900, (30, 30), 9,
    )  # fmt: skip


def test_contradictions_and_unknown_weights_are_errors(tmp_path):
    folder, state, _ = _reference_files(tmp_path, "trm_mlpt")
    with pytest.raises(CheckpointError, match="checkpoint has vocab_size=11"):
        load_official(folder, RunConfig.model_validate({"task": "toy", "model": {"vocab_size": 12}}))
    torch.save(
        {"model.inner." + k: v for k, v in state.items()}
        | {"model.inner.embed_pos.embedding_weight": state["lm_head.weight"]},
        folder / "step_8",
    )
    with pytest.raises(CheckpointError, match="learned position embeddings") as info:
        load_official(folder, RunConfig.model_validate({"task": "toy"}))
    assert "step_8" in str(info.value) and isinstance(info.value, InputError)
    (folder / "step_8").unlink()
    dataset = json.loads((folder / "dataset.json").read_text())
    (folder / "dataset.json").write_text(json.dumps({**dataset, "seq_len": 17}))
    with pytest.raises(CheckpointError, match="the weights imply seq_len=16"):  # MLP-T width 20 - prefix 4
        load_official(folder, RunConfig.model_validate({"task": "toy"}))
    (folder / "all_config.yaml").unlink()
    with pytest.raises(CheckpointError, match="no config beside it") as info:
        load_official(folder)
    assert "H_cycles, L_cycles, halt_max_steps, no_ACT_continue: pass --arch H_cycles=<T>" in str(info.value)


class _Exploit:
    """Unpickling this creates a file: what a malicious checkpoint would do (or worse)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_malicious_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "evil"
    folder.mkdir()
    torch.save(
        {"model.inner.lm_head.weight": torch.zeros(2, 2), "payload": _Exploit(marker)}, folder / "step_1"
    )
    with pytest.raises(CheckpointError, match="refused") as info:
        load_any(folder, device="cpu")
    assert str(folder / "step_1") in str(info.value) and "io.open" in str(info.value)
    assert not marker.exists()
    (folder / "step_1").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_any(folder / "step_1", device="cpu")
    assert not marker.exists()
