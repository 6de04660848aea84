"""Pure readers of the import files: text in, typed records and problems out, no database."""
