"""``fast_build``: a model built from its weights equals one built and loaded the ordinary way, keeps
the weights' memory (no copy of a memory-mapped table) and computes its derived buffers itself."""

from __future__ import annotations

import pytest
import torch

from conftest import random_batch
from trm.checkpoints.fast_build import build_with_weights
from trm.config import RunConfig
from trm.data.format import DatasetMetadata
from trm.models import build_model

META = DatasetMetadata(task="toy", vocab_size=7, seq_len=16, grid_shape=(4, 4), num_puzzle_identifiers=5)


@pytest.mark.parametrize(
    "model",
    [
        {"mixer": "attention", "num_heads": 2},
        {"mixer": "mlp_t"},
        {"arch": "hrm", "num_heads": 2, "h_layers": 1, "l_layers": 1, "puzzle_emb_len": 1},
    ],
    ids=["trm-attention", "trm-mlp_t", "hrm"],
)
def test_built_from_weights_equals_built_and_loaded(tmp_path, model):
    config = RunConfig.model_validate(
        {"task": "toy", "model": {"hidden_size": 16, "num_layers": 1, "H_cycles": 1, "L_cycles": 2,
                                  "halt_max_steps": 2, "puzzle_emb_len": 2, "width_multiple": 16, **model}}
    )  # fmt: skip
    torch.manual_seed(0)
    reference = build_model(config, META).eval()
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    state = torch.load(tmp_path / "w.pt", mmap=True, weights_only=True)
    built = build_with_weights(config, META, state, "w.pt")
    assert not any(t.is_meta for t in [*built.parameters(), *built.buffers()])
    assert all(p.requires_grad for p in built.parameters())
    table = "embed.puzzle.weight"
    assert built.get_parameter(table).data_ptr() == state[table].data_ptr()  # taken, not copied
    for (name, a), b in zip(
        reference.state_dict(keep_vars=True).items(), built.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    for (name, a), (_, b) in zip(reference.named_buffers(), built.named_buffers(), strict=True):
        assert torch.equal(a, b), name  # the non-persistent rotary tables too
    batch = random_batch(3, seed=1, vocab=7, seq_len=16, num_ids=5)
    with torch.no_grad():
        _, want = reference(reference.initial_carry(batch), batch)
        _, got = built(built.initial_carry(batch), batch)
    assert torch.equal(want.logits, got.logits)


def test_a_missing_weight_is_an_error_naming_the_file():
    from trm.checkpoints import CheckpointError

    config = RunConfig.model_validate({"task": "toy", "model": {"hidden_size": 16, "num_heads": 2}})
    state = build_model(config, META).state_dict()
    state.pop("lm_head.weight")
    with pytest.raises(CheckpointError, match=r"^w\.pt: does not fit the model: .*lm_head\.weight"):
        build_with_weights(config, META, state, "w.pt")
