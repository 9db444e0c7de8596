"""Teacher → student distillation with out-of-distribution generalisation (Li et al., ICCV 2023).

Parts, lowest first: ``config`` (the job's schema), ``data`` (object crops, class split,
augmentation), ``text`` (plain and enriched class prompts), ``losses`` (the four KD
terms), ``models`` (open_clip teacher/student, checkpoints), ``features`` (clean-view
cache), ``train`` (DeepSpeed steps), ``evaluate`` (zero-/few-shot), ``student``
(``load_student`` for the visual tools).  The job itself is ``python -m rayapps.distill``.

Importing this package is cheap: modules load torch/open_clip only when imported.
"""
