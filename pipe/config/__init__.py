"""Configuration: pipe variables and the optional YAML file, validated once at the edge."""

from pipe.config.file import FieldMapping, FileConfig, Workflow
from pipe.config.settings import Settings, load_settings
from pipe.config.variables import PipeVariables, variable_names, variable_table

__all__ = [
    "FieldMapping",
    "FileConfig",
    "PipeVariables",
    "Settings",
    "Workflow",
    "load_settings",
    "variable_names",
    "variable_table",
]
