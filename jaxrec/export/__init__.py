"""Serving artifacts: ``jaxrec export`` (exporter.py) and loading them (runtime.py).

Formats: ``jax`` (msgpack params, jitted), ``onnx`` (jax2onnx + onnxruntime), ``savedmodel``
(jax2tf), ``tensorrt`` (engine built from the ONNX graph). ``catalog.py`` maps original item
ids to the internal ids the artifacts use. ``serve/`` imports only ``runtime`` and ``catalog``.
"""
