"""Vulnerability matching: version ordering per ecosystem and OSV range evaluation."""
