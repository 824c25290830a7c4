"""The database: the one `MongoClient` and health checks (`connection`), the embedded server,
collection names and indexes (`schema`), atomic writes, compare-and-set writes to batches
without a transaction told apart by their mark (`marked_writes`), fields written into legacy sub-documents
(`subdocument`), the data version, the change history and the mark a restore leaves while
it runs (`restore_marker`), which every write checks first, and which server process answers
(`server_process`: a restarted one may have lost writes it confirmed).
Imports only `core` and `settings`.
"""
