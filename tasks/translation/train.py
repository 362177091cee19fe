"""Train, evaluate and export a translation model.

python -m tasks.translation.train --preset dates        # human-readable dates -> ISO dates
python -m tasks.translation.train [--language spa]      # Anki sentence pairs -> English
"""

from tasks.translation.task import TranslationTask
from zoo.runner import entry_points

train_and_evaluate, main = entry_points(TranslationTask)

if __name__ == "__main__":
    main()
