"""Meta-learning for cold-start users: MAML / first-order MAML / Reptile over user tasks."""
