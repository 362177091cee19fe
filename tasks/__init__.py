"""One folder per task: config.py, data.py, model.py, train.py."""
