"""Typed run configuration: YAML recipes, ``key=value`` overrides, validation.

One mechanism for every model and task. A recipe is a YAML file in ``trm/recipes`` (or any path);
it may name a ``base`` recipe whose values it overrides, so variants are not copies. Unknown keys are
errors everywhere, with the dotted path of the key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trm.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Strict):
    """Architecture. Paper symbols: T = H_cycles, n = L_cycles, N_sup = halt_max_steps."""

    arch: Literal["trm", "hrm", "direct"] = "trm"
    hidden_size: int = Field(512, gt=0)  # d
    num_heads: int = Field(8, gt=0)
    expansion: float = Field(4.0, gt=0)  # SwiGLU width = round_up(expansion * d * 2/3, 256)
    num_layers: int = Field(2, gt=0)  # blocks in the TRM network (HRM: per module, see h_layers/l_layers)
    mixer: Literal["attention", "mlp_t"] = "attention"
    H_cycles: int = Field(3, gt=0)  # T
    L_cycles: int = Field(6, gt=0)  # n
    halt_max_steps: int = Field(16, gt=0)  # N_sup
    halt_exploration_prob: float = Field(0.1, ge=0, le=1)
    puzzle_emb_len: int = Field(16, ge=0)  # prefix positions; identifier embedding sits at position 0
    puzzle_emb: bool = True  # learn a per-identifier embedding (sparse, sign-SGD)
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    width_multiple: int = Field(256, gt=0)  # SwiGLU width rounding (paper: 256)
    # Ablations (TRM paper section 4 / HRM):
    gradient: Literal["last_cycle", "one_step"] = "last_cycle"
    halting: Literal["single", "q_learning"] = "single"
    separate_nets: bool = False  # separate networks for y and z
    single_latent: bool = False  # one latent state, no separate answer y
    h_layers: int = Field(4, gt=0)  # HRM H module blocks
    l_layers: int = Field(4, gt=0)  # HRM L module blocks
    # Filled from the dataset's metadata when the model is built for a dataset:
    vocab_size: int | None = None
    seq_len: int | None = None
    num_puzzle_identifiers: int | None = None


class DataConfig(_Strict):
    path: str | None = None  # dataset folder (see trm.data.format)
    train_split: str = "train"
    eval_split: str = "test"
    eval_limit: int | None = Field(None, gt=0)  # evaluate on the first N puzzles only
    # training stream: "groups" = the papers' epochs (each original once, through one random variant);
    # "examples" = every stored example once per epoch, shuffled (trm.data.loader)
    order: Literal["groups", "examples"] = "groups"


class TrainConfig(_Strict):
    global_batch_size: int = Field(768, gt=0)
    epochs: int = Field(50_000, gt=0)
    max_steps: int | None = Field(None, gt=0)  # stop earlier than epochs would
    max_minutes: float | None = Field(None, gt=0)  # wall-clock budget; stops cleanly and evaluates
    eval_interval: int | None = Field(5_000, gt=0)  # in epochs; None: only at the end
    optimizer: Literal["adam_atan2", "adamw"] = "adam_atan2"
    lr: float = Field(1e-4, gt=0)
    lr_min_ratio: float = Field(1.0, ge=0, le=1)
    lr_warmup_steps: int = Field(2000, ge=0)
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = Field(1.0, ge=0)
    puzzle_emb_lr: float = Field(1e-4, ge=0)
    puzzle_emb_weight_decay: float = Field(1.0, ge=0)
    loss: Literal["stablemax", "softmax"] = "stablemax"
    q_loss_weight: float = 0.5
    ema: bool = True
    ema_rate: float = Field(0.999, gt=0, lt=1)
    # warm-up of the EMA rate: min(ema_rate, (1 + step) / (10 + step)), so early averages follow the
    # weights of the last steps instead of the initial ones (off: the papers' plain EMA)
    ema_warmup: bool = False
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    compile: bool = False
    # CPU threads: a count, or 0 / "auto" = measured and re-measured while training (trm.threads)
    threads: int | Literal["auto"] = "auto"
    checkpoint_every: int | None = Field(None, gt=0)  # steps; None: at each evaluation and the end
    # Stop once the eval split's exact accuracy reaches target_accuracy (evaluated every target_every
    # steps from half the planned steps on); a run below it at its last planned step goes on at the
    # final lr up to target_max_steps.
    target_accuracy: float | None = Field(None, gt=0, le=1)
    target_every: int = Field(100, gt=0)
    target_max_steps: int | None = Field(None, gt=0)
    log_every: int = Field(10, gt=0)

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 0:
            raise ValueError("must be a thread count >= 0 (0 = automatic) or 'auto'")
        return v


class EvalConfig(_Strict):
    batch_size: int = Field(768, gt=0)
    halt_max_steps: int | None = Field(None, gt=0)  # default: the model's N_sup
    early_halt: bool = False  # stop a puzzle when q_halt > 0 (the papers run all steps)
    # ARC: also score the votes of every evaluation of the run summed (arc/pooled/...), as the reference's
    # evaluator does (a checkpoint ensemble); arc/pass@K stays the current model's alone. Not kept on resume.
    pool_votes: bool = False


class LoggingConfig(_Strict):
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "trm"


class RunConfig(_Strict):
    name: str = "run"
    out_dir: str = "runs/run"
    task: str | None = None  # informative; the dataset's metadata is authoritative
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        m = self.model
        if m.mixer == "attention" and m.hidden_size % m.num_heads:
            raise ValueError(
                f"model.hidden_size={m.hidden_size} is not divisible by model.num_heads={m.num_heads}"
            )
        return self


def recipe_names() -> list[str]:
    folder = resources.files("trm") / "recipes"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _recipe_text(name_or_path: str | Path) -> tuple[str, str]:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError(f"recipe file {p} does not exist")
        return _read_utf8(p), str(p)
    res = resources.files("trm") / "recipes" / f"{name_or_path}.yaml"
    if not res.is_file():
        raise ConfigError(f"unknown recipe {name_or_path!r}; known: {', '.join(recipe_names())}")
    return res.read_text(), f"recipe {name_or_path}"


def _deep_merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _parse_yaml(text: str, where: str) -> dict:
    """YAML text -> a mapping; invalid YAML is a ConfigError at ``where:line:column``."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        pos = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{where}{pos}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a recipe must be a mapping of keys")
    return raw


