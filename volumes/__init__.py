"""Compiled volumes (汇编成册): Word documents laid out like an official compilation."""
