"""The SQS event source mapping of one function, played by threads: ``workers`` containers polling side by side,
so two deliveries of one koppeling race each other as they do on Lambda."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.local import LocalStack


class Consumers:
    """Context manager: the containers poll from ``__enter__`` until ``__exit__``; ``check`` raises what broke."""

    def __init__(self, stack: LocalStack, logical_id: str, workers: int) -> None:
        self.stack = stack
        self.logical_id = logical_id
        self.workers = max(1, workers)
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Consumers:
        (source,) = self.stack._outputs().functions[self.logical_id].sqs_sources
        for container in range(1, self.workers + 1):
            thread = threading.Thread(target=self._poll, args=(source, container), name=f"consumer-{container}")
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _poll(self, source: Any, container: int) -> None:
        while not self._stop.is_set():
            try:
                handled = self.stack.drain_once(self.logical_id, source, container=container)
            except Exception as error:  # a handler that raises is a bug: stop and say so
                self.errors.append(error)
                self._stop.set()
                return
            if handled < source.batch_size:
                # The mapping's batching window: a queue that gave less than a full batch is asked again later.
                self._stop.wait(max(0.1, source.max_batching_window_seconds))

    def check(self) -> None:
        if self.errors:
            raise RuntimeError(f"a {self.logical_id} invocation raised") from self.errors[0]
