"""The Baldwin effect on the Harlow task (run-harlow-baldwin.py): a genetic algorithm over the
initial weights and learning hyperparameters of an actor-critic LSTM that learns each new
problem by reinforcement learning in its lifetime."""
