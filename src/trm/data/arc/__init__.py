"""ARC-AGI-1, ARC-AGI-2 and ConceptARC: loading (tasks_io), augmentation (augment), the 30x30 EOS-border
encoding (encode), the variant table (identifiers), the dataset builder (build) and the task codec (task)."""
