"""The diaspora map for ministries and municipalities: aggregates of the registry, never a person."""
