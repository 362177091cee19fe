"""Server-side batching: concurrent requests to one signature run as one call, as TensorFlow Serving's
batching does (`max_batch_size`, `batch_timeout_micros`).

On these models a call on 64 instances costs little more than a call on one, so under load one call per
batch serves many clients for the price of one. While a batch runs, the next requests queue up and form
the next batch, so even a zero timeout batches under load and adds no latency to a lone client.
"""

import asyncio

import numpy as np


class Batcher:
    """Runs `function(**inputs)` on the concatenation of concurrent requests' inputs.

    Args:
        function: takes numpy arrays by name (each with the batch on its first axis) and returns a dict of arrays
            with the batch on their first axis; it runs in a worker thread.
        max_batch_size: instances per call; a request is never split, so a larger one runs alone.
        timeout_s: how long the first request of a batch waits for others to join it.
        sequence_outputs: `{length output: [outputs padded to the batch's longest]}`; each request's share is
            cut back to its own longest, so that its answer does not grow with its batch mates' lengths.
    """

    def __init__(self, function, max_batch_size=64, timeout_s=0.0, sequence_outputs=None):
        self.function = function
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self.sequence_outputs = sequence_outputs or {}
        self._queue = None
        self._worker = None
        self._held = None  # a request that did not fit into the previous batch
        self.calls = 0
        self.instances = 0

    async def __call__(self, inputs, size):
        """The outputs for one request of `size` instances, once its batch has run."""
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((inputs, size, future))
        return await future

    async def close(self):
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _next_batch(self):
        batch = [self._held or await self._queue.get()]
        self._held = None
        total = batch[0][1]
        if self.timeout_s > 0 and total < self.max_batch_size:
            await asyncio.sleep(self.timeout_s)
        while total < self.max_batch_size and not self._queue.empty():
            item = self._queue.get_nowait()
            if total + item[1] > self.max_batch_size:
                self._held = item
                break
            batch.append(item)
            total += item[1]
        return batch

    async def _run(self):
        while True:
            batch = await self._next_batch()
            batch = [item for item in batch if not item[2].cancelled()]
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(
                    self._call_batch, [item[0] for item in batch], [item[1] for item in batch]
                )
            except Exception:
                # One request's bad input must not fail its batch mates: run each alone to find out whose it is.
                results = [await asyncio.to_thread(self._call_alone, item[0]) for item in batch]
            for (_, _, future), result in zip(batch, results):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _call_alone(self, inputs):
        try:
            return self.function(**inputs)
        except Exception as error:
            return error

    def _call_batch(self, requests, sizes):
        if len(requests) == 1:
            outputs = self.function(**requests[0])
        else:
            inputs = {name: np.concatenate([request[name] for request in requests]) for name in requests[0]}
            outputs = self.function(**inputs)
        self.calls += 1
        self.instances += sum(sizes)
        bounds = np.cumsum([0, *sizes])
        return [
            self._trim({name: value[start:end] for name, value in outputs.items()})
            for start, end in zip(bounds[:-1], bounds[1:])
        ]

    def _trim(self, outputs):
        for length_name, names in self.sequence_outputs.items():
            longest = int(outputs[length_name].max(initial=0))
            for name in names:
                outputs[name] = outputs[name][:, :longest]
        return outputs
