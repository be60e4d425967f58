"""Old location: checkpoint I/O moved to :mod:`trm.checkpoints.run_dir`; re-exported for old imports."""

from trm.checkpoints.run_dir import *  # noqa: F403
from trm.checkpoints.run_dir import (  # noqa: F401
    CHECKPOINTS,
    LATEST,
    STEP_DIR,
    latest_checkpoint,
    load_for_inference,
    load_training_state,
    load_weights,
    read_meta,
    resolve_step_dir,
    save_checkpoint,
    step_dir_name,
    write_run_info,
)
