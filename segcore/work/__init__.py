"""The work handed out: the batch list (`batches`), importing it (`batch_import`, reading the batches file in `batches_file`, one entry per batch
of its sources in `import_merge`), writing
assignments (`assignments`) and a member's handover when they leave (`handover`).
Imports `core` and `team`.
"""
