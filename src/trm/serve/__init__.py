"""Serve models over HTTP (``trm serve``: a page to watch a model think, and a JSON API) and to LLM
agents over the Model Context Protocol (``trm mcp``).

Design choices:

- Nothing here is imported by ``import trm``: FastAPI, uvicorn and ``mcp`` are optional (the ``serve``
  extra) and are imported only by :mod:`trm.serve.app` and :mod:`trm.serve.mcp_server`.
- The HTTP API and the MCP tools share one path from a request to an answer: :mod:`trm.serve.registry`
  (named models), :mod:`trm.serve.request_io` (reading puzzles, limits, the answer as JSON) and
  :mod:`trm.serve.batching` (requests that arrive together are solved in one batch).
"""
