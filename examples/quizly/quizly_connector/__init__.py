"""Quizly for the assessment gateway: an out-of-tree connector built on ``gateway.sdk`` alone."""
