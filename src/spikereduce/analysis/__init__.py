"""Observables shared by the families: rates, synchrony, event detection, distributions, compare."""
