"""Evolved Hebbian plasticity in random networks (Najarro & Risi 2020): rules, networks, the
run-hebbian-gym.py script."""
