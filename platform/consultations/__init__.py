"""Consultations: short questionnaires ministries and municipalities put to the diaspora they serve."""
