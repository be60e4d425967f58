"""Large language models on the same puzzles: an LLM baseline, and an LLM that delegates to a tiny model.

- :mod:`trm.llm.formats`: finds a task's text form (``Task.text_form``: how its grid is written into a
  prompt and read back from a reply, and the words of its rules; each task's in its folder).
- :mod:`trm.llm.prompts`: the prompts (system message, the task's rules and answer format, the tool).
- :mod:`trm.llm.clients`: Ollama's chat API (the ``ollama`` package) and OpenAI-compatible chat
  completions (httpx), with timeouts, retries and one error type.
- :mod:`trm.llm.tool`: the ``solve_puzzle`` tool, backed by :class:`trm.inference.solver.Solver`.
- :mod:`trm.llm.journal`: the resumable JSONL journal and the atomic JSON report.
- :mod:`trm.llm.scoring`: replies scored with the metrics ``trm eval`` uses, under the same names.
- :mod:`trm.llm.run`: ``trm llm eval``, bounded concurrency over the puzzles of a split.
- :mod:`trm.llm.compare`: one table and a bar chart over LLM and ``trm eval`` reports.

Nothing here is imported by ``import trm``; the HTTP clients are imported inside the functions that use them.
"""
