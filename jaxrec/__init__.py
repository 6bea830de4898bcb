"""jaxrec: sequential recommenders in JAX/Flax with honest full-ranking evaluation."""

__version__ = "0.1.0"
