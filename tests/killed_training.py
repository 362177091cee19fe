"""`python -m tests.killed_training TASK EPOCH [FLAGS...]`: runs `python -m tasks.TASK.train FLAGS` and kills
itself with SIGKILL after the first training batch of epoch EPOCH (counted from 0), as a machine that dies
mid-epoch would: no Python cleanup, no callback, no flushed file beyond what was already written.

`InterruptAfterEpoch` stops a run in the test's own process instead, between two epochs.
"""

import importlib
import os
import signal
import sys

import keras

from zoo import flags
from zoo.task import Task


class SimulatedKill(Exception):
    pass


class InterruptAfterEpoch(keras.callbacks.Callback):
    """Raises `SimulatedKill` at the end of epoch `epoch` (from 0), after the callbacks `zoo.training.fit` puts
    before it have saved that epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise SimulatedKill(f"killed after epoch {epoch}")


class KillMidEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.kill_epoch, self.epoch = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.kill_epoch:
            os.kill(os.getpid(), signal.SIGKILL)


def main(task_name, epoch, argv):
    train = importlib.import_module(f"tasks.{task_name}.train")
    module = importlib.import_module(f"tasks.{task_name}.task")
    task_class = next(
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Task) and getattr(value, "name", None) == task_name
    )
    args = flags.build_parser(task_class.config_class, task_class.presets).parse_args(argv)
    config = flags.config_from_args(task_class.config_class, task_class.presets, args)
    train.train_and_evaluate(config, callbacks=[KillMidEpoch(epoch)])
    sys.exit("the run was not killed: it has fewer epochs than the one to kill it in")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
