"""Train, evaluate and export the IMDB sentiment model: `python -m tasks.sentiment.train [flags]`."""

from tasks.sentiment.task import SentimentTask
from zoo.runner import entry_points

train_and_evaluate, main = entry_points(SentimentTask)

if __name__ == "__main__":
    main()
