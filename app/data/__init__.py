"""Data access: the engine and sessions, the stored records, the queries and the migrations."""
