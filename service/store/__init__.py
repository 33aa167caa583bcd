"""Shared state in Redis (optional): the reward cache and rate limits, shared by every replica."""
