"""tf.data building blocks shared by the tasks."""