def _load_raw(name_or_path: str | Path, seen: tuple[str, ...] = ()) -> dict:
    text, where = _recipe_text(name_or_path)
    if where in seen:
        raise ConfigError(f"recipe base cycle: {' -> '.join(seen + (where,))}")
    raw = _parse_yaml(text, where)
    base = raw.pop("base", None)
    return _deep_merge(_load_raw(base, seen + (where,)), raw) if base else raw


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a","b","c"], value parsed as YAML: 1e-4, true, null, [1,2], strings)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value")
    key, value = text.split("=", 1)
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        parsed = yaml.safe_load(value) if value != "" else ""
    except yaml.YAMLError:
        parsed = value
    return key.split("."), parsed


def apply_overrides(raw: dict, overrides: list[str] | dict[str, Any] | None) -> dict:
    items = overrides.items() if isinstance(overrides, dict) else ((o, None) for o in overrides or [])
    out = _deep_merge({}, raw)
    for key, value in items:
        path, value = (key.split("."), value) if isinstance(overrides, dict) else parse_override(key)
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {'.'.join(path)}: {part} is not a section")
        node[path[-1]] = value
    return out


def build_config(raw: dict, where: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as e:
        lines = [f"{where}: invalid configuration"]
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top)"
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def load_recipe(name_or_path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> RunConfig:
    """Load a recipe by name (``sudoku_mlp``) or path, apply overrides, validate.

    >>> cfg = load_recipe("sudoku_mlp", overrides=["train.epochs=10", "data.path=data/sudoku"])
    """
    raw = apply_overrides(_load_raw(name_or_path), overrides)
    return build_config(raw, where=str(name_or_path))


def save_config(config: RunConfig, path: str | Path) -> None:
    from trm.files import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))


def load_config_file(path: str | Path) -> RunConfig:
    """Load a resolved config saved beside a checkpoint (no base, no overrides)."""
    return build_config(_parse_yaml(_read_utf8(Path(path)), str(path)), where=str(path))
