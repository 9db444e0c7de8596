"""Run programs on tasks: the loop's entry to ``visrep.programs.executor``.

The executor (pre-forked sandbox pool, tool calls answered in the executor process through
a per-image memo) lives in ``visrep.programs.executor`` so that the command line
``python -m visrep.programs`` can use it without reaching up a layer; the self-training
loop imports it from here.  ``execute`` runs one program in a one-off pool (tests, seed
checks); ``ProgramExecutor`` serves many batches from one pool.
"""

from __future__ import annotations

from visrep.programs.executor import ProgramExecutor, execute

__all__ = ["ProgramExecutor", "execute"]
