"""The call trace: spans of Incident Hub's own calls, kept per flow for the admin timeline and the API catalog."""
