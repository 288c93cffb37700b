"""CRM connectors: one module per CRM; a pull writes a landing snapshot in the extract contract."""
