"""Data preparation (readers, `prepare`, prepared-dataset access) and grain input pipelines."""
