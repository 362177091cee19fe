"""Train, evaluate and export a character language model: `python -m tasks.char_lm.train [flags]`."""

from tasks.char_lm.task import CharLmTask
from zoo.runner import entry_points

train_and_evaluate, main = entry_points(CharLmTask)

if __name__ == "__main__":
    main()
