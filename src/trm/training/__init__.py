"""Training: the deep-supervision loop (``loop.train``) and its parts.

``losses`` (stablemax / softmax CE + halting BCE), ``optim`` (Adam-atan2, sign-SGD, LR schedule),
``ema``, ``logging`` (JSONL, TensorBoard, W&B), ``distributed`` (torchrun), ``rng``, ``stopping``
(signals), ``stop_rules`` (budgets, target accuracy), ``run_checkpoint`` (save, resume),
``run_data`` (splits), ``metric_window`` (log-line sums), ``step_threads`` (``train.threads``).
Checkpoints on disk are :mod:`trm.checkpoints`.
"""
