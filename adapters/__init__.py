"""The IO layer: everything that touches files, tables and the outside world.

Readers and discovery (``readers/``, ``discover``), the run's steps (``ingest``, ``build``,
``publish_steps``, ``run``), the Delta tables and their lock (``publish``, ``lock``), the BI
catalog, data dictionary, report and plan writers, and config loading into typed settings
(``config``, ``params``). Imports ``transforms`` and ``schemas``, never ``flows``.
"""
