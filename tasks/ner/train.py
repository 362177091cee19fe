"""Train, evaluate and export the CoNLL-2003 NER tagger: `python -m tasks.ner.train [flags]`."""

from tasks.ner.task import NerTask
from zoo.runner import entry_points

train_and_evaluate, main = entry_points(NerTask)

if __name__ == "__main__":
    main()
