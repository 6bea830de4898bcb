"""HTTP serving of exported jaxrec models (see the serving issue)."""
