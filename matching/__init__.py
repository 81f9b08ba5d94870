"""The matcher: canonical texts, sentence-embedding encoder, ranking, scoring and explanations.

Knows nothing of HTTP or of the platform's database models.
"""
