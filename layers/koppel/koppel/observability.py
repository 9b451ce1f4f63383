"""Shared Powertools instances. Tracer (X-Ray SDK, ~350 ms to import) is left out on purpose: the template
turns on Lambda's own active tracing, which needs no SDK in the cold start."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics(namespace="Koppel")
