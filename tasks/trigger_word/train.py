"""Train, evaluate and export a trigger-word detector: `python -m tasks.trigger_word.train [flags]`."""

from tasks.trigger_word.task import TriggerWordTask
from zoo.runner import entry_points

train_and_evaluate, main = entry_points(TriggerWordTask)

if __name__ == "__main__":
    main()
