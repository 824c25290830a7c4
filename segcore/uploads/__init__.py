"""The uploaded masks, read-only in the training database: upload documents and the batches
they name (`uploads`), what changed since the last sync (`upload_changes`), reading a file's
chunks (`gridfs_reader`) and the live change stream (`live_stream`). Imports `core`.
"""
