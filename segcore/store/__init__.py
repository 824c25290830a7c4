"""The database: the one `MongoClient` and health checks (`connection`), the embedded server,
collection names and indexes (`schema`), atomic writes, fields written into legacy sub-documents
(`subdocument`), the data version and the change history.
Imports only `core` and `settings`.
"""
