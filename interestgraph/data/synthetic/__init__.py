"""The embedded default data: a synthetic behaviour log with planted interests."""

from .generator import DEFAULT_EVENT_MIX, PlantedTruth, SyntheticConfig, SyntheticData, generate_synthetic

__all__ = ["DEFAULT_EVENT_MIX", "PlantedTruth", "SyntheticConfig", "SyntheticData", "generate_synthetic"]
