"""Train, evaluate and export a melody model: `python -m tasks.music.train [flags]`."""

from tasks.music.task import MusicTask
from zoo.runner import entry_points

train_and_evaluate, main = entry_points(MusicTask)

if __name__ == "__main__":
    main()
